"""The fake's confirmShipment: what Amazon accepts, refuses and records."""

from datetime import timedelta

import pytest

from fake_amazon import seed

UK = "A1F83G8C2ARO7P"


def _order(fake, status="UNSHIPPED", **kwargs):
    kwargs.setdefault("created", fake.now() - timedelta(hours=3))
    kwargs.setdefault("marketplace", "UK")
    kwargs.setdefault(
        "items",
        [
            {"sku": "A", "qty": 3, "unit_price": "5"},
            {"sku": "B", "qty": 1, "unit_price": "8"},
        ],
    )
    order = seed.make_order(status=status, **kwargs)
    fake.add_order(order)
    return fake.get_order_dict(order["orderId"])


def _body(order, reference="1", items=None, **detail):
    values = {
        "packageReferenceId": reference,
        "carrierCode": "Royal Mail",
        "trackingNumber": "RM123456785GB",
        "shipDate": "2026-01-06T10:00:00Z",
        "orderItems": [
            {"orderItemId": order["orderItems"][index]["orderItemId"], "quantity": qty}
            for index, qty in (items or [(0, 3), (1, 1)])
        ],
    }
    values.update(detail)
    return {
        "marketplaceId": order["salesChannel"]["marketplaceId"],
        "packageDetail": values,
    }


def _confirm(fake_client, order, body):
    path = f"/orders/v0/orders/{order['orderId']}/shipmentConfirmation"
    return fake_client.request("POST", path, json=body)


def _errors(response):
    return [(e["code"], e["message"]) for e in response.json()["errors"]]


def test_two_packages_then_shipped_and_searchable(fake, fake_client):
    order = _order(fake)
    first = _confirm(fake_client, order, _body(order, "1", [(0, 1), (0, 1)]))
    assert first.status_code == 204, first.text
    stored = fake.get_order_dict(order["orderId"])
    assert stored["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    assert stored["orderItems"][0]["fulfillment"] == {
        "quantityFulfilled": 2,
        "quantityUnfulfilled": 1,
    }
    # One package line per item, however the seller listed them.
    assert stored["packages"][-1]["packageItems"] == [
        {"orderItemId": order["orderItems"][0]["orderItemId"], "quantity": 2}
    ]
    second = _confirm(
        fake_client,
        order,
        _body(order, "2", [(0, 1), (1, 1)], carrierCode="Other", carrierName="Speedy"),
    )
    assert second.status_code == 204, second.text
    stored = fake.get_order_dict(order["orderId"])
    assert stored["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert [p["packageReferenceId"] for p in stored["packages"]] == ["1", "2"]
    assert stored["packages"][-1]["carrier"] == "Speedy"
    # What was received, as received.
    sent = fake.shipments[order["orderId"]]
    assert [b["packageDetail"]["packageReferenceId"] for b in sent] == ["1", "2"]
    # The next import (by last update, at least two minutes later) sees it.
    fake.advance(180)
    since = (fake.now() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = fake_client.search(
        lastUpdatedAfter=since,
        marketplaceIds=UK,
        includedData=["PACKAGES", "FULFILLMENT"],
    ).json()["orders"]
    assert [o["orderId"] for o in found] == [order["orderId"]]
    assert found[0]["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert len(found[0]["packages"]) == 2


@pytest.mark.parametrize(
    "change, message",
    [
        ({"items": [(0, 4)]}, "Invalid quantity"),
        ({"items": [(0, 2), (0, 2)]}, "Invalid quantity"),
        ({"reference": "0"}, "positive number"),
        ({"reference": "BOX1"}, "positive number"),
        ({"carrierCode": "Other"}, "carrierName is required"),
        ({"items": []}, "at least one order item"),
    ],
)
def test_refusals(fake, fake_client, change, message):
    order = _order(fake)
    change = dict(change)
    items = change.pop("items", None)
    body = _body(order, change.pop("reference", "1"), items, **change)
    if items == []:
        body["packageDetail"]["orderItems"] = []
    response = _confirm(fake_client, order, body)
    assert response.status_code == 400
    assert any(message in text for _code, text in _errors(response))
    stored = fake.get_order_dict(order["orderId"])
    assert stored["fulfillment"]["fulfillmentStatus"] == "UNSHIPPED"
    assert not stored.get("packages")
    assert order["orderId"] not in fake.shipments
    # The refused body is on record all the same.
    assert fake.calls_to("confirmShipment")[-1].status == 400


def test_unknown_item_and_reused_reference(fake, fake_client):
    order = _order(fake)
    body = _body(order, "5", [(0, 1)])
    body["packageDetail"]["orderItems"][0]["orderItemId"] = "99999999999999"
    response = _confirm(fake_client, order, body)
    assert response.status_code == 400
    assert _errors(response) == [
        ("InvalidInput", "Unknown orderItemId 99999999999999.")
    ]
    assert _confirm(fake_client, order, _body(order, "5", [(0, 1)])).status_code == 204
    again = _confirm(fake_client, order, _body(order, "5", [(1, 1)]))
    assert again.status_code == 400
    assert "already confirmed" in _errors(again)[0][1]
    assert len(fake.shipments[order["orderId"]]) == 1


@pytest.mark.parametrize("status", ["PENDING", "SHIPPED", "CANCELLED"])
def test_only_unshipped_orders(fake, fake_client, status):
    order = _order(fake, status=status)
    response = _confirm(fake_client, order, _body(order))
    assert response.status_code == 400
    assert f"status {status}" in _errors(response)[0][1]
    assert (
        fake.get_order_dict(order["orderId"])["fulfillment"]["fulfillmentStatus"]
        == status
    )


def test_fba_orders_refused(fake, fake_client):
    order = _order(fake, fulfilled_by="AMAZON")
    response = _confirm(fake_client, order, _body(order))
    assert response.status_code == 400
    assert "fulfilled by Amazon" in _errors(response)[0][1]


def test_off_contract_body_is_a_violation(fake, fake_client):
    order = _order(fake)
    body = _body(order)
    del body["packageDetail"]["trackingNumber"]
    body["packageDetail"]["orderItems"][0]["quantity"] = "3"
    response = _confirm(fake_client, order, body)
    assert response.status_code == 400
    problems = fake.take_violations()
    assert any("trackingNumber" in p for p in problems)
    assert any("quantity" in p for p in problems)
