#!/usr/bin/env python3
"""Cost of one pacing reservation: in memory, and in PostgreSQL (shared).

    python3 bench/benchmark_pacing.py [--calls 2000] [--workers 2]

Creates a scratch database ``sale_amazon_spapi_pacing_<random>`` holding only
the pacing table, and drops it at the end. Prints microseconds per
``Pacer.reserve``; a script that prints figures, not a test.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timings(pacer, calls):
    """(median, fastest) microseconds of single reserves: the fastest is what
    an idle machine gives, the median what this one gave."""
    pacer.plans.update({"op": (1e9, 1e9)})
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        pacer.reserve("op", 0)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times), min(times)


def per_call(pacer, calls, workers=1):
    """Microseconds per reserve, ``workers`` threads sharing ``calls``."""
    plans = {"op": (1e9, 1e9)}  # never throttles: measures the store only
    pacer.plans.update(plans)
    barrier = threading.Barrier(workers + 1)

    def run():
        barrier.wait()
        for _ in range(calls // workers):
            pacer.reserve("op", 0)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - start) / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import odoo
    from odoo import sql_db

    addons = tempfile.mkdtemp()
    os.symlink(ROOT, os.path.join(addons, "sale_amazon_spapi"))
    odoo.addons.__path__.append(addons)
    from odoo.addons.sale_amazon_spapi.amazon import Pacer
    from odoo.addons.sale_amazon_spapi.models.amazon_rate_limit import (
        AmazonRateLimit,
        PostgresBucketStore,
    )

    dbname = f"sale_amazon_spapi_pacing_{uuid.uuid4().hex[:8]}"
    with sql_db.db_connect("postgres").cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute(f'CREATE DATABASE "{dbname}"')
    try:
        db = sql_db.db_connect(dbname)
        with db.cursor() as cr:
            AmazonRateLimit.init(
                SimpleNamespace(env=SimpleNamespace(cr=cr), _table="amazon_rate_limit")
            )
        registry = SimpleNamespace(cursor=db.cursor)
        store = PostgresBucketStore(registry, "amazon_rate_limit")
        memory = per_call(Pacer(key="bench"), args.calls)
        per_call(Pacer(key="warm-up", store=store), 50)
        median, fastest = timings(Pacer(key="bench", store=store), args.calls)
        contended = per_call(
            Pacer(key="bench", store=store), args.calls, workers=args.workers
        )
        print(f"memory store:      {memory:8.1f} µs per reserve")
        print(
            f"PostgreSQL store:  {median:8.1f} µs per reserve (one worker, median; "
            f"fastest {fastest:.1f} µs)"
        )
        print(
            f"PostgreSQL store:  {contended:8.1f} µs per reserve "
            f"({args.workers} threads on one bucket, mean)"
        )
    finally:
        sql_db.close_all()
        with sql_db.db_connect("postgres").cursor() as cr:
            cr._cnx.autocommit = True
            cr.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        sql_db.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
