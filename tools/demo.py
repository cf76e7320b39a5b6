#!/usr/bin/env python3
"""Demo of sale_amazon_spapi on the embedded fake Amazon, no Amazon account needed.

1. starts the fake Amazon (fake_amazon/) on 127.0.0.1, seeded with ``--orders``
   orders on the EU marketplaces (FBA and merchant, personalised items, pending and
   cancelled ones);
2. creates the database ``--db`` with the addon (without demo data), or reuses it;
3. sets up a UK company, the seed's catalogue with stock, taxes and an FBA
   warehouse (bench/benchmark_import.py's shop), and an Amazon channel;
4. authorises the channel the way an administrator does: the Authorise wizard's
   consent link, the (fake) Seller Central Confirm page, the addon's OAuth
   callback on the Odoo server started here;
5. imports the orders, one progress line per page, and prints a summary;
6. keeps Odoo serving on the printed URL (login admin / admin) until Ctrl-C.

Re-running it reuses the database: the shop and the channel are kept, the channel
is pointed at the new fake (same seed, same orders) and authorised again, and the
orders already imported are recognised, not imported twice. ``--no-serve`` stops
after the summary and exits non-zero when the summary shows a problem
(``tools/run_tests.py`` runs it so).
"""

import argparse
import hashlib
import html
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from unittest import mock

ADDON = "sale_amazon_spapi"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANNEL_NAME = "Amazon EU (demo)"
SOURCE_PARAM = "sale_amazon_spapi.demo_source"
SOURCE_PARAM_QUERY = (
    f"SELECT value FROM ir_config_parameter WHERE key = '{SOURCE_PARAM}'"
)
# Not part of what an install or update loads.
SOURCE_SKIPPED = {".git", ".ruff_cache", ".benchmarks", "tests", "bench", "tools"}
LOGIN = PASSWORD = "admin"


def _load(name, relative_path):
    spec = importlib.util.spec_from_file_location(
        f"{ADDON}_{name}", os.path.join(ROOT, relative_path)
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_tests = _load("run_tests", "tools/run_tests.py")
bench = _load("bench", "bench/benchmark_import.py")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def odoo_server(db, addons_path, port, log_path):
    """``python3 -m odoo`` serving the demo database on 127.0.0.1:port."""
    cmd = [
        sys.executable,
        "-m",
        "odoo",
        "-d",
        db,
        f"--db-filter=^{re.escape(db)}$",
        f"--addons-path={addons_path}",
        "--http-interface=127.0.0.1",
        f"--http-port={port}",
        "--log-level=warn",
    ]
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/web/login", proc, log_path)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_http(url, proc, log_path, timeout=120):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path, encoding="utf-8") as log:
                sys.stdout.write(log.read()[-3000:])
            raise SystemExit(f"demo: Odoo exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"demo: Odoo did not answer on {url} within {timeout} s")


def sql_value(db, query):
    proc = subprocess.run(
        ["psql", "-d", db, "-tAc", query], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip()


def addon_installed(db):
    query = f"SELECT state FROM ir_module_module WHERE name = '{ADDON}'"
    return sql_value(db, query) == "installed"


def source_digest():
    """What the database's copy of the addon was installed or updated from."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SOURCE_SKIPPED)
        for name in sorted(filenames):
            if name.endswith((".py", ".xml", ".csv", ".sql")):
                path = os.path.join(dirpath, name)
                digest.update(os.path.relpath(path, ROOT).encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()


def update_addon(db, addons_path, log_path):
    """The checkout changed since the database was set up: ``-u`` the addon."""
    print(f"update: the addon's code changed, updating {db} ...", flush=True)
    cmd = run_tests.odoo_cmd(db, addons_path, "-u", ADDON, "--log-level=warn")
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    if proc.returncode:
        with open(log_path, encoding="utf-8") as log:
            sys.stdout.write(log.read()[-5000:])
        raise SystemExit(f"demo: the update failed; --fresh starts over ({db})")


def configure_channel(env, fake, app, fba, days):
    """The channel as an administrator fills its form; kept across runs."""
    from odoo import Command

    Account = env["amazon.account"].with_context(active_test=False)
    marketplaces = env["amazon.marketplace"].union(
        *(
            env.ref(f"sale_amazon_spapi.marketplace_{code.lower()}")
            for code in bench.MARKETPLACES
        )
    )
    # The import does not activate currencies: an accountant would, beforehand.
    marketplaces.currency_id.active = True
    # The fake listens on a new port and the app's secret is the seed's: only
    # these change from one run to the next.
    values = {
        "lwa_client_id": app.client_id,
        "lwa_client_secret": app.client_secret,
        "application_id": app.application_id,
        "lwa_auth_url": fake.lwa_url,
        "sp_api_endpoint": fake.base_url,
        "seller_central_url_override": fake.seller_central_url,
        # Each run's fake is new: the whole seed is searched again (what the last
        # run imported is recognised, not imported twice), and a page token of
        # an interrupted run means nothing to this fake.
        "last_import_datetime": datetime.now(timezone.utc).replace(tzinfo=None)
        - timedelta(days=days + 1),
        "import_window_start": False,
        "import_window_end": False,
        "import_next_token": False,
        "import_window_opened_on": False,
    }
    account = Account.search([("name", "=", CHANNEL_NAME)], limit=1)
    if account:
        account.write(values)
        return account
    return Account.create(
        {
            **values,
            "name": CHANNEL_NAME,
            "seller_central_domain": "UK",
            "marketplace_ids": [Command.set(marketplaces.ids)],
            "fba_mode": "both",
            "fba_warehouse_id": fba.id,
            "sku_concat_labels": "Colour,Size",
            # Created as the superuser: without this OdooBot would be the
            # Responsible, who gets the activities and sells every order.
            "user_id": env.ref("base.user_admin").id,
        }
    )


def authorise(registry, account_id, base_url, db):
    """Wizard → consent page → Confirm → OAuth callback, as in a browser."""
    import requests

    with bench.new_env(registry) as env:
        admin = env.ref("base.user_admin")
        account = env["amazon.account"].with_user(admin).browse(account_id)
        action = account.action_open_authorize_wizard()
        wizard = env[action["res_model"]].with_user(admin).browse(action["res_id"])
        consent_url = wizard.action_open_consent()["url"]
    browser = requests.Session()
    login = browser.post(
        f"{base_url}/web/session/authenticate",
        json={"params": {"db": db, "login": LOGIN, "password": PASSWORD}},
        timeout=30,
    )
    if login.json().get("error"):
        raise SystemExit(f"demo: cannot log in as {LOGIN}: {login.json()['error']}")
    page = browser.get(consent_url, timeout=30)
    form = re.search(r"<form method='post' action='([^']+)'>(.*?)</form>", page.text)
    if page.status_code != 200 or not form:
        raise SystemExit(f"demo: Seller Central refused the consent:\n{page.text}")
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r"name='([^']*)' value='([^']*)'", form[2])
    }
    confirmed = browser.post(
        consent_url.split("/apps/", 1)[0] + form[1],
        data=fields,
        allow_redirects=False,
        timeout=30,
    )
    callback = browser.get(
        confirmed.headers["Location"], allow_redirects=False, timeout=60
    )
    if callback.status_code != 303:
        message = re.sub(r"<[^>]+>", " ", callback.text)
        raise SystemExit(
            "demo: the authorisation failed: " + " ".join(message.split())[-500:]
        )
    with bench.new_env(registry) as env:
        account = env["amazon.account"].browse(account_id)
        print(
            f"authorise: done through the consent page; channel seller "
            f"{account.seller_id}, credentials {account.credentials_status}, "
            f"connection {account.connection_state}",
            flush=True,
        )


def import_orders(registry, account_id, total):
    """The cron's import, one line per page."""
    SaleOrder = registry["sale.order"]
    original = SaleOrder._amazon_import_batch
    progress = {"received": 0, "created": 0, "started": time.monotonic()}

    def import_batch(self, account, raw_orders, request_id=None, client=None):
        stats = original(self, account, raw_orders, request_id, client)
        progress["received"] += len(raw_orders)
        progress["created"] += stats.get("created", 0)
        seconds = time.monotonic() - progress["started"]
        print(
            f"import: page of {len(raw_orders)}: {progress['received']}/{total} "
            f"orders received, {progress['created']} created, "
            f"{progress['received'] / seconds:.1f} orders/s",
            flush=True,
        )
        return stats

    with (
        mock.patch.object(SaleOrder, "_amazon_import_batch", import_batch),
        bench.new_env(registry) as env,
    ):
        stats = env["amazon.account"].browse(account_id)._import_orders(commit=True)
    return stats, time.monotonic() - progress["started"]


def summary(registry, account_id, fake, stats, seconds):
    """Print the summary; return the problems it shows."""
    from odoo.addons.sale_amazon_spapi.amazon.mapping import ACTIONABLE_STATUSES

    problems = []
    with bench.new_env(registry) as env:
        account = env["amazon.account"].browse(account_id)
        orders = env["sale.order"].search([("amazon_account_id", "=", account_id)])
        by_status = Counter(orders.mapped("amazon_status"))
        by_channel = Counter(orders.mapped("amazon_fulfilled_by"))
        errors = account.import_log_ids.filtered(lambda log: log.state == "error")
        imported = set(orders.mapped("amazon_order_ref"))
        # Amazon's upper bound of the last complete search window.
        cursor = account.last_import_datetime.replace(tzinfo=timezone.utc)
    fake.store.apply_due()
    # What Amazon lets a seller ship or has shipped, as of the cursor.
    wanted = {
        ref
        for ref, record in fake.store.orders.items()
        if record.order["fulfillment"]["fulfillmentStatus"] in ACTIONABLE_STATUSES
        and datetime.fromisoformat(record.order["lastUpdatedTime"]) <= cursor
    }
    missing = wanted - imported
    print(f"== Demo summary: channel {CHANNEL_NAME!r} ==")
    print(
        f"this run: {stats.get('calls', 0)} searchOrders page(s), "
        f"{stats.get('created', 0)} orders created in {seconds:.1f} s"
    )
    print(
        "sale orders by Amazon status: "
        + ", ".join(f"{k}={v}" for k, v in sorted(by_status.items(), key=str))
    )
    print(
        "sale orders by fulfilment channel: "
        + ", ".join(f"{k}={v}" for k, v in sorted(by_channel.items(), key=str))
    )
    skipped = Counter(
        record.order["fulfillment"]["fulfillmentStatus"]
        for ref, record in fake.store.orders.items()
        if ref not in wanted
    )
    print(
        "at Amazon, not imported (pending, cancelled, or updated after the search): "
        + (", ".join(f"{k}={v}" for k, v in sorted(skipped.items())) or "none")
    )
    print(f"import errors: {len(errors)}")
    for log in errors[:10]:
        print(f"  {log.amazon_order_ref}: {log.message}")
    if stats.get("skipped"):
        problems.append(f"the import was skipped: {stats['skipped']}")
    if errors:
        problems.append(f"{len(errors)} import error(s)")
    if missing:
        problems.append(f"{len(missing)} order(s) not imported")
    if fake.violations:
        problems.append(f"{len(fake.violations)} contract violation(s) at the fake")
    print(
        f"DEMO {len(orders)} orders in Odoo, {len(wanted)} importable at Amazon, "
        f"{len(missing)} missing, {len(errors)} errors: "
        + ("OK" if not problems else "PROBLEM: " + "; ".join(problems)),
        flush=True,
    )
    return problems


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"{ADDON}_demo", help="database (reused)")
    parser.add_argument("--orders", type=int, default=300, help="seeded orders (300)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the orders (1)")
    parser.add_argument(
        "--days", type=int, default=30, help="orders over the last N days"
    )
    parser.add_argument("--port", type=int, default=0, help="Odoo's port (free one)")
    parser.add_argument(
        "--fresh", action="store_true", help="drop the database and start over"
    )
    parser.add_argument(
        "--no-serve", action="store_true", help="stop after the summary"
    )
    parser.add_argument(
        "--no-update",
        action="store_true",
        help="use the database's addon as it is, even if this checkout changed",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    if not run_tests.odoo_available():
        print("demo: needs Odoo 18.0 (`import odoo`); see the README's requirements")
        return 2
    # The fake finds Amazon's models next to the addon's folder; it runs here
    # from the symlink in the addons path below, so it is told where they are.
    models_dir = os.path.join(os.path.dirname(ROOT), "shared", "spapi-models")
    if os.path.isdir(models_dir):
        os.environ.setdefault("SPAPI_MODELS_DIR", models_dir)
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(ROOT, os.path.join(tmp, ADDON))
        addons_path = ",".join([tmp, *run_tests.odoo_addons_paths()])
        if args.fresh:
            bench._drop(args.db)
        if bench.db_exists(args.db) and not addon_installed(args.db):
            # What an interrupted or failed install left behind.
            bench._drop(args.db)
        digest = source_digest()
        if bench.db_exists(args.db):
            print(f"database {args.db}: reused (--fresh starts over)", flush=True)
            if not args.no_update and sql_value(args.db, SOURCE_PARAM_QUERY) != digest:
                update_addon(args.db, addons_path, os.path.join(tmp, "update.log"))
        else:
            try:
                bench.install_addon(
                    run_tests, args.db, addons_path, os.path.join(tmp, "install.log")
                )
            except BaseException:
                bench._drop(args.db)
                raise
        registry = bench.open_registry(args.db, addons_path)
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        from odoo.addons.sale_amazon_spapi import const
        from odoo.addons.sale_amazon_spapi.fake_amazon.__main__ import demo_fake

        fake, app, seller, _token = demo_fake(
            seed=args.seed,
            orders=args.orders,
            days=args.days,
            redirect_uris=[base_url + const.OAUTH_CALLBACK_ROUTE],
            marketplace_ids=list(bench.MARKETPLACES),
        )
        fake.consent_seller_id = seller.seller_id
        with fake:
            print(
                f"fake Amazon: {fake.base_url}, seller {seller.seller_id}, "
                f"{args.orders} orders (seed {args.seed})",
                flush=True,
            )
            with bench.new_env(registry) as env:
                env["ir.config_parameter"].set_param(SOURCE_PARAM, digest)
                fba = bench.setup_shop(env)
                account_id = configure_channel(env, fake, app, fba, args.days).id
                env["ir.config_parameter"].set_param("web.base.url", base_url)
            log_path = os.path.join(tmp, "odoo.log")
            with odoo_server(args.db, addons_path, port, log_path):
                authorise(registry, account_id, base_url, args.db)
                stats, seconds = import_orders(registry, account_id, args.orders)
                problems = summary(registry, account_id, fake, stats, seconds)
                print(f"demo: ready in {time.monotonic() - started:.0f} s", flush=True)
                if args.no_serve:
                    return 1 if problems else 0
                print(
                    f"\nOdoo: {base_url}/odoo/action-sale_amazon_spapi."
                    f"action_amazon_account  (login {LOGIN}, password {PASSWORD})\n"
                    "Sales > Orders shows the imported Amazon orders. "
                    "Ctrl-C stops Odoo and the fake Amazon.",
                    flush=True,
                )
                # Ctrl-C, or a kill: stop Odoo and the fake on the way out, even
                # where the shell started this with SIGINT ignored.
                signal.signal(signal.SIGINT, signal.default_int_handler)
                signal.signal(signal.SIGTERM, signal.default_int_handler)
                try:
                    signal.pause()
                except KeyboardInterrupt:
                    print("\ndemo: stopped; run it again to continue", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
