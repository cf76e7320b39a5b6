"""amazon.mapping at the boundary: what PostgreSQL cannot store, address shapes,
business buyers, shipped units, currencies and regions (no Odoo)."""

import copy

import pytest

from amazon import mapping
from fake_amazon.seed import make_order


def _public(order):
    order = copy.deepcopy(order)
    order.pop("_fake", None)
    return order


def _cap(qty=1):
    return {"sku": "CAP", "qty": qty, "unit_price": "10.00", "vat_rate": "0.20"}


def test_sanitize_removes_what_postgresql_refuses_everywhere():
    order = _public(make_order(items=[_cap()], address={"addressLine1": "1 High St\0"}))
    order["orderItems"][0]["product"]["title"] = "Mug \ud800 blue"
    order["odd\0key"] = ["a\0b", {"c": "\udfff"}, 3, None, True]
    clean = mapping.sanitize(order)
    assert clean["recipient"]["deliveryAddress"]["addressLine1"] == "1 High St"
    assert clean["orderItems"][0]["product"]["title"] == "Mug \ufffd blue"
    assert clean["oddkey"] == ["ab", {"c": "\ufffd"}, 3, None, True]
    # Nothing left that psycopg2 could not encode.
    text = repr(clean)
    assert "\\x00" not in text
    str(clean).encode("utf-8")
    assert order["recipient"]["deliveryAddress"]["addressLine1"].endswith("\0")


def test_sanitize_stops_at_hostile_depth():
    node = "leaf"
    for _i in range(200):
        node = [node]
    assert mapping.sanitize(node) is not None


def test_amazon_fulfilled_order_with_city_and_postcode_only():
    order = _public(
        make_order(
            marketplace="US",
            fulfilled_by="AMAZON",
            items=[_cap()],
            address={"name": None, "addressLine1": None, "countryCode": None},
        )
    )
    order["buyer"] = {}
    values = mapping.partner_values(order, default_country="US")
    assert values["anonymous"]
    assert values["delivery"]["country_code"] == "US"
    assert values["delivery"]["street"] is None
    assert values["delivery"]["city"]
    assert values["buyer"]["email"] is None


def test_merchant_order_without_street_is_refused():
    order = _public(make_order(items=[_cap()], address={"addressLine1": None}))
    with pytest.raises(mapping.MappingError) as error:
        mapping.partner_values(order, default_country="GB")
    assert "street" in error.value.message


def test_business_buyer_company_and_vat():
    order = _public(
        make_order(
            items=[_cap()],
            business=True,
            company_name="Acme Ltd",
            purchase_order_number="PO-1",
            buyer_tax_number=" GB999 ",
        )
    )
    values = mapping.partner_values(order)
    assert values["buyer"]["company"] == "Acme Ltd"
    assert values["buyer"]["vat"] == "GB999"
    assert not values["anonymous"]
    assert mapping.order_header(order)["buyer_po"] == "PO-1"


def test_shipped_units_per_item():
    order = _public(make_order(items=[_cap(3), {**_cap(2), "sku": "MUG"}]))
    first, second = order["orderItems"]
    first["fulfillment"].update(quantityFulfilled=1, quantityUnfulfilled=2)
    second["fulfillment"] = {"quantityUnfulfilled": 0}
    assert mapping.shipped_units(order) == {
        first["orderItemId"]: 1,
        second["orderItemId"]: 2,
    }
    lines = mapping.order_lines(order)["lines"]
    assert [line["quantity_shipped"] for line in lines] == [1, 2]
    # Amazon's numbers are bounded by what was ordered.
    first["fulfillment"]["quantityFulfilled"] = 99
    assert mapping.shipped_units(order)[first["orderItemId"]] == 3


def test_currency_of_another_marketplace_is_refused():
    mapping.check_currency("X-1", "GBP", "GBP")
    mapping.check_currency("X-1", "GBP", None)
    with pytest.raises(mapping.MappingError) as error:
        mapping.check_currency("X-1", "EUR", "GBP")
    assert "EUR" in error.value.message and "GBP" in error.value.message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("北海道", "01"),
        ("東京都", "13"),
        ("東京", "13"),
        ("沖縄県", "47"),
        ("Île-de-France", "iledefrance"),
        ("ILE DE FRANCE", "iledefrance"),
        ("Baden-Württemberg", "badenwurttemberg"),
        ("US-CA", "usca"),
        ("", ""),
        (None, ""),
    ],
)
def test_region_key(text, key):
    assert mapping.region_key(text) == key


def test_all_47_prefectures():
    assert sorted(mapping.JP_PREFECTURES.values()) == [f"{n:02d}" for n in range(1, 48)]


def test_stored_copy_has_no_signed_link():
    order = _public(make_order(items=[_cap()]))
    product = order["orderItems"][0]["product"]
    product["customization"] = {
        "customizedUrl": "https://zme-caps.amazon.com/t/x.zip?X-Amz-Signature=abc&a=1"
    }
    stored = mapping.without_signed_links(order)
    url = stored["orderItems"][0]["product"]["customization"]["customizedUrl"]
    assert "X-Amz-Signature" not in url
    assert url.startswith("https://zme-caps.amazon.com/t/x.zip?")
    assert "X-Amz-Signature" in product["customization"]["customizedUrl"], "a copy"
    assert mapping.without_signed_links({"orderItems": [None, {"product": 3}]})


def test_unlikely_quantity_is_refused():
    order = _public(make_order(items=[_cap()]))
    order["orderItems"][0]["quantityOrdered"] = 10**15
    with pytest.raises(mapping.MappingError) as error:
        mapping.order_lines(order)
    assert error.value.code == "bad_quantity"
    order["orderItems"][0]["quantityOrdered"] = "3"
    with pytest.raises(mapping.MappingError):
        mapping.order_lines(order)


def test_huge_text_is_cut():
    clean = mapping.sanitize({"giftMessage": "x" * 10_000_000, "short": "ok"})
    assert len(clean["giftMessage"]) == mapping.MAX_TEXT
    assert clean["giftMessage"].endswith("…")
    assert clean["short"] == "ok"


def test_garbled_ship_window_costs_the_deadline_not_the_order():
    order = _public(make_order(items=[_cap()]))
    order["fulfillment"]["shipByWindow"]["latestDateTime"] = "31/12/2026 25:99"
    header = mapping.order_header(order)
    assert header["latest_ship_date"] is None
    assert header["purchase_date"]
