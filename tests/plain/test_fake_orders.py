"""Orders API 2026-01-01, confirmShipment and Sellers on the fake."""

from datetime import datetime, timedelta, timezone

import pytest

from fake_amazon import seed
from fake_amazon.store import iso

UK, DE, US = "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "ATVPDKIKX0DER"
LONG_AGO = "2020-01-01T00:00:00Z"


def _errors(response):
    return [e["code"] for e in response.json()["errors"]]


def _order(fake, **kwargs):
    kwargs.setdefault("created", fake.now() - timedelta(hours=3))
    order = seed.make_order(**kwargs)
    fake.add_order(order)
    return order["orderId"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"createdAfter": LONG_AGO, "lastUpdatedAfter": LONG_AGO},
        {"createdAfter": LONG_AGO, "lastUpdatedBefore": LONG_AGO},
        {"lastUpdatedAfter": LONG_AGO, "createdBefore": LONG_AGO},
        {
            "createdAfter": "2021-01-01T00:00:00Z",
            "createdBefore": "2020-01-01T00:00:00Z",
        },
        {"createdAfter": LONG_AGO, "maxResultsPerPage": 0},
        {"createdAfter": LONG_AGO, "maxResultsPerPage": 101},
        {"createdAfter": LONG_AGO, "marketplaceIds": "NOTAMARKETPLACE"},
    ],
)
def test_search_window_rules(fake_client, params):
    r = fake_client.search(**params)
    assert r.status_code == 400
    assert _errors(r) == ["InvalidInput"]


def test_before_must_be_two_minutes_old(fake, fake_client):
    too_recent = iso(fake.now() - timedelta(seconds=60))
    r = fake_client.search(createdAfter=LONG_AGO, createdBefore=too_recent)
    assert r.status_code == 400
    r = fake_client.search(lastUpdatedAfter=iso(fake.now()))
    assert r.status_code == 400
    ok = iso(fake.now() - timedelta(minutes=3))
    r = fake_client.search(createdAfter=LONG_AGO, createdBefore=ok)
    assert r.status_code == 200
    assert r.json()["createdBefore"] == ok


def test_default_before_is_echoed(fake, fake_client):
    r = fake_client.search(lastUpdatedAfter=LONG_AGO)
    body = r.json()
    assert "createdBefore" not in body
    before = datetime.fromisoformat(body["lastUpdatedBefore"].replace("Z", "+00:00"))
    assert timedelta(minutes=2) <= fake.now() - before < timedelta(minutes=3)
    assert r.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert r.headers["x-amzn-RequestId"]


def test_filters(fake, fake_client):
    mfn = _order(fake, marketplace="UK", status="UNSHIPPED")
    afn = _order(fake, marketplace="DE", status="SHIPPED", fulfilled_by="AMAZON")
    us = _order(fake, marketplace="US", status="CANCELLED")

    def ids(**params):
        r = fake_client.search(createdAfter=LONG_AGO, **params)
        assert r.status_code == 200, r.text
        return {o["orderId"] for o in r.json()["orders"]}

    assert ids() == {mfn, afn, us}
    assert ids(fulfilledBy="AMAZON") == {afn}
    assert ids(fulfillmentStatuses="UNSHIPPED,CANCELLED") == {mfn, us}
    assert ids(marketplaceIds=f"{UK},{US}") == {mfn, us}
    # Repeated keys are read like csv.
    assert ids(marketplaceIds=[UK, DE]) == {mfn, afn}


def test_orders_of_other_sellers_are_invisible(fake, fake_client):
    _order(fake, seller_id="A9OTHERSELLER1")
    assert fake_client.search(createdAfter=LONG_AGO).json()["orders"] == []


def test_pagination_is_stable_and_complete(fake, fake_client):
    fake.seed_orders(45, seed=3, start=fake.now() - timedelta(days=10))
    seen, token, pages = [], None, 0
    while True:
        params = {"createdAfter": LONG_AGO, "maxResultsPerPage": 10}
        if token:
            params["paginationToken"] = token
        body = fake_client.search(**params).json()
        seen += [o["orderId"] for o in body["orders"]]
        pages += 1
        token = body.get("pagination", {}).get("nextToken")
        if not token:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 45
    created = [fake.get_order_dict(i)["createdTime"] for i in seen]
    assert created == sorted(created)


def test_pagination_token_rules(fake, fake_client):
    fake.seed_orders(5, seed=2, start=fake.now() - timedelta(days=2))
    first = fake_client.search(createdAfter=LONG_AGO, maxResultsPerPage=2).json()
    token = first["pagination"]["nextToken"]
    # maxResultsPerPage and includedData may change, the rest may not.
    r = fake_client.search(
        createdAfter=LONG_AGO,
        paginationToken=token,
        maxResultsPerPage=3,
        includedData="BUYER",
    )
    assert r.status_code == 200
    assert len(r.json()["orders"]) == 3
    r = fake_client.search(createdAfter="2021-01-01T00:00:00Z", paginationToken=token)
    assert r.status_code == 400
    fake.advance(24 * 3600 + 1)
    fake_client.access_token = fake_client.token()["access_token"]
    r = fake_client.search(createdAfter=LONG_AGO, paginationToken=token)
    assert r.status_code == 400
    assert "expired" in r.json()["errors"][0]["message"]


def test_included_data(fake, fake_client):
    order_id = _order(
        fake, marketplace="UK", status="SHIPPED", discount="1.00", gift_message="Hi Zoë"
    )
    bare = fake_client.get_order(order_id).json()["order"]
    assert set(bare) == {
        "orderId",
        "createdTime",
        "lastUpdatedTime",
        "salesChannel",
        "orderItems",
    }
    assert set(bare["orderItems"][0]) == {"orderItemId", "quantityOrdered", "product"}
    full = fake_client.get_order(
        order_id, includedData="BUYER,RECIPIENT,PROCEEDS,FULFILLMENT,PACKAGES,PROMOTION"
    ).json()["order"]
    for key in ("buyer", "recipient", "proceeds", "fulfillment", "packages"):
        assert key in full
    item = full["orderItems"][0]
    assert {"proceeds", "fulfillment", "promotion"} <= set(item)
    assert item["fulfillment"]["packing"]["giftOption"]["giftMessage"] == "Hi Zoë"
    assert full["recipient"]["deliveryAddress"]["countryCode"] == "GB"


def test_pending_and_cancelled_orders_have_no_prices(fake, fake_client):
    for status in ("PENDING", "CANCELLED"):
        order_id = _order(fake, status=status)
        order = fake_client.get_order(
            order_id, includedData="PROCEEDS,RECIPIENT"
        ).json()
        order = order["order"]
        assert "proceeds" not in order
        assert "price" not in order["orderItems"][0]["product"]
        assert "proceeds" not in order["orderItems"][0]
        assert ("recipient" in order) is (status == "CANCELLED")


def test_get_order_errors(fake_client):
    assert fake_client.get_order("123-1234567-1234567").status_code == 404
    r = fake_client.get_order("not-an-id")
    assert (r.status_code, _errors(r)) == (400, ["InvalidInput"])


def test_status_change_moves_last_updated(fake, fake_client):
    order_id = _order(fake, status="PENDING")
    before = fake.get_order_dict(order_id)["lastUpdatedTime"]
    fake.advance(600)
    fake.set_status(order_id, "UNSHIPPED")
    after = fake.get_order_dict(order_id)["lastUpdatedTime"]
    assert after > before
    assert after == iso(fake.now()) or after < iso(fake.now())
    fake.advance(180)
    since = datetime.fromisoformat(after.replace("Z", "+00:00")) - timedelta(seconds=1)
    r = fake_client.search(lastUpdatedAfter=iso(since), includedData="FULFILLMENT")
    [order] = r.json()["orders"]
    assert order["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"


def test_seeded_timeline_plays_with_fake_time(fake):
    orders = fake.seed_orders(30, seed=5, start=fake.now() - timedelta(minutes=20))
    pending = [
        o["orderId"]
        for o in orders
        if o["fulfillment"]["fulfillmentStatus"] == "PENDING"
    ]
    assert pending
    fake.advance(5 * 86400)
    statuses = {
        fake.get_order_dict(i)["fulfillment"]["fulfillmentStatus"] for i in pending
    }
    assert statuses - {"PENDING"}


def _shipment(order, **overrides):
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "DHL",
        "carrierName": "DHL",
        "shippingMethod": "DHL Paket",
        "trackingNumber": "00340434161234567890",
        "shipDate": "2026-01-06T10:00:00Z",
        "orderItems": [
            {"orderItemId": i["orderItemId"], "quantity": i["quantityOrdered"]}
            for i in order["orderItems"]
        ],
    }
    detail.update(overrides)
    return {
        "marketplaceId": order["salesChannel"]["marketplaceId"],
        "packageDetail": detail,
    }


def test_confirm_shipment(fake, fake_client):
    order_id = _order(
        fake, marketplace="DE", items=[{"sku": "A", "qty": 2, "unit_price": "5"}]
    )
    order = fake.get_order_dict(order_id)
    path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    partial = _shipment(order)
    partial["packageDetail"]["orderItems"][0]["quantity"] = 1
    r = fake_client.request("POST", path, json=partial)
    assert r.status_code == 204, r.text
    assert r.headers["x-amzn-RateLimit-Limit"] == "2.0"
    assert (
        fake.get_order_dict(order_id)["fulfillment"]["fulfillmentStatus"]
        == "PARTIALLY_SHIPPED"
    )
    rest = _shipment(order, packageReferenceId="2")
    rest["packageDetail"]["orderItems"][0]["quantity"] = 1
    assert fake_client.request("POST", path, json=rest).status_code == 204
    stored = fake.get_order_dict(order_id)
    assert stored["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [p["trackingNumber"] for p in stored["packages"]] == [
        "00340434161234567890"
    ] * 2
    assert len(fake.shipments[order_id]) == 2
    again = fake_client.request("POST", path, json=rest)
    assert again.status_code == 400


def test_confirm_shipment_rejects_bad_bodies(fake, fake_client):
    order_id = _order(fake)
    order = fake.get_order_dict(order_id)
    path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    wrong_market = dict(_shipment(order), marketplaceId=US)
    assert fake_client.request("POST", path, json=wrong_market).status_code == 400
    too_many = _shipment(order)
    too_many["packageDetail"]["orderItems"][0]["quantity"] = 99
    assert fake_client.request("POST", path, json=too_many).status_code == 400
    unknown = "/orders/v0/orders/123-0000000-0000000/shipmentConfirmation"
    assert (
        fake_client.request("POST", unknown, json=_shipment(order)).status_code == 404
    )
    assert (
        fake.get_order_dict(order_id)["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    )


def test_marketplace_participations(fake_client, fake_app):
    r = fake_client.request("GET", "/sellers/v1/marketplaceParticipations")
    assert r.status_code == 200
    ids = [p["marketplace"]["id"] for p in r.json()["payload"]]
    assert ids == fake_app["marketplace_ids"]
    uk = r.json()["payload"][0]
    assert uk["marketplace"]["defaultCurrencyCode"] == "GBP"
    assert uk["participation"]["isParticipating"] is True


def test_access_token_required_and_expires(fake, fake_client):
    unauthorized = {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "",
            }
        ]
    }
    r = fake_client.request(
        "GET", "/sellers/v1/marketplaceParticipations", token="Atza|nope"
    )
    assert (r.status_code, r.json()) == (403, unauthorized)
    fake.advance(3601)
    r = fake_client.request("GET", "/sellers/v1/marketplaceParticipations")
    assert r.status_code == 403
    assert r.json()["errors"][0]["code"] == "Unauthorized"


def test_grantless_token_cannot_read_orders(fake, fake_app, fake_client):
    token = fake_client.token(
        grant_type="client_credentials",
        refresh_token=None,
        scope="sellingpartnerapi::notifications",
    )["access_token"]
    r = fake_client.request("GET", "/orders/2026-01-01/orders", token=token)
    assert r.status_code == 403


def test_customized_url_serves_a_zip(fake, fake_client):
    import io
    import json
    import zipfile

    order_id = _order(
        fake, customization={"text": "Zoë", "font": "Arial", "color": "Red"}
    )
    order = fake_client.get_order(order_id).json()["order"]
    url = order["orderItems"][0]["product"]["customization"]["customizedUrl"]
    assert url.startswith(fake.base_url + "/custom/")
    import requests

    r = requests.get(url, timeout=10)
    assert r.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    item_id = order["orderItems"][0]["orderItemId"]
    info = json.loads(archive.read(f"{item_id}.json"))
    [area] = info["version3.0"]["customizationInfo"]["surfaces"][0]["areas"]
    assert (area["customizationType"], area["text"], area["fontFamily"]) == (
        "TextPrinting",
        "Zoë",
        "Arial",
    )
    assert area["colorName"] == "Red"
    assert f"{item_id}.svg" in archive.namelist()
    assert (
        requests.get(fake.base_url + "/custom/nope.zip", timeout=10).status_code == 404
    )


def test_now_follows_time_scale():
    from fake_amazon import FakeAmazon

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    fake = FakeAmazon(time_scale=3600, validate=False, start_time=start)
    import time

    time.sleep(0.05)
    assert fake.now() - start >= timedelta(seconds=150)
    fake.advance(60)
    assert fake.now() - start >= timedelta(seconds=210)
