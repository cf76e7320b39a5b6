#!/usr/bin/env python3
"""Shipment confirmation benchmark of sale_amazon_spapi against the fake Amazon.

Imports ``--orders`` merchant-fulfilled orders into a fresh database, validates
their deliveries (with carrier and tracking number) in one batch, then runs the
"confirm shipments" job as the cron would until every package is confirmed,
with Amazon's usage plan of confirmShipment (2 requests/s, burst 10) enforced
by the fake on a simulated clock: the client's pacing sleeps advance the clock
instead of waiting. It prints the simulated time, Odoo's share of it (time
spent in Odoo, i.e. outside the HTTP calls and the pacing waits) and checks
that each package reached Amazon exactly once.

A benchmark, not a test: it prints figures and exits 0 whatever they are.
"""

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELLER_ID = "A2BENCHSHIPS01"
TARGET_SIMULATED = 8.5 * 60
TARGET_ODOO_SHARE = 0.10


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load(
    "sale_amazon_spapi_benchmark_import",
    os.path.join(ROOT, "bench", "benchmark_import.py"),
)


def seed_mfn(fake, n):
    from datetime import timedelta

    from odoo.addons.sale_amazon_spapi.fake_amazon.seed import make_order

    now = fake.now()
    for index in range(n):
        fake.add_order(
            make_order(
                marketplace="UK",
                created=now - timedelta(hours=2, seconds=index),
                items=[{"sku": "MUG-Red", "qty": 1 + index % 2, "unit_price": "9.99"}],
                seller_id=SELLER_ID,
            ),
            seller_id=SELLER_ID,
        )


def run(args, registry, fake):
    from odoo.addons.sale_amazon_spapi.amazon import AmazonClient, MemoryStore, Pacer
    from odoo.addons.sale_amazon_spapi.models.amazon_account import AmazonAccount

    sim = bench.SimClock(fake, 1.0)

    class SimStore(MemoryStore):
        clock = staticmethod(sim.now)

    store = SimStore()
    http = {"seconds": 0.0, "calls": 0}
    confirm = AmazonClient.confirm_shipment

    def timed_confirm(self, *a, **kw):
        started = time.perf_counter()
        try:
            return confirm(self, *a, **kw)
        finally:
            http["seconds"] += time.perf_counter() - started
            http["calls"] += 1

    def client(account, max_wait=5.0, **overrides):
        config = account._get_amazon_config(**overrides)
        return AmazonClient(
            config,
            pacer=Pacer(key=config.pacing_key, store=store),
            max_wait=max_wait,
            sleep=sim.sleep,
            clock=sim.now,
        )

    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(AmazonClient, "confirm_shipment", timed_confirm)
        )
        stack.enter_context(
            mock.patch.object(AmazonAccount, "_get_amazon_client", client)
        )
        app = fake.add_app()
        with bench.new_env(registry) as env:
            fba = bench.setup_shop(env)
            account = bench.create_channel(env, fake, app, SELLER_ID, "Amazon UK", fba)
            account_id = account.id
            env["delivery.carrier"].create(
                {
                    "name": "Royal Mail Tracked 48",
                    "product_id": env["product.product"]
                    .create({"name": "Shipping", "type": "service"})
                    .id,
                }
            )
        print(f"seed + import: {args.orders} MFN orders", flush=True)
        seed_mfn(fake, args.orders)
        with bench.new_env(registry) as env:
            account = env["amazon.account"].browse(account_id)
            while True:
                account._import_orders(commit=True)
                if not account.import_next_token:
                    break
            orders = env["sale.order"].search([("amazon_account_id", "=", account_id)])
            print(f"imported: {len(orders)} orders", flush=True)
        with bench.new_env(registry, bench.BULK_CONTEXT) as env:
            orders = env["sale.order"].search([("amazon_account_id", "=", account_id)])
            pickings = orders.picking_ids
            carrier = env["delivery.carrier"].search(
                [("name", "=", "Royal Mail Tracked 48")]
            )
            for index, picking in enumerate(pickings):
                picking.carrier_id = carrier
                picking.carrier_tracking_ref = f"RM{index:09d}GB"
            for move in pickings.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            queue_time = {"seconds": 0.0}
            Confirm = type(env["amazon.shipment.confirm"])
            queue = Confirm._queue

            def timed_queue(self, p):
                started = time.perf_counter()
                try:
                    return queue(self, p)
                finally:
                    queue_time["seconds"] += time.perf_counter() - started

            started = time.perf_counter()
            with mock.patch.object(Confirm, "_queue", timed_queue):
                pickings.with_context(skip_sms=True).button_validate()
            validate_seconds = time.perf_counter() - started
            rows = env["amazon.shipment"].search_count([])
        print(
            f"validated {len(pickings)} deliveries in {validate_seconds:.1f} s, "
            f"of which queueing {queue_time['seconds']:.2f} s: {rows} packages",
            flush=True,
        )
        fake.calls.clear()
        fake.rate_limits_enabled = True
        start = sim.now()
        real = 0.0
        runs = 0
        while True:
            runs += 1
            real0 = time.perf_counter()
            with bench.new_env(registry) as env:
                env["amazon.shipment.confirm"]._cron_send()
                left = env["amazon.shipment"].search_count(
                    [("state", "in", ("to_send", "sending"))]
                )
            real += time.perf_counter() - real0
            if not left or runs > 10 * args.orders:
                break
        total = sim.now() - start
        with bench.new_env(registry) as env:
            states = Counter(env["amazon.shipment"].search([]).mapped("state"))
    statuses = Counter(c.status for c in fake.calls_to("confirmShipment"))
    once = all(len(bodies) == 1 for bodies in fake.shipments.values())
    odoo = real - http["seconds"]
    share = odoo / total if total else 0
    print()
    print(f"== {rows} packages, confirmShipment 2/s burst 10 (simulated) ==")
    print(f"  confirmShipment HTTP statuses: {dict(statuses)}; rows: {dict(states)}")
    print(
        f"  cron runs: {runs}, pacing sleeps {sim.sleeps} ({sim.slept:.0f} s "
        f"simulated), HTTP {http['seconds']:.1f} s real, Odoo {odoo:.1f} s real"
    )
    print(
        f"RESULT shipments N={rows}: {total:.0f} s simulated ({total / 60:.1f} min, "
        f"target <= {TARGET_SIMULATED / 60:.1f} min "
        f"{bench._verdict(total <= TARGET_SIMULATED)}), Odoo share {share:.1%} "
        f"(target < 10% {bench._verdict(share < TARGET_ODOO_SHARE)}), "
        f"exactly once: {once and len(fake.shipments) == len(orders)}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    run_tests = bench._load_run_tests()
    db = f"sale_amazon_spapi_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(ROOT, os.path.join(tmp, bench.ADDON))
        addons_path = ",".join([tmp, *run_tests.odoo_addons_paths()])
        try:
            bench.install_addon(
                run_tests, db, addons_path, os.path.join(tmp, "install.log")
            )
            registry = bench.open_registry(db, addons_path)
            from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon

            with FakeAmazon(validate=False) as fake:
                run(args, registry, fake)
        finally:
            if not args.keep_db:
                bench._drop(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
