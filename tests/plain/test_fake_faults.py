"""Usage plans (429) and injected faults on the fake."""

import time
from datetime import timedelta

import pytest
import requests

from fake_amazon import FakeAmazon, seed

LONG_AGO = "2020-01-01T00:00:00Z"
QUOTA = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}


def _order(fake):
    order = seed.make_order(created=fake.now() - timedelta(hours=1))
    fake.add_order(order)
    return order["orderId"]


def test_rate_limits_off_by_default(fake, fake_client):
    order_id = _order(fake)
    assert all(fake_client.get_order(order_id).status_code == 200 for _ in range(35))


def test_get_order_burst_then_429(fake, fake_client):
    fake.rate_limits_enabled = True
    order_id = _order(fake)
    statuses = [fake_client.get_order(order_id).status_code for _ in range(31)]
    assert statuses == [200] * 30 + [429]
    r = fake_client.get_order(order_id)
    assert r.json() == QUOTA
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.5"
    fake.advance(2)  # 0.5 request per second refills one token
    assert fake_client.get_order(order_id).status_code == 200
    assert fake_client.get_order(order_id).status_code == 429


def test_search_orders_refill_with_time_scale():
    # 0.0056 req/s is one request per ~179 s of fake time: ~1.8 s at 100x.
    with FakeAmazon(time_scale=100) as fake:
        app = fake.add_app()
        form = {
            "grant_type": "refresh_token",
            "refresh_token": fake.add_refresh_token(app.client_id),
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
        access = requests.post(fake.lwa_url, data=form, timeout=10).json()[
            "access_token"
        ]
        fake.rate_limits_enabled = True

        def search():
            return requests.get(
                fake.base_url + "/orders/2026-01-01/orders",
                params={"createdAfter": LONG_AGO},
                headers={"x-amz-access-token": access},
                timeout=10,
            )

        assert [search().status_code for _ in range(20)] == [200] * 20
        r = search()
        assert (r.status_code, r.json()) == (429, QUOTA)
        assert r.headers["x-amzn-RateLimit-Limit"] == "0.0056"
        time.sleep(1.9)
        assert search().status_code == 200
        assert fake.violations == []


def test_buckets_are_per_operation_and_seller(fake, fake_app, fake_client):
    fake.rate_limits_enabled = True
    for _ in range(15):
        fake_client.request("GET", "/sellers/v1/marketplaceParticipations")
    r = fake_client.request("GET", "/sellers/v1/marketplaceParticipations")
    assert r.status_code == 429
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.016"
    assert fake_client.search(createdAfter=LONG_AGO).status_code == 200


def test_usage_plan_can_be_set_per_fake(fake, fake_client):
    # The soak gives the fake fast plans: advertised and enforced.
    fake.rate_limits_enabled = True
    order_id = _order(fake)
    # One token per 100 s: however slow this machine, nothing refills in
    # real time between the requests; the fake's clock is advanced instead.
    fake.set_usage_plan("getOrder", 0.01, 2)
    statuses = [fake_client.get_order(order_id).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    r = fake_client.get_order(order_id)
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.01"
    fake.advance(100)
    assert fake_client.get_order(order_id).status_code == 200
    with FakeAmazon(validate=False) as other:
        assert other.store.usage_plans["getOrder"] == (0.5, 30)
    with pytest.raises(ValueError):
        fake.set_usage_plan("getOrders", 1, 1)


@pytest.mark.parametrize("status", [500, 503, 403, 404, 429])
def test_status_fault(fake, fake_client, status):
    fake.inject_fault("searchOrders", "status", status=status)
    r = fake_client.search(createdAfter=LONG_AGO)
    assert r.status_code == status
    assert r.json()["errors"][0]["code"]
    assert fake_client.search(createdAfter=LONG_AGO).status_code == 200
    assert [c.status for c in fake.calls_to("searchOrders")] == [status, 200]


def test_fault_times_and_wildcard(fake, fake_client):
    order_id = _order(fake)
    fake.inject_fault("*", "status", times=2, status=503)
    assert fake_client.get_order(order_id).status_code == 503
    r = fake_client.request("GET", "/sellers/v1/marketplaceParticipations")
    assert r.status_code == 503
    assert fake_client.get_order(order_id).status_code == 200


def test_slow_fault(fake, fake_client):
    fake.inject_fault("getMarketplaceParticipations", "slow", delay=0.3)
    started = time.monotonic()
    r = fake_client.request("GET", "/sellers/v1/marketplaceParticipations")
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        fake.inject_fault("getMarketplaceParticipations", "slow", delay=1)
        requests.get(
            fake.base_url + "/sellers/v1/marketplaceParticipations",
            headers={"x-amz-access-token": fake_client.access_token},
            timeout=0.2,
        )


def test_reset_fault(fake, fake_client):
    order_id = _order(fake)
    fake.inject_fault("getOrder", "reset")
    with pytest.raises(requests.ConnectionError):
        fake_client.get_order(order_id)
    assert fake_client.get_order(order_id).status_code == 200
    assert [c.status for c in fake.calls_to("getOrder")] == [None, 200]


def test_malformed_fault(fake, fake_client):
    fake.inject_fault("searchOrders", "malformed")
    r = fake_client.search(createdAfter=LONG_AGO)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()


def test_expired_token_fault_waits_for_a_pagination_token(fake, fake_client):
    fake.seed_orders(4, seed=9, start=fake.now() - timedelta(days=1))
    fake.inject_fault("searchOrders", "expired_token")
    first = fake_client.search(createdAfter=LONG_AGO, maxResultsPerPage=2)
    assert first.status_code == 200
    token = first.json()["pagination"]["nextToken"]
    r = fake_client.search(createdAfter=LONG_AGO, paginationToken=token)
    assert r.status_code == 400
    assert "expired" in r.json()["errors"][0]["message"]


def test_token_faults(fake, fake_app, fake_client):
    fake.inject_fault("token", "status", status=500)
    assert fake_client.token() == {
        "error": "server_error",
        "error_description": "The server encountered an error",
    }
    fake.inject_fault("token", "malformed")
    r = requests.post(
        fake.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": fake_app["refresh_token"],
            "client_id": fake_app["client_id"],
            "client_secret": fake_app["client_secret"],
        },
        timeout=10,
    )
    with pytest.raises(ValueError):
        r.json()


def test_customization_faults(fake, fake_client):
    order = seed.make_order(
        created=fake.now() - timedelta(hours=1), customization={"text": "Łódź"}
    )
    fake.add_order(order)
    served = fake_client.get_order(order["orderId"]).json()["order"]
    url = served["orderItems"][0]["product"]["customization"]["customizedUrl"]
    fake.inject_fault("customization", "status", status=503)
    assert requests.get(url, timeout=10).status_code == 503
    fake.inject_fault("customization", "malformed")
    import io
    import zipfile

    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(requests.get(url, timeout=10).content))


def test_unknown_fault_kind_rejected(fake):
    with pytest.raises(ValueError):
        fake.inject_fault("searchOrders", "explode")
    with pytest.raises(ValueError):
        fake.inject_fault("listFoo", "status")
