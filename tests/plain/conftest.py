"""Plain pytest setup: no Odoo.

The addon root is put on ``sys.path`` so that ``amazon`` (the access layer) and
``fake_amazon`` import as top-level packages without importing the addon (and so
Odoo) itself.
"""

import os
import sys

ADDON_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
if ADDON_ROOT not in sys.path:
    sys.path.insert(0, ADDON_ROOT)


# Fixtures around the fake Amazon (fake_amazon/): a started server that fails
# the test at teardown when it saw a request or response the models forbid.

import pytest
import requests

from fake_amazon import FakeAmazon

FAKE_MARKETPLACES = [
    "A1F83G8C2ARO7P",
    "A1PA6795UKMFR9",
    "ATVPDKIKX0DER",
    "A1VC38T7YXB528",
]


@pytest.fixture
def fake():
    server = FakeAmazon(validate=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
    if server.violations:
        pytest.fail(
            "fake Amazon saw contract violations:\n" + "\n".join(server.violations)
        )


@pytest.fixture
def fake_app(fake):
    app = fake.add_app()
    seller = fake.add_seller(marketplace_ids=FAKE_MARKETPLACES)
    refresh_token = fake.add_refresh_token(app.client_id, seller.seller_id)
    return {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "application_id": app.application_id,
        "refresh_token": refresh_token,
        "seller_id": seller.seller_id,
        "marketplace_ids": list(seller.marketplace_ids),
        "endpoint": fake.base_url,
        "lwa_url": fake.lwa_url,
    }


class FakeClient:
    """Bare HTTP calls to the fake, to test it without the access layer."""

    def __init__(self, fake, app):
        self.fake, self.app = fake, app
        self.access_token = self.token()["access_token"]

    def token(self, **form):
        data = {
            "grant_type": "refresh_token",
            "refresh_token": self.app["refresh_token"],
            "client_id": self.app["client_id"],
            "client_secret": self.app["client_secret"],
        }
        data.update(form)
        data = {k: v for k, v in data.items() if v is not None}
        return requests.post(self.fake.lwa_url, data=data, timeout=10).json()

    def request(self, method, path, token=None, **kwargs):
        headers = {"x-amz-access-token": token or self.access_token}
        url = self.fake.base_url + path
        return requests.request(method, url, headers=headers, timeout=10, **kwargs)

    def search(self, **params):
        return self.request("GET", "/orders/2026-01-01/orders", params=params)

    def get_order(self, order_id, **params):
        return self.request(
            "GET", f"/orders/2026-01-01/orders/{order_id}", params=params
        )


@pytest.fixture
def fake_client(fake, fake_app):
    return FakeClient(fake, fake_app)
