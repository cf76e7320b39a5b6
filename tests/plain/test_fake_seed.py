"""Seeded and hand-made orders: money invariants, variety, determinism."""

import io
import json
import zipfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from fake_amazon import contract, custom_zip, seed
from fake_amazon import marketplaces as mkt
from fake_amazon.money import check_money

END = datetime(2026, 11, 1, tzinfo=timezone.utc)
START = datetime(2026, 9, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def orders():
    return seed.generate_orders(500, seed=1, start=START, end=END)


def _inclusive(order):
    return mkt.get(order["salesChannel"]["marketplaceId"]).tax_inclusive


def test_money_invariants_hold_for_every_priced_order(orders):
    priced = [o for o in orders if "proceeds" in o]
    assert len(priced) == 500  # stored orders keep all data; serving hides it
    problems = [p for o in priced for p in check_money(o, _inclusive(o))]
    assert problems == []


def test_grand_total_equals_breakdowns_to_the_cent(orders):
    for order in orders:
        proceeds = order["proceeds"]
        total = sum(Decimal(b["subtotal"]["amount"]) for b in proceeds["breakdowns"])
        assert Decimal(proceeds["grandTotal"]["amount"]) == total
        exponent = Decimal(proceeds["grandTotal"]["amount"]).as_tuple().exponent
        expected = 0 if proceeds["grandTotal"]["currencyCode"] == "JPY" else -2
        assert exponent == expected


def test_seeded_orders_validate_against_the_model(orders):
    if contract.models_missing_reason():
        pytest.skip(contract.models_missing_reason())
    problems = []
    for order in orders:
        public = seed.public_copy(order)
        problems += contract.validate_schema("orders_2026-01-01", "Order", public)
    assert problems == []


def test_variety(orders):
    markets = Counter(mkt.get(o["salesChannel"]["marketplaceId"]).code for o in orders)
    assert set(markets) == set(mkt.SEEDED)
    currencies = {o["proceeds"]["grandTotal"]["currencyCode"] for o in orders}
    assert {"GBP", "EUR", "SEK", "PLN", "USD", "CAD", "MXN", "JPY", "AUD"} <= currencies
    by = Counter(o["fulfillment"]["fulfilledBy"] for o in orders)
    assert by["MERCHANT"] > by["AMAZON"] > 50
    statuses = Counter(o["fulfillment"]["fulfillmentStatus"] for o in orders)
    assert {"SHIPPED", "CANCELLED", "UNSHIPPED", "PENDING"} <= set(statuses)
    types = Counter(b["type"] for o in orders for b in o["proceeds"]["breakdowns"])
    assert {"ITEM", "SHIPPING", "GIFT_WRAP", "DISCOUNT", "TAX"} <= set(types)
    programs = Counter(p for o in orders for p in o.get("programs", []))
    assert programs["PRIME"] and programs["AMAZON_BUSINESS"]
    assert any(len(o["orderItems"]) > 2 for o in orders)
    assert any(i["quantityOrdered"] > 1 for o in orders for i in o["orderItems"])
    assert any("customization" in i["product"] for o in orders for i in o["orderItems"])
    gifts = [
        i["fulfillment"]["packing"]["giftOption"]
        for o in orders
        for i in o["orderItems"]
        if "packing" in i.get("fulfillment", {})
    ]
    assert any("giftMessage" in g for g in gifts) and any(
        "giftWrapLevel" in g for g in gifts
    )
    names = " ".join(o["buyer"]["buyerName"] for o in orders)
    assert "ü" in names or "ł" in names.lower() or "山" in names
    assert any(o["lastUpdatedTime"] > o["createdTime"] for o in orders)
    assert any("orderAliases" not in o for o in orders)
    assert any("orderAliases" in o for o in orders)


def test_deterministic(orders):
    again = seed.generate_orders(500, seed=1, start=START, end=END)
    assert again == orders
    other = seed.generate_orders(500, seed=2, start=START, end=END)
    assert other != orders


def test_make_order_uk_vat_inclusive():
    order = seed.make_order(
        marketplace="UK",
        items=[
            {"sku": "TEE-Red-XL", "qty": 2, "unit_price": "12.00", "vat_rate": "0.20"}
        ],
        status="UNSHIPPED",
        shipping="3.99",
        discount="2.00",
        gift_wrap="1.50",
        gift_message="Happy birthday",
        customization={"text": "Zoë", "font": "Arial", "color": "Red"},
        buyer_name="Zoë Müller",
        address={"city": "Łódź", "countryCode": "PL", "postalCode": "90-006"},
    )
    assert check_money(order, tax_inclusive=True) == []
    # 24.00 + 3.99 + 1.50 - 2.00, everything VAT-inclusive on amazon.co.uk.
    assert order["proceeds"]["grandTotal"] == {"amount": "27.49", "currencyCode": "GBP"}
    totals = {
        b["type"]: b["subtotal"]["amount"] for b in order["proceeds"]["breakdowns"]
    }
    assert totals == {
        "ITEM": "20.00",
        "SHIPPING": "3.32",
        "GIFT_WRAP": "1.25",
        "DISCOUNT": "-1.67",
        "TAX": "4.59",
    }
    item = order["orderItems"][0]
    assert item["product"]["price"]["unitPrice"] == {
        "amount": "12.00",
        "currencyCode": "GBP",
    }
    assert (
        item["fulfillment"]["packing"]["giftOption"]["giftMessage"] == "Happy birthday"
    )
    assert order["recipient"]["deliveryAddress"]["city"] == "Łódź"
    assert order["buyer"]["buyerName"] == "Zoë Müller"


def test_make_order_us_tax_added():
    order = seed.make_order(
        marketplace="US",
        items=[{"sku": "MUG", "qty": 3, "unit_price": "10.00", "tax_rate": "0.10"}],
        shipping="5.00",
    )
    assert check_money(order, tax_inclusive=False) == []
    totals = {
        b["type"]: b["subtotal"]["amount"] for b in order["proceeds"]["breakdowns"]
    }
    assert totals == {"ITEM": "30.00", "SHIPPING": "5.00", "TAX": "3.50"}
    assert order["proceeds"]["grandTotal"]["amount"] == "38.50"


def test_make_order_spreads_order_amounts_over_items():
    order = seed.make_order(
        marketplace="DE",
        items=[
            {"sku": "A", "qty": 1, "unit_price": "10.00"},
            {"sku": "B", "qty": 2, "unit_price": "10.00"},
        ],
        shipping="4.99",
        discount="3.00",
    )
    assert check_money(order, tax_inclusive=True) == []
    assert order["proceeds"]["grandTotal"]["amount"] == "31.99"


def test_jpy_has_no_decimals():
    order = seed.make_order(
        marketplace="JP",
        items=[{"sku": "A", "qty": 3, "unit_price": "1980"}],
        shipping="500",
    )
    assert check_money(order, tax_inclusive=True) == []
    assert order["proceeds"]["grandTotal"]["amount"] == "6440"


def test_check_money_catches_a_wrong_total():
    order = seed.make_order(marketplace="FR")
    order["proceeds"]["grandTotal"]["amount"] = "1.00"
    assert check_money(order, True)


@pytest.mark.parametrize("kind", seed.MALFORMED_KINDS)
def test_malformed_orders(fake, kind):
    order = seed.make_malformed_order(kind, created=fake.now())
    fake.add_order(order, validate=False)
    stored = fake.get_order_dict(order["orderId"])
    assert stored["orderId"] == order["orderId"]


def test_add_order_rejects_schema_invalid_orders(fake):
    order = seed.make_malformed_order("missing_items_key")
    with pytest.raises(ValueError):
        fake.add_order(order)


def test_custom_zip_layouts():
    order = seed.make_order(
        customization={
            "text": "さくら",
            "font": "Lobster",
            "color": "Blue",
            "image": "p.png",
        }
    )
    item = order["orderItems"][0]
    spec = order["_fake"]["customizations"][item["orderItemId"]]
    archive = zipfile.ZipFile(io.BytesIO(custom_zip.build_zip(order, item, spec)))
    info = json.loads(archive.read(f"{item['orderItemId']}.json"))
    areas = info["version3.0"]["customizationInfo"]["surfaces"][0]["areas"]
    kinds = [a["customizationType"] for a in areas]
    assert kinds == ["TextPrinting", "ImagePrinting"]
    legacy = info["customizationData"]["children"][0]["children"][0]["children"]
    assert [n["type"] for n in legacy] == ["TextCustomization", "ImageCustomization"]
    text = legacy[0]
    assert text["inputValue"] == "さくら"
    assert [c["type"] for c in text["children"]] == [
        "FontCustomization",
        "ColorCustomization",
    ]
    assert archive.read("p.png").startswith(b"\x89PNG")


@pytest.mark.parametrize("level", sorted(seed.PROMISES) + ["STANDARD", "SCHEDULED"])
def test_service_levels_promise_windows_in_the_model(level):
    created = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    order = seed.make_order(service_level=level, created=created)
    fulfillment = order["fulfillment"]
    assert fulfillment["fulfillmentServiceLevel"] == level
    ship_by = fulfillment["shipByWindow"]["latestDateTime"]
    deliver_by = fulfillment["deliverByWindow"]["latestDateTime"]
    assert seed._iso(created) < ship_by < deliver_by
    if level in ("SAME_DAY", "NEXT_DAY"):
        assert ship_by.startswith("2026-11-02")
    if contract.models_missing_reason():
        return
    public = seed.public_copy(order)
    assert contract.validate_schema("orders_2026-01-01", "Order", public) == []


def test_fake_moves_the_ship_window(fake):
    order = seed.make_order(created=fake.now())
    fake.add_order(order)
    before = fake.get_order_dict(order["orderId"])
    later = fake.now() + timedelta(days=3)
    fake.advance(60)
    fake.set_ship_window(order["orderId"], later, later + timedelta(days=2))
    after = fake.get_order_dict(order["orderId"])
    assert after["fulfillment"]["shipByWindow"]["latestDateTime"] == seed._iso(later)
    assert after["fulfillment"]["deliverByWindow"]["latestDateTime"] == seed._iso(
        later + timedelta(days=2)
    )
    assert after["lastUpdatedTime"] > before["lastUpdatedTime"]
    public = seed.public_copy(after)
    if not contract.models_missing_reason():
        assert contract.validate_schema("orders_2026-01-01", "Order", public) == []
