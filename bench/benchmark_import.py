#!/usr/bin/env python3
"""Import benchmark of sale_amazon_spapi against the fake Amazon.

``--mode throughput`` (default) imports ``--orders`` seeded orders into a fresh
database and, on the same orders in the same run, times a bare ORM loop (one
customer, one order with its lines and one ``action_confirm`` per order). It
prints orders/second of both and their ratio, SQL queries per order (overall
and per page), SP-API calls per 100 orders and the peak memory growth.

``--mode backlog`` replays Amazon's default usage plans on the fake and runs the
import as the cron would until a backlog of ``--orders`` (default 2,000) is
fully imported; it prints the simulated time that took.

A benchmark, not a test: it prints figures and exits 0 whatever they are. See
bench/README.md.
"""

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from unittest import mock

ADDON = "sale_amazon_spapi"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SELLER_ID = "A2BENCHSELLER1"
# A second seller warms the code paths up without touching the measured cursor.
WARMUP_SELLER_ID = "A2BENCHWARMUP1"
WARMUP_ORDERS = 30
# EU channel: GBP, EUR, SEK and PLN orders, with the usual mix of MFN/FBA, gifts,
# promotions, customisations, pending and cancelled orders.
MARKETPLACES = ("UK", "DE", "FR", "IT", "ES", "NL", "SE", "PL")
COLOURS = ("Red", "Blue", "Black", "White", "Green")
SIZES = ("S", "M", "L", "XL")
SP_API_ORDER_CALLS = ("searchOrders", "getOrder")
BULK_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}
TARGETS = {
    "ratio": 1.5,
    "queries_per_order": 60,
    "memory_mb_10k": 300,
    "backlog_seconds": 120,
}


def _load_run_tests():
    """tools/run_tests.py knows how the addon is installed on a fresh database."""
    path = os.path.join(ROOT, "tools", "run_tests.py")
    spec = importlib.util.spec_from_file_location("sale_amazon_spapi_run_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------
# Database and registry
# --------------------------------------------------------------------------


def db_exists(db):
    proc = subprocess.run(
        ["psql", "-lqtA", "-F", "|"], capture_output=True, text=True, check=False
    )
    return any(line.split("|", 1)[0] == db for line in proc.stdout.splitlines())


def install_addon(run_tests, db, addons_path, log_path):
    cmd = run_tests.odoo_cmd(db, addons_path, "-i", ADDON, "--log-level=warn")
    print(f"install: {ADDON} on new database {db} ...", flush=True)
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    if proc.returncode:
        with open(log_path, encoding="utf-8") as log:
            sys.stdout.write(log.read()[-5000:])
        raise SystemExit(f"install failed (exit code {proc.returncode})")
    print(f"install: done in {time.monotonic() - started:.0f} s", flush=True)


def open_registry(db, addons_path):
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [
            "-d",
            db,
            f"--addons-path={addons_path}",
            "--log-level=warn",
            # httpx logs each request at INFO: noise between the figures.
            "--log-handler=httpx:WARNING",
        ]
    )
    return Registry(db)


@contextmanager
def new_env(registry, context=None):
    """A cursor and superuser environment of their own, like a cron job's;
    committed at the end."""
    from odoo import SUPERUSER_ID, api

    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, dict(context or {}))
        cr.commit()


def queries():
    import odoo.sql_db

    return odoo.sql_db.sql_counter


def max_rss_mb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb():
    """Current resident set size, or None where /proc is not available."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """Peak RSS over a block, sampled by a thread.

    ru_maxrss is the peak of the whole process: seeding 10,000 orders in the
    fake before the import already peaks higher than the import itself, so the
    growth of the block is sampled instead.
    """

    def __init__(self, interval=0.05):
        import threading

        self.interval = interval
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self):
        if self.start is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.start is not None:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, rss_mb())

    @property
    def growth(self):
        return None if self.start is None else self.peak - self.start


# --------------------------------------------------------------------------
# Shop set-up: what a seller has before the first import
# --------------------------------------------------------------------------


def setup_shop(env):
    """Company, VAT, the seed catalogue as products with stock, FBA warehouse."""
    from odoo import Command

    from odoo.addons.sale_amazon_spapi.fake_amazon.seed import CATALOG

    company = env.company
    fba = env["stock.warehouse"].search(
        [("code", "=", "FBA"), ("company_id", "=", company.id)]
    )
    if fba:
        # A database of an earlier run (--db): the shop is already set up.
        return fba
    uk = env.ref("base.uk")
    # A UK shop through and through: the fiscal country (taxes, fiscal
    # positions) is set once, from the country the company had first.
    company.write({"country_id": uk.id, "account_fiscal_country_id": uk.id})
    tax_group = env["account.tax.group"].create(
        {"name": "VAT", "company_id": company.id, "country_id": uk.id}
    )
    vat = env["account.tax"].create(
        {
            "name": "VAT 20% incl.",
            "tax_group_id": tax_group.id,
            "amount": 20,
            "price_include_override": "tax_included",
            "company_id": company.id,
            "country_id": uk.id,
        }
    )
    Attribute = env["product.attribute"]
    colour = Attribute.create(
        {"name": "Colour", "value_ids": [Command.create({"name": c}) for c in COLOURS]}
    )
    size = Attribute.create(
        {"name": "Size", "value_ids": [Command.create({"name": s}) for s in SIZES]}
    )
    # HOODIE comes in M/L/XL only.
    size_values = {value.name: value for value in size.value_ids}
    templates = env["product.template"]
    for stem, title, price, sizes in CATALOG:
        lines = [
            Command.create(
                {
                    "attribute_id": colour.id,
                    "value_ids": [Command.set(colour.value_ids.ids)],
                }
            )
        ]
        if sizes:
            lines.append(
                Command.create(
                    {
                        "attribute_id": size.id,
                        "value_ids": [Command.set([size_values[s].id for s in sizes])],
                    }
                )
            )
        template = templates.create(
            {
                "name": title,
                "list_price": float(price),
                "is_storable": True,
                "taxes_id": [Command.set(vat.ids)],
                "attribute_line_ids": lines,
            }
        )
        for variant in template.product_variant_ids:
            if sizes:
                # Matched through the SKU concatenation labels Colour,Size.
                variant.default_code = stem
            else:
                # Matched on the internal reference, as Amazon's seller SKU.
                value = variant.product_template_attribute_value_ids.name
                variant.default_code = f"{stem}-{value}"
        templates |= template
    fba = env["stock.warehouse"].create(
        {"name": "Amazon FBA", "code": "FBA", "company_id": company.id}
    )
    warehouse = env["stock.warehouse"].search(
        [("company_id", "=", company.id), ("id", "!=", fba.id)], limit=1
    )
    # Enough stock everywhere: shipped and FBA orders are delivered without the
    # "shipped without stock" activity, as in a shop that keeps its stock right.
    Quant = env["stock.quant"]
    for product in templates.product_variant_ids:
        for wh in warehouse | fba:
            Quant._update_available_quantity(product, wh.lot_stock_id, 1_000_000)
    return fba


def create_channel(env, fake, app, seller_id, name, fba):
    from odoo import Command

    codes = [code.lower() for code in MARKETPLACES]
    marketplaces = env["amazon.marketplace"].union(
        *(env.ref(f"sale_amazon_spapi.marketplace_{code}") for code in codes)
    )
    refresh_token = fake.add_refresh_token(
        app.client_id,
        seller_id=seller_id,
        marketplace_ids=marketplaces.mapped("marketplace_id"),
    )
    # The import does not activate currencies: an accountant would, beforehand.
    marketplaces.currency_id.active = True
    account = env["amazon.account"].create(
        {
            "name": name,
            "seller_central_domain": "UK",
            "marketplace_ids": [Command.set(marketplaces.ids)],
            "lwa_client_id": app.client_id,
            "lwa_client_secret": app.client_secret,
            "lwa_refresh_token": refresh_token,
            "lwa_auth_url": fake.lwa_url,
            "sp_api_endpoint": fake.base_url,
            "seller_id": seller_id,
            "last_import_datetime": datetime.now(timezone.utc).replace(tzinfo=None)
            - timedelta(days=60),
            "fba_mode": "both",
            "fba_warehouse_id": fba.id,
            "sku_concat_labels": "Colour,Size",
            "email_errors_to": "ops@example.com",
            # The activities and reminders go to a person who logs in.
            "user_id": env.ref("base.user_admin").id,
        }
    )
    setup_taxes(account, marketplaces)
    return account


def setup_taxes(account, marketplaces):
    """The taxes of the seed's marketplaces, set up as readme/USAGE.md says:
    what "Create Missing Taxes" makes of each marketplace's standard rate."""
    from odoo.addons.sale_amazon_spapi.fake_amazon import marketplaces as facts

    rates = []
    for marketplace in marketplaces:
        rate = Decimal(str(facts.get(marketplace.code).tax_rate)) * 100
        percent = f"{rate.normalize():f}"
        rates.append((marketplace, percent, marketplace.tax_included, False, "bench"))
    account._amazon_note_missing_taxes(rates)
    account.action_create_missing_taxes()


def seed(fake, n, seed_value, seller_id):
    now = fake.now()
    # Ended an hour ago: every order is older than searchOrders' 2-minute bound.
    fake.seed_orders(
        n,
        seed=seed_value,
        marketplace_ids=list(MARKETPLACES),
        start=now - timedelta(days=30),
        end=now - timedelta(hours=1),
        seller_id=seller_id,
    )


# --------------------------------------------------------------------------
# Instrumentation (patches live only inside this script's run)
# --------------------------------------------------------------------------


# Steps of sale.order's _ImportBatch timed separately (_confirm includes
# _validate_deliveries).
IMPORT_STEPS = (
    "_resolve_currencies",
    "_resolve_countries",
    "_resolve_products",
    "_resolve_partners",
    "_order_values",
    "_create_isolated",
    "_reconcile_totals",
    "_add_customizations",
    "_confirm",
    "_validate_deliveries",
    "_flush_logs",
)


class Probe:
    """What the import did: per page (queries, seconds), per step of a page, and
    the SP-API fetch time."""

    def __init__(self):
        self.batches = []
        self.steps = {}
        self.fetch_seconds = 0.0
        self.download_seconds = 0.0
        self.active = False
        self.stack = []
        # (innermost step, statement) -> [count, seconds], with --query-stats
        self.statements = Counter()
        self.statement_seconds = Counter()

    @contextmanager
    def record_statements(self, enabled):
        """Group the SQL statements run by this thread by step and text."""
        if not enabled:
            yield
            return
        import threading

        def hook(cr, query, params, start, delay):
            key = (self.stack[-1] if self.stack else "-", " ".join(query.split()))
            self.statements[key] += 1
            self.statement_seconds[key] += delay

        thread = threading.current_thread()
        thread.query_hooks = (*getattr(thread, "query_hooks", ()), hook)
        try:
            yield
        finally:
            thread.query_hooks = tuple(h for h in thread.query_hooks if h is not hook)

    def reset(self):
        self.__init__()
        self.active = True

    @contextmanager
    def step(self, name):
        q0, t0 = queries(), time.perf_counter()
        self.stack.append(name)
        try:
            yield
        finally:
            self.stack.pop()
            if self.active:
                seconds, count = self.steps.get(name, (0.0, 0))
                self.steps[name] = (
                    seconds + time.perf_counter() - t0,
                    count + queries() - q0,
                )


def patch_import(stack, registry, probe, client_factory):
    """Route the channel's client through ``client_factory`` and time each page."""
    from odoo.addons.sale_amazon_spapi.amazon import AmazonClient

    class TimedClient(AmazonClient):
        def search_orders(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return super().search_orders(*args, **kwargs)
            finally:
                probe.fetch_seconds += time.perf_counter() - started

        def download_customizations(self, urls, *args, **kwargs):
            started = time.perf_counter()
            try:
                return super().download_customizations(urls, *args, **kwargs)
            finally:
                probe.download_seconds += time.perf_counter() - started

    def get_client(account, max_wait=5.0, **overrides):
        config = account._get_amazon_config(**overrides)
        return client_factory(TimedClient, account, config, max_wait)

    SaleOrder = registry["sale.order"]
    original_batch = SaleOrder._amazon_import_batch

    def import_batch(self, account, raw_orders, request_id=None, client=None):
        q0, t0 = queries(), time.perf_counter()
        stats = original_batch(self, account, raw_orders, request_id, client)
        probe.batches.append(
            {
                "orders": len(raw_orders),
                "created": stats.get("created", 0),
                "seconds": time.perf_counter() - t0,
                "queries": queries() - q0,
            }
        )
        return stats

    from odoo.addons.sale_amazon_spapi.models.sale_order import _ImportBatch

    for name in IMPORT_STEPS:
        stack.enter_context(
            mock.patch.object(
                _ImportBatch, name, _timed(probe, name, getattr(_ImportBatch, name))
            )
        )
    Account = registry["amazon.account"]
    stack.enter_context(mock.patch.object(Account, "_get_amazon_client", get_client))
    stack.enter_context(
        mock.patch.object(SaleOrder, "_amazon_import_batch", import_batch)
    )


def _timed(probe, name, method):
    def timed(*args, **kwargs):
        with probe.step(name):
            return method(*args, **kwargs)

    return timed


# --------------------------------------------------------------------------
# The bare loop
# --------------------------------------------------------------------------


class BareLoop:
    """The same orders the import created, one at a time through the ORM.

    Per order: map the Amazon dict (the same pure ``mapping`` functions), create
    the customer, create the sale order with one line per item and one per
    charge (shipping, gift wrap, promotion) at Amazon's gross amounts with the
    product taxes, ``action_confirm()``; a commit every 100 orders, like the
    import's page commits. Lookups (products, pricelists, countries) are done
    before the clock starts, which favours the loop. It does not create delivery
    addresses, check totals, download customisations, validate FBA/shipped
    deliveries or set the Amazon fields: the import does all that on top.
    """

    def __init__(self, env, fake, account, refs):
        from odoo.addons.sale_amazon_spapi.amazon import INCLUDED_DATA
        from odoo.addons.sale_amazon_spapi.fake_amazon import orders_api

        self.env = env
        fake.store.apply_due()
        # Rendered as searchOrders serves them; one status replay for all.
        self.raw_orders = [
            orders_api.render_order(
                fake.store.orders[ref], INCLUDED_DATA, fake.base_url
            )
            for ref in refs
        ]
        skus = {
            item["product"]["sellerSku"]
            for raw in self.raw_orders
            for item in raw["orderItems"]
        }
        account = account.with_env(env)
        found = account._amazon_find_products(skus, set())
        self.products = {sku: found[("sku", sku)] for sku in skus}
        self.products_taxes = {
            product: product.taxes_id.ids for product in self.products.values()
        }
        # The pricelists the import chose for these orders' currencies.
        imported = env["sale.order"].search(
            [("amazon_account_id", "=", account.id), ("amazon_order_ref", "in", refs)]
        )
        self.pricelists = {o.currency_id.name: o.pricelist_id for o in imported}
        self.countries = {c.code: c.id for c in env["res.country"].search([])}
        self.charges = {
            kind: env.ref(xmlid)
            for kind, xmlid in {
                "SHIPPING": "sale_amazon_spapi.product_amazon_shipping",
                "GIFT_WRAP": "sale_amazon_spapi.product_amazon_gift_wrap",
                "DISCOUNT": "sale_amazon_spapi.product_amazon_promotion",
            }.items()
        }
        self.other_charge = env.ref("sale_amazon_spapi.product_amazon_adjustment")
        self.company = account.company_id

    def run(self, probe):
        from odoo import Command

        from odoo.addons.sale_amazon_spapi.amazon import mapping

        env = self.env
        Partner = env["res.partner"]
        SaleOrder = env["sale.order"]
        for done, raw in enumerate(self.raw_orders, start=1):
            with probe.step("map the Amazon order"):
                party = mapping.partner_values(raw)
                amounts = mapping.order_lines(raw)
                buyer, delivery = party["buyer"], party["delivery"]
            with probe.step("create the customer"):
                partner = Partner.create(
                    {
                        "name": buyer["name"],
                        "email": buyer["email"],
                        "phone": buyer["phone"],
                        "street": delivery["street"],
                        "street2": delivery["street2"],
                        "city": delivery["city"],
                        "zip": delivery["zip"],
                        "country_id": self.countries.get(delivery["country_code"]),
                        "customer_rank": 1,
                    }
                )
            lines = []
            for line in amounts["lines"]:
                product = self.products[line["sku"]]
                lines.append(
                    self._line(
                        Command,
                        product,
                        line["quantity"],
                        line["net"] + line["tax"],
                        self.products_taxes[product],
                    )
                )
            for kind, (net, tax) in amounts["charges"].items():
                if net or tax:
                    product = self.charges.get(kind, self.other_charge)
                    lines.append(self._line(Command, product, 1, net + tax, []))
            with probe.step("create the order"):
                order = SaleOrder.create(
                    {
                        "partner_id": partner.id,
                        "company_id": self.company.id,
                        "pricelist_id": self.pricelists[amounts["currency"]].id,
                        "client_order_ref": raw["orderId"],
                        "order_line": lines,
                    }
                )
            with probe.step("action_confirm"):
                order.action_confirm()
            if done % 100 == 0:
                with probe.step("commit"):
                    env.cr.commit()
        with probe.step("commit"):
            env.cr.commit()
        return len(self.raw_orders)

    @staticmethod
    def _line(Command, product, quantity, gross, tax_ids):
        return Command.create(
            {
                "product_id": product.id,
                "product_uom_qty": quantity,
                "price_unit": float(gross / quantity),
                "tax_id": [Command.set(tax_ids)],
            }
        )


# --------------------------------------------------------------------------
# Throughput mode
# --------------------------------------------------------------------------


@contextmanager
def measure(trace_memory):
    """Seconds, SQL queries and memory growth of the block."""
    import gc

    result = {}
    gc.collect()
    if trace_memory:
        tracemalloc.start()
    sampler = PeakRss()
    rss0, q0, t0 = max_rss_mb(), queries(), time.perf_counter()
    try:
        with sampler:
            yield result
    finally:
        result["seconds"] = time.perf_counter() - t0
        result["queries"] = queries() - q0
        growth = sampler.growth
        # Without /proc: the growth of the process peak (0 when it was higher
        # before the block).
        result["rss_growth_mb"] = max_rss_mb() - rss0 if growth is None else growth
        if trace_memory:
            result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()


def created_refs(env, account):
    orders = env["sale.order"].search(
        [("amazon_account_id", "=", account.id)], order="id"
    )
    return orders.mapped("amazon_order_ref")


def unlimited_pacer_factory():
    """Throughput measures Odoo's work: the client never waits for Amazon's
    usage plans (the fake enforces none in this mode)."""
    from odoo.addons.sale_amazon_spapi.amazon import USAGE_PLANS, Pacer

    pacer = Pacer(plans={op: (1e6, 1e9) for op in USAGE_PLANS})

    def factory(cls, account, config, max_wait):
        return cls(config, pacer=pacer, max_wait=max_wait)

    return factory


def run_throughput(args, registry, fake):
    probe = Probe()
    with ExitStack() as stack:
        patch_import(stack, registry, probe, unlimited_pacer_factory())
        app = fake.add_app()
        with new_env(registry) as env:
            fba = setup_shop(env)
            warm = create_channel(env, fake, app, WARMUP_SELLER_ID, "Warm-up", fba)
            warm_id = warm.id
            # One seller per round: the fake keys orders by id, and each round
            # imports its own orders.
            main_ids = [
                create_channel(
                    env,
                    fake,
                    app,
                    _round_seller(index),
                    f"Amazon EU {index + 1}" if index else "Amazon EU",
                    fba,
                ).id
                for index in range(args.rounds)
            ]
        print(
            f"seed: {args.orders} orders x {args.rounds} round(s) "
            f"(+{WARMUP_ORDERS} warm-up)",
            flush=True,
        )
        seed(fake, WARMUP_ORDERS, args.seed + 1000, WARMUP_SELLER_ID)
        for index in range(args.rounds):
            seed(fake, args.orders, args.seed + index, _round_seller(index))

        # Warm-up: Python imports, ormcaches and query plans of both code paths,
        # so that neither side pays them in its figures.
        with new_env(registry) as env:
            account = env["amazon.account"].browse(warm_id)
            account._import_orders(commit=True)
            refs = created_refs(env, account)
        with new_env(registry, BULK_CONTEXT) as env:
            BareLoop(env, fake, env["amazon.account"].browse(warm_id), refs).run(
                Probe()
            )

        ratios = []
        for index, main_id in enumerate(main_ids):
            if args.rounds > 1:
                print(f"\n##### round {index + 1} of {args.rounds}", flush=True)
            r = throughput_round(args, registry, fake, probe, main_id)
            ratios.append(report_throughput(args, r))
            check_exactly_once(registry, fake, main_id, _round_seller(index))
    if args.rounds > 1 and not args.no_bare:
        ordered = sorted(ratios)
        print(
            f"\nRESULT ratio over {args.rounds} rounds (import then bare loop, each "
            f"on its own {args.orders} orders): "
            + ", ".join(f"{ratio:.2f}" for ratio in ratios)
            + f"; median {statistics.median(ordered):.2f}, min {ordered[0]:.2f}"
        )


def check_exactly_once(registry, fake, account_id, seller_id):
    """Every importable order Amazon updated before the cursor is a sale order,
    once; those updated after the window closed come with the next run."""
    from odoo.addons.sale_amazon_spapi.amazon.mapping import ACTIONABLE_STATUSES

    def state():
        fake.store.apply_due()
        with new_env(registry) as env:
            account = env["amazon.account"].browse(account_id)
            refs = created_refs(env, account)
            cursor = account.last_import_datetime.replace(tzinfo=timezone.utc)
        before, after = set(), set()
        for ref, record in fake.store.orders.items():
            order = record.order
            status = order["fulfillment"]["fulfillmentStatus"]
            if record.seller_id != seller_id or status not in ACTIONABLE_STATUSES:
                continue
            updated = datetime.fromisoformat(
                order["lastUpdatedTime"].replace("Z", "+00:00")
            )
            (before if updated <= cursor else after).add(ref)
        return cursor, before - set(refs), after - set(refs), len(refs) - len(set(refs))

    cursor, lost, later, duplicates = state()
    print(
        f"exactly once: cursor {cursor:%H:%M:%S}; importable orders updated before "
        f"it without a sale order: {len(lost)}; updated after it (for the next "
        f"run): {len(later)}; duplicate sale orders: {duplicates}"
    )
    if later:
        with new_env(registry) as env:
            env["amazon.account"].browse(account_id)._import_orders(commit=True)
        cursor, lost, later_now, duplicates = state()
        print(
            f"exactly once, after one more run: cursor {cursor:%H:%M:%S}; "
            f"{len(later - later_now)} of the {len(later)} imported; updated before "
            f"the cursor without a sale order: {len(lost)}; duplicates: {duplicates}"
        )


def _round_seller(index):
    return SELLER_ID if not index else f"{SELLER_ID[:-1]}{index + 1}"


def throughput_round(args, registry, fake, probe, main_id):
    """The import of one channel's seeded orders, then the bare loop on them."""
    r = {}
    probe.reset()
    fake.calls.clear()
    print("import: running ...", flush=True)
    # A cron job: its own cursor and an empty context (the import sets its
    # own bulk context on what it creates).
    with new_env(registry) as env:
        account = env["amazon.account"].browse(main_id)
        with (
            measure(args.tracemalloc) as r["import"],
            profiled(args.profile),
            probe.record_statements(args.query_stats),
        ):
            r["stats"] = account._import_orders(commit=True)
        r["refs"] = created_refs(env, account)
        errors = env["amazon.import.log"].search(
            [("account_id", "=", main_id), ("state", "=", "error")]
        )
        r["errors"] = [f"{e.amazon_order_ref}: {e.message}" for e in errors]
        r["delivered"] = env["stock.picking"].search_count(
            [("sale_id.amazon_account_id", "=", main_id), ("state", "=", "done")]
        )
    r["calls"] = Counter(c.operation for c in fake.calls)
    r["probe"] = probe
    r["bare"] = None
    if not args.no_bare:
        print(
            f"bare loop: running on the {len(r['refs'])} imported orders ...",
            flush=True,
        )
        bare_context = {} if args.bare_plain else BULK_CONTEXT
        with new_env(registry, bare_context) as env:
            loop = BareLoop(env, fake, env["amazon.account"].browse(main_id), r["refs"])
            r["bare_probe"] = Probe()
            r["bare_probe"].reset()
            with (
                measure(args.tracemalloc) as r["bare"],
                r["bare_probe"].record_statements(args.query_stats),
            ):
                loop.run(r["bare_probe"])
            del loop
    return r


@contextmanager
def profiled(path):
    """cProfile of the import into ``path`` (read it with pstats or snakeviz)."""
    if not path:
        yield
        return
    import cProfile
    import pstats

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        print(f"profile of the import written to {path}; top by cumulative time:")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(
            40
        )


def _rate(count, seconds):
    return count / seconds if seconds else float("nan")


def _verdict(ok):
    return "met" if ok else "MISSED"


def _per(value, count, fmt="{:.1f}"):
    return fmt.format(value / count) if count else "-"


def report_throughput(args, r):
    imp, bare, probe = r["import"], r["bare"], r["probe"]
    created = len(r["refs"])
    received = sum(b["orders"] for b in probe.batches)
    calls = r["calls"]
    order_calls = sum(calls[op] for op in SP_API_ORDER_CALLS)
    local_seconds = imp["seconds"] - probe.fetch_seconds
    imp_rate = _rate(created, imp["seconds"])
    bare_rate = _rate(created, bare["seconds"]) if bare else float("nan")
    imp_qpo = imp["queries"] / created if created else float("nan")
    print()
    print(
        f"== Throughput, N={args.orders} seeded orders (seed {args.seed}), bare loop "
        f"context: {'plain (default)' if args.bare_plain else 'bulk, as the import'} =="
    )
    stats = r["stats"]
    print("import stats: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items())))
    print(
        f"orders received {received}, sale orders created {created}, "
        f"deliveries validated (FBA/shipped) {r['delivered']}"
    )
    for sample in r["errors"][:5]:
        print(f"  import error: {sample[:300]}")
    rows = [
        ("orders", created, created if bare else None, "{}"),
        ("seconds", imp["seconds"], bare and bare["seconds"], "{:.1f}"),
        ("orders/second", imp_rate, bare and bare_rate, "{:.1f}"),
        ("  SP-API searchOrders (s)", probe.fetch_seconds, None, "{:.1f}"),
        ("  customisation ZIPs (s)", probe.download_seconds, None, "{:.1f}"),
        (
            "orders/second w/o searchOrders",
            _rate(created, local_seconds),
            None,
            "{:.1f}",
        ),
        ("SQL queries", imp["queries"], bare and bare["queries"], "{}"),
        ("SQL queries/order", imp_qpo, bare and bare["queries"] / created, "{:.1f}"),
        (
            "peak RSS growth (MB, sampled)",
            imp["rss_growth_mb"],
            bare and bare["rss_growth_mb"],
            "{:.0f}",
        ),
    ]
    if "traced_peak_mb" in imp:
        rows.append(
            (
                "tracemalloc peak (MB)",
                imp["traced_peak_mb"],
                bare and bare["traced_peak_mb"],
                "{:.0f}",
            )
        )
    print(f"{'':32} {'import':>10} {'bare loop':>10}")
    for label, a, b, fmt in rows:
        b = "-" if b is None or b is False else fmt.format(b)
        print(f"{label:32} {fmt.format(a):>10} {b:>10}")
    ratio = imp_rate / bare_rate if bare else float("nan")
    if bare:
        local_ratio = _rate(created, local_seconds) / bare_rate
        print(
            f"ratio import/bare loop (orders/s): {ratio:.2f} "
            f"(without the searchOrders time: {local_ratio:.2f})"
        )
    per_100 = 100 * order_calls / received if received else 0
    # One call per page of up to 100 orders: ceil(received / 100) calls.
    calls_ok = order_calls <= -(-received // 100)
    print(
        f"SP-API order calls: { {op: calls[op] for op in SP_API_ORDER_CALLS} } = "
        f"{per_100:.2f} per 100 orders received, "
        f"{_per(100 * order_calls, created, '{:.2f}')} per 100 created "
        f"(other requests: "
        f"{ {k: v for k, v in calls.items() if k not in SP_API_ORDER_CALLS} })"
    )
    print_steps("import, by step of the pages", probe.steps, created)
    if bare:
        print_steps("bare loop, by step", r["bare_probe"].steps, created)
    print_batches(probe.batches)
    if args.query_stats:
        print_statements("import", probe, created, args.query_stats)
        if bare:
            print_statements("bare loop", r["bare_probe"], created, args.query_stats)
    print("targets:")
    if bare:
        print(f"  ratio >= {TARGETS['ratio']}: {ratio:.2f} {_verdict(ratio >= 1.5)}")
    qpo_ok = imp_qpo <= TARGETS["queries_per_order"]
    print(f"  queries/order <= 60: {imp_qpo:.1f} {_verdict(qpo_ok)}")
    print(
        f"  1 SP-API call per 100 orders: {per_100:.2f} "
        f"({order_calls} calls for {received} orders) {_verdict(calls_ok)}"
    )
    growth = imp["rss_growth_mb"]
    if args.orders >= 10_000:
        memory = f"{growth:.0f} MB {_verdict(growth < TARGETS['memory_mb_10k'])}"
    else:
        memory = (
            f"{growth:.0f} MB for {args.orders} (not judged below 10,000 orders: "
            f"run --orders 10000)"
        )
    print(f"  peak memory growth < 300 MB for 10,000 orders: {memory}")
    print(
        f"RESULT throughput N={args.orders}: import {imp_rate:.1f} orders/s, "
        + (f"bare loop {bare_rate:.1f} orders/s, ratio {ratio:.2f}, " if bare else "")
        + f"{imp_qpo:.1f} queries/order, {per_100:.2f} SP-API calls/100 orders, "
        f"peak memory +{growth:.0f} MB"
    )
    return ratio


def print_steps(title, steps, created):
    if not steps or not created:
        return
    print(f"{title} (seconds, queries per created order):")
    for name, (seconds, count) in steps.items():
        print(
            f"  {name:28} {seconds:8.1f} s {1000 * seconds / created:7.1f} ms/order "
            f"{count / created:7.1f} q/order"
        )


def print_statements(title, probe, created, top):
    print(f"{title}: the {top} most frequent SQL statements (per created order)")
    for (step, statement), count in probe.statements.most_common(top):
        seconds = probe.statement_seconds[(step, statement)]
        print(
            f"  {count / created:6.2f}/order {1000 * seconds / created:6.1f} ms/order "
            f"[{step}] {statement[:220]}"
        )


def print_batches(batches):
    """Per page: flat queries/order means no query per already imported record."""
    per_order = [b["queries"] / b["created"] for b in batches if b["created"]]
    if not per_order:
        return
    print(
        f"per page ({len(batches)} pages): queries/created order "
        f"min {min(per_order):.1f}, median {statistics.median(per_order):.1f}, "
        f"max {max(per_order):.1f}"
    )
    half = len(batches) // 2 or 1
    for label, part in (
        ("first half", batches[:half]),
        ("second half", batches[half:]),
    ):
        created = sum(b["created"] for b in part)
        if created:
            print(
                f"  {label} of the pages: "
                f"{sum(b['queries'] for b in part) / created:.1f} queries/order, "
                f"{_rate(created, sum(b['seconds'] for b in part)):.1f} orders/s "
                "(page processing only)"
            )
    step = max(1, len(batches) // 10)
    print(
        f"  {'page':>5} {'orders':>7} {'created':>8} {'seconds':>8} "
        f"{'queries':>8} {'q/order':>8}"
    )
    for index, batch in enumerate(batches, start=1):
        if index % step and index not in (1, len(batches)):
            continue
        qpo = batch["queries"] / batch["created"] if batch["created"] else 0
        print(
            f"  {index:>5} {batch['orders']:>7} {batch['created']:>8} "
            f"{batch['seconds']:>8.2f} {batch['queries']:>8} {qpo:>8.1f}"
        )


# --------------------------------------------------------------------------
# Backlog mode
# --------------------------------------------------------------------------


class SimClock:
    """Simulated time shared by the fake and the client's pacer.

    It runs with real time (times the fake's time_scale) while Odoo works, and
    jumps when the client would sleep or while the cron waits for its next run:
    the benchmark does not wait for Amazon's refill rates for real.
    """

    def __init__(self, fake, scale):
        self.fake = fake
        self.scale = scale
        self.origin = time.monotonic()
        self.offset = 0.0
        self.slept = 0.0
        self.sleeps = 0

    def now(self):
        return (time.monotonic() - self.origin) * self.scale + self.offset

    def advance(self, seconds):
        self.offset += seconds
        self.fake.advance(seconds)

    def sleep(self, seconds):
        self.slept += seconds
        self.sleeps += 1
        self.advance(seconds)


def run_backlog(args, registry, fake):
    from odoo.addons.sale_amazon_spapi.amazon import Pacer
    from odoo.addons.sale_amazon_spapi.amazon.mapping import ACTIONABLE_STATUSES

    sim = SimClock(fake, args.time_scale)
    # One pacer for the channel across runs, as the process-wide one would be,
    # on the simulated clock.
    pacer = Pacer(clock=sim.now)

    def factory(cls, account, config, max_wait):
        return cls(
            config, pacer=pacer, max_wait=max_wait, sleep=sim.sleep, clock=sim.now
        )

    probe = Probe()
    with ExitStack() as stack:
        patch_import(stack, registry, probe, factory)
        app = fake.add_app()
        with new_env(registry) as env:
            fba = setup_shop(env)
            account_id = create_channel(env, fake, app, SELLER_ID, "Amazon EU", fba).id
            interval = env["amazon.account"].browse(account_id).import_interval
        print(f"seed: backlog of {args.orders} orders", flush=True)
        seed(fake, args.orders, args.seed, SELLER_ID)
        fake.store.apply_due()
        wanted = {
            ref
            for ref, record in fake.store.orders.items()
            if record.seller_id == SELLER_ID
            and record.order["fulfillment"]["fulfillmentStatus"] in ACTIONABLE_STATUSES
        }
        fake.calls.clear()
        fake.rate_limits_enabled = True
        start = sim.now()
        runs = []
        done_at = None
        for run in range(1, args.max_runs + 1):
            run_start = sim.now()
            real0 = time.perf_counter()
            calls_before = len(fake.calls)
            with new_env(registry) as env:
                account = env["amazon.account"].browse(account_id)
                stats = account._import_orders(commit=True)
                imported = set(created_refs(env, account)) & wanted
            run_calls = Counter(c.operation for c in fake.calls[calls_before:])
            runs.append(
                {
                    "run": run,
                    "start": run_start - start,
                    "real": time.perf_counter() - real0,
                    "search": run_calls["searchOrders"],
                    "created": stats.get("created", 0),
                    "throttled": stats.get("throttled", 0),
                    "imported": len(imported),
                }
            )
            print(
                f"  run {run}: at +{run_start - start:.0f} s simulated, "
                f"{runs[-1]['real']:.1f} s real, {run_calls['searchOrders']} "
                f"searchOrders, {runs[-1]['created']} created, "
                f"throttled={runs[-1]['throttled']}, "
                f"{len(imported)}/{len(wanted)} of the backlog imported",
                flush=True,
            )
            if len(imported) == len(wanted):
                done_at = sim.now()
                break
            # The cron comes back after its interval (the channel's import interval).
            next_run = run_start + interval * 60
            if sim.now() < next_run:
                sim.advance(next_run - sim.now())
    statuses = Counter((c.operation, c.status) for c in fake.calls)
    print()
    print(
        f"== Backlog, {args.orders} seeded orders ({len(wanted)} importable), "
        f"default usage plans, time scale {args.time_scale} =="
    )
    for (operation, status), count in sorted(statuses.items(), key=str):
        print(f"  {operation} HTTP {status}: {count}")
    print(
        f"runs: {len(runs)}, client pacing sleeps: {sim.sleeps} "
        f"({sim.slept:.0f} s simulated), throttled runs: "
        f"{sum(1 for r in runs if r['throttled'])}, "
        f"real processing: {sum(r['real'] for r in runs):.0f} s"
    )
    too_many = statuses.get(("searchOrders", 429), 0)
    if done_at is None:
        print(f"backlog NOT fully imported after {len(runs)} runs")
        print(
            f"RESULT backlog N={args.orders}: not complete after "
            f"{sim.now() - start:.0f} s simulated, target <= 120 s MISSED"
        )
        return
    total = done_at - start
    print(
        f"target: backlog fully imported in <= 2 min simulated: {total:.0f} s "
        f"{_verdict(total <= TARGETS['backlog_seconds'])}"
    )
    print(
        f"RESULT backlog N={args.orders}: fully imported in {total:.0f} s simulated "
        f"({total / 60:.1f} min), {len(runs)} run(s), "
        f"{statuses.get(('searchOrders', 200), 0)} searchOrders, {too_many} HTTP 429, "
        f"{sum(r['throttled'] for r in runs)} client-side throttles"
    )


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, help="seeded orders (1000; backlog 2000)")
    parser.add_argument(
        "--mode", choices=("throughput", "backlog"), default="throughput"
    )
    parser.add_argument(
        "--db", help="database; created with the addon when it does not exist"
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="do not drop the database"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the orders (1)")
    parser.add_argument(
        "--no-bare", action="store_true", help="throughput: skip the bare loop"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="throughput: repeat the comparison on that many fresh channels, each "
        "with its own --orders orders, and print the median ratio (1)",
    )
    parser.add_argument(
        "--bare-plain",
        action="store_true",
        help="throughput: the measured bare loop runs without the import's bulk "
        "context (chatter 'created' messages, tracking and followers as by default)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations (slows both sides down)",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="the fake checks every request/response against Amazon's models "
        "(costs CPU in this process, counted in the import's time)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="backlog: fake seconds per real second while Odoo works (1)",
    )
    parser.add_argument(
        "--profile", help="throughput: cProfile the import into this file"
    )
    parser.add_argument(
        "--query-stats",
        type=int,
        default=0,
        metavar="TOP",
        help="throughput: print the TOP most frequent SQL statements of each side",
    )
    parser.add_argument(
        "--max-runs", type=int, default=50, help="backlog: give up after these runs"
    )
    args = parser.parse_args()
    if args.orders is None:
        args.orders = 2000 if args.mode == "backlog" else 1000
    return args


def main():
    args = parse_args()
    run_tests = _load_run_tests()
    db = args.db or f"{ADDON}_bench_{uuid.uuid4().hex[:8]}"
    created_db = False
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(ROOT, os.path.join(tmp, ADDON))
        addons_path = ",".join([tmp, *run_tests.odoo_addons_paths()])
        try:
            if not db_exists(db):
                created_db = True
                install_addon(
                    run_tests, db, addons_path, os.path.join(tmp, "install.log")
                )
            else:
                print(f"database {db} exists: used as it is (not a fresh database)")
            registry = open_registry(db, addons_path)
            from odoo.addons.sale_amazon_spapi.fake_amazon import FakeAmazon

            fake = FakeAmazon(time_scale=args.time_scale, validate=args.validate)
            with fake:
                if args.mode == "throughput":
                    run_throughput(args, registry, fake)
                else:
                    run_backlog(args, registry, fake)
                if args.validate:
                    print(f"fake: {len(fake.violations)} contract violation(s)")
        finally:
            if created_db and not args.keep_db:
                _drop(db)
            elif created_db:
                print(f"database {db} kept")
    return 0


def _drop(db):
    try:
        from odoo.modules.registry import Registry
        from odoo.sql_db import close_db

        Registry.delete(db)
        close_db(db)
    except ImportError:
        pass
    subprocess.run(["dropdb", "--if-exists", db], check=False)


if __name__ == "__main__":
    sys.exit(main())
