"""amazon.mapping: Amazon order → neutral sale order values (no Odoo)."""

import copy
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from amazon import mapping
from fake_amazon.seed import generate_orders, make_malformed_order, make_order


def _public(order):
    order = copy.deepcopy(order)
    order.pop("_fake", None)
    return order


def _total(values):
    charges = sum((n + t for n, t in values["charges"].values()), Decimal(0))
    lines = sum((line["net"] + line["tax"] for line in values["lines"]), Decimal(0))
    return lines + charges


def test_uk_order_with_every_charge_reconciles():
    order = _public(
        make_order(
            marketplace="UK",
            items=[
                {
                    "sku": "TEE-Red-XL",
                    "qty": 2,
                    "unit_price": "12.00",
                    "vat_rate": "0.20",
                }
            ],
            shipping="3.99",
            discount="2.00",
            gift_wrap="1.50",
            gift_message="Happy birthday",
        )
    )
    values = mapping.order_lines(order)
    assert values["currency"] == "GBP"
    assert values["grand_total"] == Decimal(order["proceeds"]["grandTotal"]["amount"])
    assert _total(values) == values["grand_total"]
    (line,) = values["lines"]
    # VAT-inclusive marketplace: the buyer's unit price is net + tax per unit.
    assert line["net"] + line["tax"] == Decimal("24.00")
    assert line["quantity"] == 2 and line["sku"] == "TEE-Red-XL"
    assert set(values["charges"]) == {"SHIPPING", "GIFT_WRAP", "DISCOUNT"}
    assert sum(values["charges"]["SHIPPING"]) == Decimal("3.99")
    assert sum(values["charges"]["DISCOUNT"]) == Decimal("-2.00")
    assert mapping.gift_messages(values["lines"]) == ["Happy birthday"]


def test_us_order_tax_added_on_top():
    order = _public(
        make_order(
            marketplace="US",
            items=[
                {"sku": "MUG", "qty": 3, "unit_price": "10.00", "tax_rate": "0.0825"}
            ],
            shipping="4.99",
        )
    )
    values = mapping.order_lines(order)
    (line,) = values["lines"]
    assert line["net"] == Decimal("30.00")
    assert line["tax"] == Decimal("2.48")
    assert _total(values) == values["grand_total"]


def test_positive_discount_magnitudes_are_understood():
    order = _public(make_order(marketplace="DE", discount="5.00"))
    for node in [order["proceeds"], *(i["proceeds"] for i in order["orderItems"])]:
        for breakdown in node["breakdowns"]:
            if breakdown["type"] == "DISCOUNT":
                amount = Decimal(breakdown["subtotal"]["amount"])
                breakdown["subtotal"]["amount"] = str(abs(amount))
                for detail in breakdown.get("detailedBreakdowns", []):
                    detail["value"]["amount"] = str(
                        abs(Decimal(detail["value"]["amount"]))
                    )
    values = mapping.order_lines(order)
    assert sum(values["charges"]["DISCOUNT"]) < 0
    assert _total(values) == values["grand_total"]


def test_total_mismatch_is_an_error_not_a_fudge():
    order = _public(make_order(marketplace="UK"))
    order["proceeds"]["grandTotal"]["amount"] = str(
        Decimal(order["proceeds"]["grandTotal"]["amount"]) + Decimal("0.01")
    )
    with pytest.raises(mapping.MappingError) as info:
        mapping.order_lines(order)
    assert info.value.code == "total_mismatch"
    assert order["orderId"] in str(info.value)


@pytest.mark.parametrize(
    "kind, code",
    [
        ("missing_address", "missing_address"),
        ("zero_quantity", "zero_quantity"),
        ("no_items", "no_items"),
        ("missing_items_key", "no_items"),
    ],
)
def test_malformed_orders(kind, code):
    order = _public(make_malformed_order(kind))
    with pytest.raises(mapping.MappingError) as info:
        mapping.partner_values(order)
        mapping.order_lines(order)
    assert info.value.code == code


def test_statuses():
    assert (
        mapping.order_action({"fulfillment": {"fulfillmentStatus": "PENDING"}})
        == "skip"
    )
    assert (
        mapping.order_action(
            {"fulfillment": {"fulfillmentStatus": "PENDING_AVAILABILITY"}}
        )
        == "skip"
    )
    assert (
        mapping.order_action({"fulfillment": {"fulfillmentStatus": "CANCELLED"}})
        == "cancel"
    )
    for status in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED"):
        assert (
            mapping.order_action({"fulfillment": {"fulfillmentStatus": status}})
            == "import"
        )
    with pytest.raises(mapping.MappingError):
        mapping.order_action(
            {"orderId": "1", "fulfillment": {"fulfillmentStatus": "LOST"}}
        )


def test_header_and_partner():
    order = _public(
        make_order(
            marketplace="UK",
            prime=True,
            business=True,
            buyer_name="Zoë Müller",
            address={
                "name": "Zoë Müller",
                "addressLine1": "1 Łódź Street",
                "city": "Łódź",
                "countryCode": "PL",
                "stateOrRegion": None,
            },
        )
    )
    header = mapping.order_header(order)
    assert header["order_id"] == order["orderId"]
    assert header["is_prime"] and header["is_business"]
    assert header["purchase_date"].tzinfo is None
    partner = mapping.partner_values(order)
    assert partner["delivery"]["country_code"] == "PL"
    assert partner["delivery"]["city"] == "Łódź"
    assert partner["buyer"]["name"] == "Zoë Müller"


def test_every_generated_order_maps():
    orders = generate_orders(300, seed=7)
    imported = 0
    for order in map(_public, orders):
        if mapping.order_action(order) != "import":
            continue
        values = mapping.order_lines(order)
        mapping.partner_values(order)
        assert _total(values) == values["grand_total"], order["orderId"]
        imported += 1
    assert imported > 200


@pytest.mark.parametrize(
    "amount, qty, expected",
    [
        ("20.00", 2, [(2, "10.00")]),
        ("20.00", 3, [(2, "6.67"), (1, "6.66")]),
        ("7.49", 1, [(1, "7.49")]),
        ("1000", 3, [(2, "333"), (1, "334")]),
    ],
)
def test_split_amount(amount, qty, expected):
    digits = 0 if "." not in amount else 2
    result = mapping.split_amount(Decimal(amount), qty, digits)
    assert [(q, str(p)) for q, p in result] == expected
    assert sum(q * p for q, p in result) == Decimal(amount)


@pytest.mark.parametrize(
    "level, expedited",
    [
        ("STANDARD", False),
        ("FREE_ECONOMY", False),
        ("EXPEDITED", True),
        ("PRIORITY", True),
        ("NEXT_DAY", True),
        ("SECOND_DAY", True),
        ("SAME_DAY", True),
        ("SCHEDULED", True),
    ],
)
def test_header_ship_and_delivery_windows(level, expedited):
    created = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc)
    order = _public(
        make_order(
            service_level=level,
            created=created,
            ship_by=datetime(2026, 11, 3, 23, 59, 59, tzinfo=timezone.utc),
            deliver_by=datetime(2026, 11, 6, 12, tzinfo=timezone.utc),
        )
    )
    header = mapping.order_header(order)
    assert header["service_level"] == level
    assert header["expedited"] is expedited
    assert header["latest_ship_date"] == datetime(2026, 11, 3, 23, 59, 59)
    assert header["latest_delivery_date"] == datetime(2026, 11, 6, 12)


def test_header_without_windows():
    order = _public(make_order())
    del order["fulfillment"]["shipByWindow"], order["fulfillment"]["deliverByWindow"]
    del order["fulfillment"]["fulfillmentServiceLevel"]
    header = mapping.order_header(order)
    assert header["latest_ship_date"] is None
    assert header["latest_delivery_date"] is None
    assert header["service_level"] is None and not header["expedited"]


@pytest.mark.parametrize(
    "net, tax, expected",
    [
        ("10.00", "2.00", Decimal("0.2")),
        ("0", "0", Decimal(0)),
        ("0", "0.01", None),
        ("100", "19", Decimal("0.19")),
    ],
)
def test_effective_rate(net, tax, expected):
    assert mapping.effective_rate(Decimal(net), Decimal(tax)) == expected


@pytest.mark.parametrize(
    "marketplace, rate, inclusive, wrong",
    [
        ("UK", "20", True, "15"),
        ("FR", "20", True, "19"),
        ("DE", "19", True, "20"),
        ("US", "10.1", False, "10"),
        ("JP", "10", True, "8"),
    ],
)
def test_amazon_tax_fits_its_rate_per_line_and_charge(
    marketplace, rate, inclusive, wrong
):
    order = _public(
        make_order(
            marketplace=marketplace,
            items=[
                {"sku": "MUG", "qty": 3, "unit_price": "1299"}
                if marketplace == "JP"
                else {"sku": "MUG", "qty": 3, "unit_price": "12.99"},
                {"sku": "CAP", "qty": 1, "unit_price": "870"}
                if marketplace == "JP"
                else {"sku": "CAP", "qty": 1, "unit_price": "8.70"},
            ],
            shipping="500" if marketplace == "JP" else "3.99",
            discount="100" if marketplace == "JP" else "1.00",
            address={"stateOrRegion": "WA"} if marketplace == "US" else None,
        )
    )
    values = mapping.order_lines(order)
    quantum = Decimal(1) if marketplace == "JP" else Decimal("0.01")
    for line in values["lines"]:
        net, tax, qty = line["net"], line["tax"], line["quantity"]
        item_rate = mapping.closest_rate(
            net, tax, [wrong, rate], inclusive, quantum, qty
        )
        assert item_rate == rate
        for net, tax in line["charges"].values():
            assert tax, "the fake taxes every amount here"
            assert mapping.rate_fits(net, tax, rate, inclusive, quantum)
            # Small charges may fit both rates: the item's rate wins.
            assert (
                mapping.closest_rate(
                    net, tax, [wrong, rate], inclusive, quantum, preferred=item_rate
                )
                == rate
            )
        assert line["facilitator"] is (marketplace == "US")
    # The items' own charges add up to the order's.
    for kind, (net, tax) in values["charges"].items():
        assert net == sum(line["charges"][kind][0] for line in values["lines"])
        assert tax == sum(line["charges"][kind][1] for line in values["lines"])


def test_rate_fits_within_half_a_cent_per_unit():
    # 3 × 0.99 at 20 % on top: 0.594, Amazon rounding each unit gives 0.60.
    assert mapping.rate_fits(
        Decimal("2.97"), Decimal("0.60"), 20, False, Decimal("0.01"), 3
    )
    assert not mapping.rate_fits(
        Decimal("2.97"), Decimal("0.62"), 20, False, Decimal("0.01"), 3
    )
