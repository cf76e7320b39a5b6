"""Run the fake Amazon for a demo: ``python3 -m fake_amazon --port 8900``.

Prints the LWA app credentials, refresh token and endpoints to paste into an
Amazon channel, then serves until Ctrl-C.
"""

import argparse
import hashlib
import signal
import threading
from datetime import timedelta

from . import marketplaces as mkt
from .server import FakeAmazon

STOP = threading.Event()


def _parser():
    parser = argparse.ArgumentParser(prog="python3 -m fake_amazon", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--orders", type=int, default=300, help="orders to seed")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the orders")
    parser.add_argument(
        "--days", type=int, default=30, help="spread orders over N days"
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="fake time speed")
    parser.add_argument(
        "--rate-limits", action="store_true", help="enforce usage plans"
    )
    parser.add_argument("--no-validate", action="store_true", help="skip model checks")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        help="OAuth Redirect URI of the app (repeatable; default: "
        "http://localhost:8069/sale_amazon_spapi/authorize)",
    )
    parser.add_argument(
        "--draft-app", action="store_true", help="consent needs version=beta"
    )
    return parser


def demo_fake(
    seed=1,
    orders=300,
    days=30,
    redirect_uris=None,
    draft=False,
    marketplace_ids=None,
    **options,
):
    """A fake with the demo's app, seller, refresh token and seeded orders (not
    started). ``tools/demo.py`` builds its fake here too.

    :return: (fake, app, seller, refresh_token)
    """
    fake = FakeAmazon(**options)
    # Credentials derive from the seed so a channel configured once keeps
    # working when the demo server is restarted.
    digest = hashlib.sha256(f"fake-amazon-{seed}".encode()).hexdigest()
    app = fake.add_app(
        client_id=f"amzn1.application-oa2-client.{digest[:32]}",
        client_secret=f"amzn1.oa2-cs.v1.{digest[32:]}",
        application_id=f"amzn1.sp.solution.{digest[8:40]}",
        redirect_uris=redirect_uris
        or ["http://localhost:8069/sale_amazon_spapi/authorize"],
        draft=draft,
    )
    # A person walks the demo: show Seller Central's Confirm page.
    fake.consent_confirm = True
    seller = fake.add_seller(marketplace_ids=marketplace_ids)
    refresh_token = fake.add_refresh_token(
        app.client_id, seller.seller_id, token=f"Atzr|IwEBdemo{digest[:40]}"
    )
    fake.seed_orders(
        orders,
        seed=seed,
        marketplace_ids=marketplace_ids,
        start=fake.now() - timedelta(days=days),
    )
    return fake, app, seller, refresh_token


def main(argv=None):
    args = _parser().parse_args(argv)
    fake, app, seller, refresh_token = demo_fake(
        seed=args.seed,
        orders=args.orders,
        days=args.days,
        redirect_uris=args.redirect_uri,
        draft=args.draft_app,
        time_scale=args.time_scale,
        validate=not args.no_validate,
        host=args.host,
        port=args.port,
    )
    fake.rate_limits_enabled = args.rate_limits
    fake.start()
    markets = ", ".join(f"{mkt.get(m).code}={m}" for m in seller.marketplace_ids)
    print(
        "Fake Amazon is running. Paste into the Amazon channel:\n"
        f"  client_id:      {app.client_id}\n"
        f"  client_secret:  {app.client_secret}\n"
        f"  application_id: {app.application_id}\n"
        f"  refresh_token:  {refresh_token}\n"
        f"  seller_id:      {seller.seller_id}\n"
        f"  endpoint:       {fake.base_url}\n"
        f"  lwa_url:        {fake.lwa_url}\n"
        f"  seller_central: {fake.seller_central_url} (Seller Central URL Override)\n"
        f"  redirect_uris:  {', '.join(app.redirect_uris)}\n"
        f"  marketplaces:   {markets}\n"
        f"  orders:         {args.orders} (seed {args.seed}); Ctrl-C to stop",
        flush=True,
    )
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    try:
        while not STOP.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        if fake.violations:
            print("Contract violations seen:\n  " + "\n  ".join(fake.violations))


if __name__ == "__main__":
    main()
