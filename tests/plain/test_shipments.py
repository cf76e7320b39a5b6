"""amazon/shipments.py: confirmShipment payloads from plain values."""

from datetime import datetime

import pytest

from amazon import shipments
from fake_amazon import contract


def _detail(**overrides):
    values = {
        "reference": 7,
        "carrier_code": "DHL",
        "carrier_name": "DHL Express",
        "tracking_number": " JJD0001 ",
        "ship_date": datetime(2026, 3, 2, 14, 5),
        "items": [("1111", 2), ("2222", 1)],
        "shipping_method": "Express",
    }
    values.update(overrides)
    return shipments.package_detail(**values)


def test_package_detail_matches_amazons_model():
    detail = _detail()
    assert detail == {
        "packageReferenceId": "7",
        "carrierCode": "DHL",
        "carrierName": "DHL Express",
        "shippingMethod": "Express",
        "trackingNumber": "JJD0001",
        "shipDate": "2026-03-02T14:05:00Z",
        "orderItems": [
            {"orderItemId": "1111", "quantity": 2},
            {"orderItemId": "2222", "quantity": 1},
        ],
    }
    if contract.models_missing_reason() is None:
        body = {"marketplaceId": "A1F83G8C2ARO7P", "packageDetail": detail}
        assert (
            contract.validate_schema("ordersV0", "ConfirmShipmentRequest", body) == []
        )


def test_other_carrier_needs_its_name():
    detail = _detail(carrier_code=None, carrier_name="Speedy Couriers")
    assert detail["carrierCode"] == "Other"
    assert detail["carrierName"] == "Speedy Couriers"
    with pytest.raises(ValueError, match="carrier name"):
        _detail(carrier_code=None, carrier_name=" ")


@pytest.mark.parametrize(
    "overrides",
    [
        {"reference": 0},
        {"reference": "A1"},
        {"reference": "-3"},
        {"items": []},
        {"items": [("1111", 0)]},
        {"items": [("1111", 1.5)]},
        {"items": [("", 1)]},
        {"ship_date": None},
    ],
)
def test_package_detail_refuses_what_amazon_refuses(overrides):
    with pytest.raises(ValueError):
        _detail(**overrides)


@pytest.mark.parametrize(
    "name, delivery_type, code",
    [
        ("DHL Express", "fixed", "DHL"),
        ("DHL eCommerce UK", "fixed", "DHL eCommerce"),
        ("Royal Mail Tracked 24", "base_on_rule", "Royal Mail"),
        ("My FedEx account", "fixed", "FedEx"),
        ("Anything", "ups_rest", "UPS"),
        ("Speedy Couriers", "fixed", None),
        ("Upstairs delivery", "fixed", None),
        ("", None, None),
    ],
)
def test_carrier_code(name, delivery_type, code):
    assert shipments.carrier_code(name, delivery_type) == code


def test_group_packages_adds_up_items_per_package():
    lines = [
        (None, "1111", 1.0),
        ("BOX2", "2222", 1),
        (None, "1111", 2),
        ("BOX2", "1111", 1),
        ("EMPTY", "3333", 0),
    ]
    assert shipments.group_packages(lines) == [
        (None, [("1111", 3)]),
        ("BOX2", [("2222", 1), ("1111", 1)]),
    ]
    with pytest.raises(ValueError, match="not whole"):
        shipments.group_packages([(None, "1111", 0.5)])


def test_tracking_per_package():
    assert shipments.tracking_per_package("A1, B2", 2) == ["A1", "B2"]
    assert shipments.tracking_per_package("A1", 3) == ["A1"] * 3
    assert shipments.tracking_per_package(False, 2) == ["", ""]
    with pytest.raises(ValueError):
        shipments.tracking_per_package("A1;B2;C3", 2)


def test_confirmed_references():
    order = {
        "packages": [
            {"packageReferenceId": "12"},
            {"packageReferenceId": 13},
            {"carrier": "DHL"},
        ]
    }
    assert shipments.confirmed_references(order) == {"12", "13"}
    assert shipments.confirmed_references({}) == set()
