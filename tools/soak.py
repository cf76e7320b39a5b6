#!/usr/bin/env python3
"""Soak test of the order import: real commits, random faults and SIGKILLs.

The parent process creates (or reuses with ``--db``) a database with the addon,
serves the fake Amazon on 127.0.0.1 (its state survives the kills), seeds
``--orders`` orders and configures one channel against it. Each run is a child
process that runs the import as the scheduled job does
(``amazon.account._cron_import_orders()`` on a cursor of its own, one commit per
page). While it runs the parent injects random faults into the fake (429, 5xx,
connection resets, slow answers, LWA outage, expired page token) and, with some
probability, kills the child with SIGKILL after a random delay or once the fake
has served its k-th page. Between runs Amazon moves orders on (Pending to
Unshipped, Unshipped to Shipped, cancellations) and new orders appear.

After a final run without faults every Amazon order that is Unshipped or Shipped
must be a sale order exactly once, with Amazon's status and total; cancelled ones
that were imported must be cancelled. One line per run, then a summary; the exit
code is non-zero when an order is duplicated, missing or wrong, or a run crashed.

Children are forked from a "zygote" process that loaded the registry once and
closed its database connections (like Odoo's prefork workers, each child has its
own process and PostgreSQL connection): a fresh interpreter needs ~5 s to load
the registry, too slow for 200 runs in 10 minutes. ``--fresh`` starts a fresh
``python3 tools/soak.py --child`` per run instead.
"""

import argparse
import importlib.util
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

ADDON = "sale_amazon_spapi"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELLER_ID = "A2SOAKSELLER01"
# Fake seconds between two runs: more than searchOrders' 2-minute "before" bound,
# so that what changed before a run is visible to it.
RUN_GAP = 150
FAULT_KINDS = ("429", "5xx", "reset", "slow", "lwa_outage", "expired_token")
LOCK_BUSY = "an import is already running"
BURST_RATIO = 0.15
FAST_PLANS = {"searchOrders": (20.0, 20), "getOrder": (20.0, 30)}


def _load(name, relative):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, relative))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench():
    """The benchmark knows how to install the addon and set a shop and channel up."""
    return _load(
        "sale_amazon_spapi_bench", os.path.join("bench", "benchmark_import.py")
    )


# --------------------------------------------------------------------------
# Child: one cron run
# --------------------------------------------------------------------------


def child_run(registry, result_path, page_size):
    """Run the import job once as the cron does; write what happened to
    ``result_path``. Returns the exit code."""
    from odoo import SUPERUSER_ID, api

    outcome = {"stats": [], "error": None, "can_commit": None}
    code = 0
    try:
        registry = registry.check_signaling()
        Account = registry["amazon.account"]
        original = Account._import_orders

        def recorded(self, *args, **kwargs):
            stats = original(self, *args, **kwargs)
            outcome["stats"].append(
                {
                    key: value if isinstance(value, int | float) else str(value)
                    for key, value in stats.items()
                }
            )
            return stats

        # Only to read the counters back; the job itself is untouched.
        Account._import_orders = recorded
        # Smaller pages than Amazon's 100: more commits per run to kill between.
        Account._import_page_size = page_size
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            outcome["can_commit"] = env["amazon.account"]._can_commit()
            env["amazon.account"]._cron_import_orders()
            cr.commit()
    except Exception:  # noqa: BLE001 pylint: disable=broad-except
        # Any failure of the job is a finding of the soak, reported by the parent.
        outcome["error"] = traceback.format_exc()
        code = 1
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(outcome, f)
    os.replace(tmp, result_path)
    return code


def child_main(args):
    registry = _bench().open_registry(args.db, args.addons_path)
    return child_run(registry, args.result, args.page_size)


def zygote_main(args):
    """Load the registry once, then fork one child per ``run <path>`` line."""
    import odoo.sql_db

    registry = _bench().open_registry(args.db, args.addons_path)
    # What the first HTTP client of a process imports (h11, httpcore, certifi):
    # once here rather than in every child.
    import httpx

    httpx.Client().close()
    # A forked child must not share the zygote's PostgreSQL connections.
    odoo.sql_db.close_all()
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "run":
            continue
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # stdout is the parent's protocol pipe: keep the child off it.
                os.dup2(2, 1)
                random.seed()
                code = child_run(registry, words[1], args.page_size)
            finally:
                sys.stderr.flush()
                os._exit(code)
        out.write(f"pid {pid}\n")
        out.flush()
        _pid, status = os.waitpid(pid, 0)
        out.write(f"exit {os.waitstatus_to_exitcode(status)}\n")
        out.flush()
    return 0


class ZygoteRunner:
    """Children forked from a process that has the registry loaded."""

    def __init__(self, db, addons_path, log, page_size):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--zygote",
                "--db",
                db,
                "--addons-path",
                addons_path,
                "--page-size",
                str(page_size),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        if self._expect("ready", 300) is None:
            raise SystemExit("soak: the zygote did not load the registry")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.split())
        self.lines.put(None)

    def _expect(self, word, timeout):
        try:
            words = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if not words or words[0] != word:
            raise SystemExit(f"soak: the zygote said {words!r}, expected {word!r}")
        return words[1:]

    def start(self, result_path):
        self.proc.stdin.write(f"run {result_path}\n")
        self.proc.stdin.flush()
        return int(self._expect("pid", 30)[0])

    def wait(self, timeout):
        """Exit code of the current child (negative: signal), None on timeout."""
        words = self._expect("exit", timeout)
        return None if words is None else int(words[0])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(30)


class FreshRunner:
    """A fresh interpreter per run (loads the registry each time: ~5 s)."""

    def __init__(self, db, addons_path, log, page_size):
        self.db, self.addons_path, self.log = db, addons_path, log
        self.page_size = page_size
        self.proc = None

    def start(self, result_path):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--child",
                "--db",
                self.db,
                "--addons-path",
                self.addons_path,
                "--result",
                result_path,
                "--page-size",
                str(self.page_size),
            ],
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )
        return self.proc.pid

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        pass


# --------------------------------------------------------------------------
# Parent: Amazon's side of the story
# --------------------------------------------------------------------------


class Amazon:
    """The fake Amazon of the soak and what the parent does to it."""

    def __init__(self, fake, rng, marketplaces):
        self.fake = fake
        self.rng = rng
        self.marketplaces = marketplaces
        self.changes = Counter()
        self.new_seed = 10_000

    def seller_orders(self):
        self.fake.store.apply_due()
        return {
            ref: record
            for ref, record in self.fake.store.orders.items()
            if record.seller_id == SELLER_ID
        }

    def status(self, record):
        return record.order["fulfillment"]["fulfillmentStatus"]

    def add_orders(self, n, spread):
        """``n`` new orders created during the last ``spread`` fake seconds; most
        are Pending and turn Unshipped as fake time passes (their own timeline)."""
        from odoo.addons.sale_amazon_spapi.fake_amazon import seed as seeding

        now = self.fake.now()
        self.new_seed += 1
        orders = seeding.generate_orders(
            n,
            seed=self.new_seed,
            marketplaces=list(self.marketplaces),
            start=now - timedelta(seconds=spread + RUN_GAP),
            end=now - timedelta(seconds=RUN_GAP),
            now=now,
            seller_id=SELLER_ID,
        )
        known = self.fake.store.orders
        fresh = [order for order in orders if order["orderId"] not in known]
        self.fake.add_orders(fresh)
        self.changes["new"] += len(fresh)

    def move_orders(self, count):
        """Amazon moves some orders on, now; their lastUpdatedTime is now."""
        by_status = {}
        for ref, record in sorted(self.seller_orders().items()):
            by_status.setdefault(self.status(record), []).append(ref)
        moves = (
            ("PENDING", "UNSHIPPED", 0.35),
            ("UNSHIPPED", "SHIPPED", 0.35),
            ("UNSHIPPED", "CANCELLED", 0.15),
            ("PENDING", "CANCELLED", 0.15),
        )
        for _ in range(count):
            before, after, _weight = self.rng.choices(
                moves, weights=[m[2] for m in moves]
            )[0]
            refs = by_status.get(before)
            if not refs:
                continue
            ref = refs.pop(self.rng.randrange(len(refs)))
            self.fake.store.set_status(ref, after, when=self.fake.now())
            self.changes[f"{before}->{after}"] += 1

    def freeze(self):
        """No more scheduled status changes: the final state is the current one."""
        with self.fake.store.lock:
            for record in self.fake.store.orders.values():
                record.timeline = []


def plan_faults(rng, max_faults):
    """(seconds after the start, kind, operation, kind, times, options) of a run."""
    plan = []
    for _ in range(rng.randint(0, max_faults)):
        at = rng.choice((0.0, 0.0, rng.uniform(0.0, 2.0)))
        kind = rng.choice(FAULT_KINDS)
        if kind == "429":
            spec = ("searchOrders", "status", rng.randint(1, 5), {"status": 429})
        elif kind == "5xx":
            status = rng.choice((500, 502, 503, 504))
            spec = ("searchOrders", "status", rng.randint(1, 5), {"status": status})
        elif kind == "reset":
            operation = rng.choice(("searchOrders", "searchOrders", "token"))
            spec = (operation, "reset", rng.randint(1, 3), {})
        elif kind == "slow":
            delay = round(rng.uniform(0.2, 1.5), 2)
            spec = ("searchOrders", "slow", rng.randint(1, 3), {"delay": delay})
        elif kind == "lwa_outage":
            status = rng.choice((500, 503))
            spec = ("token", "status", rng.randint(2, 6), {"status": status})
        else:
            spec = ("searchOrders", "expired_token", 1, {})
        plan.append((at, kind, *spec))
    return sorted(plan, key=lambda fault: fault[0])


def plan_kill(rng, probability):
    if rng.random() >= probability:
        return None
    if rng.random() < 0.5:
        return ("delay", rng.uniform(0.05, 2.5))
    # Once the fake has served the k-th page, somewhere in its processing.
    return ("page", rng.choice((1, 1, 2, 3)), rng.uniform(0.0, 0.6))


# --------------------------------------------------------------------------
# Parent: database side
# --------------------------------------------------------------------------


def sql(registry, query, params=()):
    with registry.cursor() as cr:
        cr.execute(query, params)
        rows = cr.fetchall() if cr.description else []
        cr.commit()
    return rows


def make_due(registry, account_id):
    """The cron imports the channel on every run, whatever its interval."""
    sql(
        registry,
        "UPDATE amazon_account SET last_import_run = NULL WHERE id = %s",
        [account_id],
    )


def wait_backend_gone(registry, pid, timeout=10.0):
    """Seconds until the killed child's PostgreSQL session ended (None: it did
    not within ``timeout``); its advisory lock goes with it."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = sql(
            registry,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [f"odoo-{pid}"],
        )
        if not rows[0][0]:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def account_state(registry, account_id):
    rows = sql(
        registry,
        "SELECT import_next_token IS NOT NULL, "
        "(SELECT count(*) FROM sale_order WHERE amazon_account_id = %s) "
        "FROM amazon_account WHERE id = %s",
        [account_id, account_id],
    )
    return rows[0]


def check(registry, amazon, account_id):
    """Compare the sale orders with Amazon's orders; return the problems."""
    from odoo.addons.sale_amazon_spapi.amazon.mapping import (
        ACTIONABLE_STATUSES,
        CANCELLED_STATUSES,
        PENDING_STATUSES,
    )

    rows = sql(
        registry,
        """
        SELECT so.amazon_order_ref, count(*), max(so.amazon_status), max(so.state),
               max(so.amount_total), max(c.rounding),
               bool_or(EXISTS (SELECT 1 FROM stock_picking p
                               WHERE p.sale_id = so.id AND p.state = 'done'))
          FROM sale_order so JOIN res_currency c ON c.id = so.currency_id
         WHERE so.amazon_account_id = %s
         GROUP BY so.amazon_order_ref
        """,
        [account_id],
    )
    ours = {row[0]: row[1:] for row in rows}
    problems = {
        "duplicates": [],
        "missing": [],
        "wrong_status": [],
        "wrong_total": [],
        "unexpected": [],
    }
    for ref, (count, *_rest) in ours.items():
        if count > 1:
            problems["duplicates"].append(f"{ref} x{count}")
    expected = 0
    for ref, record in sorted(amazon.seller_orders().items()):
        order = record.order
        status = amazon.status(record)
        row = ours.get(ref)
        if status in PENDING_STATUSES:
            if row:
                problems["unexpected"].append(f"{ref} is {status} at Amazon")
            continue
        if status in CANCELLED_STATUSES:
            if row and (row[1] != status or (row[2] != "cancel" and not row[5])):
                problems["wrong_status"].append(
                    f"{ref}: Amazon {status}, Odoo {row[1]}/{row[2]}"
                )
            continue
        if status not in ACTIONABLE_STATUSES:
            continue
        expected += 1
        if not row:
            problems["missing"].append(f"{ref} ({status})")
            continue
        _count, odoo_status, state, total, rounding, _done = row
        if odoo_status != status or state == "cancel":
            problems["wrong_status"].append(
                f"{ref}: Amazon {status}, Odoo {odoo_status}/{state}"
            )
        grand = Decimal(order["proceeds"]["grandTotal"]["amount"])
        if abs(Decimal(str(total)) - grand) > Decimal(str(rounding)) / 2:
            problems["wrong_total"].append(f"{ref}: Amazon {grand}, Odoo {total}")
    return expected, len(ours), problems


# --------------------------------------------------------------------------
# Parent: the soak
# --------------------------------------------------------------------------


class Soak:
    def __init__(self, args, registry, runner, fake, amazon, account_id, tmp):
        self.args = args
        self.registry = registry
        self.runner = runner
        self.fake = fake
        self.amazon = amazon
        self.account_id = account_id
        self.tmp = tmp
        self.rng = amazon.rng
        self.injected = Counter()
        self.hit = Counter()
        self.kills = Counter()
        self.outcomes = Counter()
        self.errors = []
        self.lock_busy_streak = 0
        self.max_lock_busy_streak = 0
        self.lingering = 0
        self.durations = []

    def run(self, number, faults=(), kill=None, label=None):
        make_due(self.registry, self.account_id)
        result_path = os.path.join(self.tmp, f"run-{number}.json")
        calls_before = len(self.fake.calls)
        started = time.monotonic()
        pid = self.runner.start(result_path)
        pending = list(faults)
        injected = []
        killed = None
        exit_code = None
        seen_calls, active = calls_before, started
        while exit_code is None:
            elapsed = time.monotonic() - started
            if len(self.fake.calls) != seen_calls:
                seen_calls, active = len(self.fake.calls), time.monotonic()
            while pending and pending[0][0] <= elapsed:
                _at, kind, operation, fault_kind, times, options = pending.pop(0)
                fault = self.fake.inject_fault(operation, fault_kind, times, **options)
                injected.append((kind, fault, times))
                self.injected[kind] += 1
            if kill and killed is None and self._kill_due(kill, elapsed, calls_before):
                os.kill(pid, signal.SIGKILL)
                killed = kill[0]
            # A slow machine makes long runs, not a hang: only a child that
            # asked Amazon nothing for that long counts as stuck.
            if time.monotonic() - active > self.args.run_timeout and not killed:
                os.kill(pid, signal.SIGKILL)
                killed = "stalled"
            exit_code = self.runner.wait(0.02)
        duration = time.monotonic() - started
        self.durations.append(duration)
        self.fake.clear_faults()
        hits = Counter()
        for kind, fault, times in injected:
            hits[kind] += times - max(fault.times, 0)
        self.hit.update(hits)
        outcome = self._outcome(number, result_path, exit_code, killed, pid)
        has_token, orders = account_state(self.registry, self.account_id)
        fault_text = (
            ",".join(f"{kind}:{hits[kind]}" for kind, *_ in injected)
            if injected
            else "-"
        )
        pages = sum(
            1
            for call in self.fake.calls[calls_before:]
            if call.operation == "searchOrders" and call.status == 200
        )
        print(
            f"run {label or number:>4}: {duration:5.1f} s faults {fault_text:<28} "
            f"killed {killed or 'no':<7} pages {pages:>2} {outcome:<40} "
            f"orders {orders}{' (resume token)' if has_token else ''}",
            flush=True,
        )
        return outcome

    def _kill_due(self, kill, elapsed, calls_before):
        if kill[0] == "delay":
            return elapsed >= kill[1]
        served = [
            call
            for call in self.fake.calls[calls_before:]
            if call.operation == "searchOrders" and call.status == 200
        ]
        if len(served) < kill[1]:
            return False
        if not hasattr(self, "_page_seen") or self._page_seen[0] != calls_before:
            self._page_seen = (calls_before, time.monotonic())
        return time.monotonic() - self._page_seen[1] >= kill[2]

    def _outcome(self, number, result_path, exit_code, killed, pid):
        if killed:
            self.kills[killed] += 1
            gone = wait_backend_gone(self.registry, pid)
            if gone is None:
                self.lingering += 1
            if killed == "stalled":
                self.errors.append(
                    f"run {number}: no request to Amazon for {self.args.run_timeout} s"
                    " (stalled): killed"
                )
            self.outcomes["killed"] += 1
            return f"SIGKILL ({killed}), exit {exit_code}"
        try:
            with open(result_path, encoding="utf-8") as f:
                result = json.load(f)
        except (OSError, ValueError):
            self.outcomes["crashed"] += 1
            self.errors.append(f"run {number}: exit {exit_code} without a result")
            return f"CRASHED, exit {exit_code}"
        if result["error"]:
            self.outcomes["crashed"] += 1
            self.errors.append(f"run {number}: {result['error'].strip()}")
            return f"CRASHED: {result['error'].strip().splitlines()[-1][:60]}"
        if result["can_commit"] is not True:
            self.errors.append(f"run {number}: _can_commit() is not true in the child")
        stats = Counter()
        for entry in result["stats"]:
            stats.update({k: v for k, v in entry.items() if isinstance(v, int)})
            if entry.get("skipped"):
                stats["skip: " + entry["skipped"]] += 1
        busy = stats.get("skip: " + LOCK_BUSY, 0)
        self.lock_busy_streak = self.lock_busy_streak + 1 if busy else 0
        self.max_lock_busy_streak = max(
            self.max_lock_busy_streak, self.lock_busy_streak
        )
        if not result["stats"]:
            self.outcomes["no import"] += 1
            return "no channel imported"
        if busy:
            self.outcomes["lock busy"] += 1
        elif stats.get("failed"):
            self.outcomes["failed"] += 1
        elif stats.get("throttled"):
            self.outcomes["throttled"] += 1
        else:
            self.outcomes["completed"] += 1
        shown = ("created", "updated", "cancelled", "errors", "throttled", "failed")
        text = " ".join(f"{key} {stats[key]}" for key in shown if stats.get(key))
        return text + (" LOCK BUSY" if busy else "") or "nothing new"

    def between_runs(self):
        if self.rng.random() < BURST_RATIO:
            # A busy hour: the next run has several pages to kill between.
            self.amazon.move_orders(self.rng.randint(20, 60))
            self.amazon.add_orders(self.rng.randint(10, 40), 600)
        else:
            self.amazon.move_orders(self.rng.randint(0, self.args.changes))
            if self.rng.random() < 0.5:
                self.amazon.add_orders(self.rng.randint(1, self.args.new_orders), 600)
        self.fake.advance(RUN_GAP)

    def final(self):
        """Runs without faults or kills until one run started from a complete
        window and completed it."""
        self.amazon.freeze()
        self.fake.advance(RUN_GAP)
        for index in range(1, 11):
            had_token, _orders = account_state(self.registry, self.account_id)
            outcome = self.run(f"final-{index}", label=f"F{index}")
            has_token, _orders = account_state(self.registry, self.account_id)
            clean = not any(
                word in outcome for word in ("throttled", "failed", "CRASH", "LOCK")
            )
            if clean and not had_token and not has_token:
                return index
        self.errors.append("the final runs without faults never completed")
        return None


def setup(args, registry, fake):
    bench = _bench()
    # Fast usage plans, advertised and enforced: the channel's pacer (shared by
    # the children through the database) must not wait minutes for
    # searchOrders' real refill rate.
    for operation, plan in FAST_PLANS.items():
        fake.set_usage_plan(operation, *plan)
    fake.rate_limits_enabled = True
    app = fake.add_app()
    with bench.new_env(registry) as env:
        # A database of an earlier soak (--db): its channels point at a fake
        # that is gone.
        env["amazon.account"].search([]).write({"enabled": False})
        fba = bench.setup_shop(env)
        account = bench.create_channel(env, fake, app, SELLER_ID, "Amazon Soak", fba)
        account_id = account.id
    now = fake.now()
    fake.seed_orders(
        args.orders,
        seed=args.seed,
        marketplace_ids=list(bench.MARKETPLACES),
        start=now - timedelta(days=20),
        end=now - timedelta(hours=1),
        seller_id=SELLER_ID,
    )
    return account_id, bench.MARKETPLACES


def soak(args, registry, addons_path, tmp):
    from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon

    rng = random.Random(args.seed)
    # time_scale 0: fake time moves only between runs (advance), so that the
    # final state is exactly what the final runs saw.
    fake = FakeAmazon(time_scale=0.0, validate=args.validate)
    started = time.monotonic()
    with fake:
        account_id, marketplaces = setup(args, registry, fake)
        amazon = Amazon(fake, rng, marketplaces)
        log_path = os.path.join(tmp, "children.log")
        with open(log_path, "a", encoding="utf-8") as log:
            runner_cls = FreshRunner if args.fresh else ZygoteRunner
            runner = runner_cls(args.db, addons_path, log, args.page_size)
            print(
                f"soak: {args.runs} runs, {args.orders} seeded orders, seed "
                f"{args.seed}, pages of {args.page_size}, "
                f"{'fresh interpreter' if args.fresh else 'forked'} "
                f"children (ready in {time.monotonic() - started:.0f} s)",
                flush=True,
            )
            soak_ = Soak(args, registry, runner, fake, amazon, account_id, tmp)
            try:
                for number in range(1, args.runs + 1):
                    faults = plan_faults(rng, args.max_faults)
                    kill = plan_kill(rng, args.kill_ratio)
                    soak_.run(number, faults, kill)
                    soak_.between_runs()
                final_runs = soak_.final()
            finally:
                runner.close()
        expected, have, problems = check(registry, amazon, account_id)
        violations = len(fake.violations)
    elapsed = time.monotonic() - started
    return report(
        args,
        soak_,
        amazon,
        expected,
        have,
        problems,
        violations,
        elapsed,
        final_runs,
        log_path,
    )


def report(
    args,
    soak_,
    amazon,
    expected,
    have,
    problems,
    violations,
    elapsed,
    final_runs,
    log_path,
):
    print()
    for name, items in problems.items():
        for item in items[:20]:
            print(f"{name}: {item}")
    for error in soak_.errors[:10]:
        print(f"error: {error}")
    durations = sorted(soak_.durations)
    print(
        "faults injected: "
        + (
            ", ".join(
                f"{kind} {soak_.injected[kind]} (hit {soak_.hit[kind]})"
                for kind in FAULT_KINDS
                if soak_.injected[kind]
            )
            or "none"
        )
    )
    print(
        "kills: "
        + (", ".join(f"{k} {v}" for k, v in sorted(soak_.kills.items())) or "none")
        + f"; killed sessions still in PostgreSQL after 10 s: {soak_.lingering}"
    )
    print(
        "runs: "
        + ", ".join(f"{k} {v}" for k, v in sorted(soak_.outcomes.items()))
        + f"; longest streak of 'already running': {soak_.max_lock_busy_streak}"
        + (f"; median run {durations[len(durations) // 2]:.2f} s" if durations else "")
    )
    print(
        "Amazon changes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(amazon.changes.items()))
        + f"; final runs needed: {final_runs}"
    )
    if args.validate:
        print(f"fake: {violations} contract violation(s)")
    counts = {name: len(items) for name, items in problems.items()}
    failed = bool(sum(counts.values()) or soak_.errors or violations)
    print(
        f"SOAK runs {args.runs}, faults {sum(soak_.injected.values())}, kills "
        f"{sum(soak_.kills.values())}, orders {have} (expected {expected}), "
        f"duplicates {counts['duplicates']}, missing {counts['missing']}, wrong "
        f"status {counts['wrong_status']}, wrong total {counts['wrong_total']}, "
        f"unexpected {counts['unexpected']}, crashes {soak_.outcomes['crashed']}, "
        f"elapsed {elapsed:.0f} s: {'FAILED' if failed else 'OK'}",
        flush=True,
    )
    if failed:
        print(f"children's log: {log_path}")
    return 1 if failed else 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, help="import runs (200; --quick 10)")
    parser.add_argument("--orders", type=int, help="seeded orders (300; --quick 60)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--db", help="database; created with the addon if missing")
    parser.add_argument("--keep-db", action="store_true", help="keep the database")
    parser.add_argument("--quick", action="store_true", help="a small size (tests)")
    parser.add_argument(
        "--kill-ratio", type=float, default=0.5, help="share of runs killed (0.5)"
    )
    parser.add_argument(
        "--max-faults", type=int, default=3, help="most faults per run (3)"
    )
    parser.add_argument(
        "--changes", type=int, default=12, help="most status changes between runs"
    )
    parser.add_argument(
        "--new-orders", type=int, default=6, help="most new orders between runs"
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=120,
        help="a run that sends Amazon no request for that long is killed (120 s)",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=20,
        help="orders per searchOrders page (20; the addon asks Amazon for 100)",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="a fresh interpreter per run instead of forked children (~5 s each)",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="the fake checks every request/response against Amazon's models",
    )
    # Internal: the zygote and a fresh child.
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--addons-path", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs is None:
        args.runs = 10 if args.quick else 200
    if args.orders is None:
        args.orders = 60 if args.quick else 300
    return args


def main():
    args = parse_args()
    if args.zygote:
        return zygote_main(args)
    if args.child:
        return child_main(args)
    bench = _bench()
    run_tests = bench._load_run_tests()
    created_db = False
    args.db = args.db or f"{ADDON}_soak_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(ROOT, os.path.join(tmp, ADDON))
        addons_path = ",".join([tmp, *run_tests.odoo_addons_paths()])
        try:
            if not bench.db_exists(args.db):
                created_db = True
                bench.install_addon(
                    run_tests, args.db, addons_path, os.path.join(tmp, "install.log")
                )
            registry = bench.open_registry(args.db, addons_path)
            code = soak(args, registry, addons_path, tmp)
            if code:
                log = os.path.join(tmp, "children.log")
                with open(log, encoding="utf-8") as f:
                    sys.stdout.write(f.read()[-4000:])
            return code
        finally:
            if created_db and not args.keep_db:
                bench._drop(args.db)
            elif created_db:
                print(f"database {args.db} kept")


if __name__ == "__main__":
    sys.exit(main())
