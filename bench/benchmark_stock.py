#!/usr/bin/env python3
"""Stock sync benchmark of sale_amazon_spapi against the fake Amazon.

10,000 merchant SKUs: SQL queries to compute their quantities (they must not
grow with the SKU count), seconds to build the feed, createFeed calls. Then
10,000 FBA SKUs read with getInventorySummaries into the FBA warehouse:
Odoo seconds (CPU + database, the fake's time is left out as far as it can
be). A benchmark, not a test: it prints figures and exits 0.
"""

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON = "sale_amazon_spapi"


def _bench_import():
    path = os.path.join(ROOT, "bench", "benchmark_import.py")
    spec = importlib.util.spec_from_file_location("bench_import", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup(env, fake, n):
    from odoo import Command

    app = fake.add_app()
    seller = "A2BENCHSTOCK01"
    uk = env.ref("sale_amazon_spapi.marketplace_uk")
    token = fake.add_refresh_token(
        app.client_id, seller_id=seller, marketplace_ids=[uk.marketplace_id]
    )
    company = env.company
    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", company.id)], limit=1
    )
    fba = env["stock.warehouse"].create({"name": "FBA bench", "code": "FBAB"})
    account = env["amazon.account"].create(
        {
            "name": "Bench stock",
            "seller_central_domain": "UK",
            "marketplace_ids": [Command.set(uk.ids)],
            "lwa_client_id": app.client_id,
            "lwa_client_secret": app.client_secret,
            "lwa_refresh_token": token,
            "lwa_auth_url": fake.lwa_url,
            "sp_api_endpoint": fake.base_url,
            "seller_id": seller,
            "fba_mode": "both",
            "fba_warehouse_id": fba.id,
            "stock_sync": True,
            "stock_warehouse_id": warehouse.id,
        }
    )
    products = env["product.product"].create(
        [
            {"name": f"Bench {i}", "default_code": f"BS{i:05d}", "is_storable": True}
            for i in range(n)
        ]
    )
    for i, product in enumerate(products[: n // 2]):
        env["stock.quant"]._update_available_quantity(
            product, warehouse.lot_stock_id, 1 + i % 50
        )
    env["amazon.sku.map"].create(
        [
            {"account_id": account.id, "sku": f"M-{p.default_code}", "product_id": p.id}
            for p in products
        ]
    )
    for p in products:
        fake.listings.add_offer(seller, f"M-{p.default_code}", quantity=0)
        fake.listings.set_fba(
            seller, uk.marketplace_id, p.default_code, 1 + p.id % 30, reserved=1
        )
    return account


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=10000)
    args = parser.parse_args()
    bi = _bench_import()
    run_tests = bi._load_run_tests()
    db = f"{ADDON}_benchstock_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(ROOT, os.path.join(tmp, ADDON))
        addons_path = ",".join([tmp, *run_tests.odoo_addons_paths()])
        bi.install_addon(run_tests, db, addons_path, os.path.join(tmp, "install.log"))
        try:
            registry = bi.open_registry(db, addons_path)
            from odoo.addons.sale_amazon_spapi.amazon import feeds
            from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon

            fake = FakeAmazon(validate=True)
            fake.listings.polls_to_done = 1
            fake.listings.page_size = 50
            with fake:
                with bi.new_env(registry, bi.BULK_CONTEXT) as env:
                    account_id = setup(env, fake, args.skus).id
                for n in (100, args.skus):
                    with bi.new_env(registry, bi.BULK_CONTEXT) as env:
                        account = env["amazon.account"].browse(account_id)
                        offers = account._stock_offers_to_send(send_all=True)[:n]
                        env.invalidate_all()
                        before = bi.queries()
                        account._stock_quantities(offers)
                        print(
                            f"quantities of {len(offers)} SKUs: "
                            f"{bi.queries() - before} queries"
                        )
                with bi.new_env(registry, bi.BULK_CONTEXT) as env:
                    account = env["amazon.account"].browse(account_id)
                    offers = account._stock_offers_to_send(send_all=True)
                    started = time.perf_counter()
                    quantities = account._stock_quantities(offers)
                    lines = [[o.sku, quantities[o]] for o in offers]
                    document, _skus = feeds.build_quantity_feed(
                        account.seller_id, lines
                    )
                    feeds.encode(document)
                    built = time.perf_counter() - started
                    print(f"feed of {len(lines)} SKUs built in {built:.2f} s")
                    started = time.perf_counter()
                    account._stock_send(send_all=True)
                    account._stock_check_feeds()
                    print(
                        f"send all + report: {time.perf_counter() - started:.1f} s, "
                        f"createFeed calls: {len(fake.calls_to('createFeed'))}, "
                        f"feed state: {account.stock_feed_ids[:1].state}"
                    )
                with bi.new_env(registry, bi.BULK_CONTEXT) as env:
                    account = env["amazon.account"].browse(account_id)
                    fake_before = time.process_time()
                    started = time.perf_counter()
                    result = account._fba_sync()
                    wall = time.perf_counter() - started
                    pages = len(fake.calls_to("getInventorySummaries"))
                    print(
                        f"FBA summaries of {args.skus} SKUs ({pages} pages): "
                        f"{wall:.1f} s wall, {time.process_time() - fake_before:.1f} s "
                        f"CPU of this process (Odoo and the in-process fake); {result}"
                    )
        finally:
            import odoo.sql_db

            odoo.sql_db.close_all()
            os.system(f"dropdb --if-exists {db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
