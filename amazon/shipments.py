"""Shipment confirmations (Orders API v0 confirmShipment): pure payload builders.

Odoo turns a validated delivery into plain values (package key, Amazon order
item id, quantity, carrier, tracking numbers); the functions here turn them
into Amazon's ``PackageDetail``, one per package.  No Odoo import, no I/O.
"""

import re
from collections import OrderedDict

from .orders import to_iso

OTHER = "Other"

# Amazon's carrier codes for the carriers sellers use most, keyed by how an
# Odoo delivery method tends to be named (lower case, whole words).  Anything
# else is sent as "Other" with the carrier's own name, which Amazon accepts.
CARRIER_CODES = {
    "amazon shipping": "Amazon Shipping",
    "australia post": "Australia Post",
    "austrian post": "Austrian Post",
    "blue dart": "Blue Dart",
    "bpost": "bpost",
    "brt": "BRT",
    "canada post": "Canada Post",
    "chronopost": "Chronopost",
    "colissimo": "Colissimo",
    "correos": "Correos",
    "deutsche post": "Deutsche Post",
    "dhl": "DHL",
    "dhl ecommerce": "DHL eCommerce",
    "dpd": "DPD",
    "evri": "Evri",
    "fedex": "FedEx",
    "gls": "GLS",
    "hermes": "Hermes",
    "india post": "India Post",
    "inpost": "InPost",
    "japan post": "Japan Post",
    "la poste": "La Poste",
    "ontrac": "OnTrac",
    "parcelforce": "Parcelforce",
    "postnl": "PostNL",
    "poste italiane": "Poste Italiane",
    "purolator": "Purolator",
    "royal mail": "Royal Mail",
    "sagawa": "Sagawa Express",
    "sda": "SDA",
    "seur": "SEUR",
    "swiss post": "Swiss Post",
    "tnt": "TNT",
    "ups": "UPS",
    "usps": "USPS",
    "yamato": "Yamato Transport",
    "yodel": "Yodel",
}
# Odoo's shipping connectors (delivery_type) name their carrier for sure.
DELIVERY_TYPE_CODES = {
    "bpost": "bpost",
    "dhl": "DHL",
    "dhl_rest": "DHL",
    "fedex": "FedEx",
    "fedex_rest": "FedEx",
    "ups": "UPS",
    "ups_rest": "UPS",
    "usps": "USPS",
    "usps_rest": "USPS",
}
_WORDS = re.compile(r"[^\w]+", re.UNICODE)
_TRACKING_SEPARATORS = re.compile(r"[\s,;]+")
_REFERENCE = re.compile(r"[1-9]\d{0,18}")


def _words(text):
    return " ".join(_WORDS.sub(" ", (text or "").casefold()).split())


def carrier_code(name, delivery_type=None):
    """Amazon's carrier code for a carrier named ``name``, or None ("Other").

    The longest known name found as whole words wins: "DHL eCommerce UK" is
    "DHL eCommerce", "DHL Express" is "DHL".
    """
    if delivery_type in DELIVERY_TYPE_CODES:
        return DELIVERY_TYPE_CODES[delivery_type]
    padded = f" {_words(name)} "
    found = [alias for alias in CARRIER_CODES if f" {alias} " in padded]
    if not found:
        return None
    return CARRIER_CODES[max(found, key=len)]


def split_tracking(reference):
    """The tracking numbers in a delivery's tracking reference, in order.

    Shipping connectors store one number per package joined by commas.
    """
    return [part for part in _TRACKING_SEPARATORS.split(reference or "") if part]


def tracking_per_package(reference, packages):
    """One tracking number per package: one each, or the same for all.

    :raise ValueError: several numbers that do not match the packages
    """
    numbers = split_tracking(reference)
    if len(numbers) == packages:
        return numbers
    if len(numbers) <= 1:
        return [numbers[0] if numbers else ""] * packages
    raise ValueError(
        f"{len(numbers)} tracking numbers for {packages} package(s)",
    )


def group_packages(lines):
    """Shipped lines → ``[(package_key, [(order_item_id, quantity), ...])]``.

    ``lines`` are ``(package_key, order_item_id, quantity)``; the key is
    anything hashable (None: goods not in a package, which travel as one
    parcel).  Quantities of one item in one package add up; packages and items
    keep the order in which they first appear.

    :raise ValueError: a quantity that is not a positive whole number
    """
    packages = OrderedDict()
    for key, item_id, quantity in lines:
        if not item_id:
            raise ValueError("an order item id is required")
        if quantity != int(quantity):
            raise ValueError(f"quantity {quantity} of item {item_id} is not whole")
        items = packages.setdefault(key, OrderedDict())
        items[item_id] = items.get(item_id, 0) + int(quantity)
    result = []
    for key, items in packages.items():
        kept = [(item_id, qty) for item_id, qty in items.items() if qty]
        if any(qty < 0 for _item_id, qty in kept):
            raise ValueError("quantities must be positive")
        if kept:
            result.append((key, kept))
    return result


def package_detail(
    reference,
    carrier_code,
    carrier_name,
    tracking_number,
    ship_date,
    items,
    shipping_method=None,
):
    """Amazon's ``PackageDetail`` of one package.

    :param reference: the package reference, unique within the order; Amazon
        accepts positive numbers only
    :param carrier_code: Amazon's carrier code, or None/"Other" to send
        ``carrier_name`` as an "Other" carrier
    :param ship_date: datetime (naive = UTC) or ISO 8601 string
    :param items: ``[(order_item_id, quantity)]``, quantities positive
    :raise ValueError: values Amazon would refuse
    """
    reference = str(reference)
    if not _REFERENCE.fullmatch(reference):
        raise ValueError("the package reference must be a positive number")
    code = carrier_code or OTHER
    name = (carrier_name or "").strip()
    if code == OTHER and not name:
        raise ValueError('a carrier name is required with carrier code "Other"')
    if not items:
        raise ValueError("a package needs at least one order item")
    order_items = []
    for item_id, quantity in items:
        if not item_id or int(quantity) != quantity or quantity <= 0:
            raise ValueError(f"invalid quantity {quantity} of item {item_id!r}")
        order_items.append({"orderItemId": str(item_id), "quantity": int(quantity)})
    if ship_date is None:
        raise ValueError("a ship date is required")
    detail = {
        "packageReferenceId": reference,
        "carrierCode": code,
        "trackingNumber": (tracking_number or "").strip(),
        "shipDate": to_iso(ship_date),
        "orderItems": order_items,
    }
    if name:
        detail["carrierName"] = name[:100]
    if shipping_method:
        detail["shippingMethod"] = str(shipping_method)[:100]
    return detail


def confirmed_references(order):
    """The package references Amazon holds for an order (getOrder, PACKAGES).

    A confirmation whose answer was lost (crash, timeout) went through exactly
    when its reference is among them.
    """
    return {
        str(package.get("packageReferenceId"))
        for package in (order or {}).get("packages") or []
        if package.get("packageReferenceId") is not None
    }
