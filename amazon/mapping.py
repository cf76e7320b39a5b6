"""Amazon order (Orders API 2026-01-01) → neutral values for a sale order.

Pure functions: no Odoo, no HTTP. The Odoo side resolves the neutral values
(country codes, SKUs, currency codes) to records.

Money: Amazon documents neither whether ``unitPrice`` includes VAT nor the sign
of DISCOUNT subtotals, so nothing here relies on either. Each order item's
``proceeds.breakdowns`` give the net amount per type (ITEM, SHIPPING,
GIFT_WRAP, DISCOUNT, anything else) and TAX gives the tax, split per subtype
by its ``detailedBreakdowns``. The parts must add up to ``proceeds.grandTotal``
to the cent: the sign of DISCOUNT is taken as the one that makes them add up
(Amazon's examples show negative discounts, some reports positive ones), and
an order that adds up neither way is an error, never a total to fudge.
"""

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from .errors import AmazonError, _lt

PENDING_STATUSES = ("PENDING", "PENDING_AVAILABILITY")
CANCELLED_STATUSES = ("CANCELLED", "UNFULFILLABLE")
ACTIONABLE_STATUSES = ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")
CHARGE_TYPES = ("SHIPPING", "GIFT_WRAP", "DISCOUNT")
# Service levels faster than Amazon's standard promise (fulfillmentServiceLevel
# of Orders API 2026-01-01); STANDARD and FREE_ECONOMY are the slow ones.
EXPEDITED_SERVICE_LEVELS = frozenset(
    ("EXPEDITED", "PRIORITY", "NEXT_DAY", "SECOND_DAY", "SAME_DAY", "SCHEDULED")
)


MESSAGES = {
    "no_items": _lt("Amazon order %(order)s has no items."),
    "zero_quantity": _lt(
        "Item %(item)s (SKU %(sku)s) of Amazon order %(order)s has no quantity."
    ),
    "missing_address": _lt(
        "Amazon order %(order)s has no usable delivery address (%(detail)s)."
    ),
    "missing_prices": _lt(
        "Amazon order %(order)s is %(status)s but carries no prices (proceeds)."
    ),
    "bad_amount": _lt("Amazon order %(order)s has an unreadable amount: %(detail)s."),
    "mixed_currencies": _lt(
        "Amazon order %(order)s mixes currencies (%(currencies)s)."
    ),
    "total_mismatch": _lt(
        "The parts of Amazon order %(order)s add up to %(parts)s %(currency)s, not to "
        "its grand total of %(total)s %(currency)s: the order was not imported."
    ),
    "unknown_status": _lt(
        "Amazon order %(order)s has an unknown fulfilment status %(status)s."
    ),
}


# PostgreSQL text refuses NUL, and psycopg2 cannot encode lone surrogates
# (JSON allows both): either would abort the transaction of the whole page.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value):
    """``value`` without the characters PostgreSQL cannot store.

    NUL is dropped; a lone surrogate becomes U+FFFD, so that the reader sees
    where something was.
    """
    if not isinstance(value, str) or not _UNSTORABLE.search(value):
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def sanitize(node, _depth=0):
    """A copy of an Amazon payload whose strings (keys too) PostgreSQL can store.

    Applied once to every order at the boundary, so that nothing Amazon sends
    can fail the database later, in a partner, a line, a note or the log.
    """
    if _depth > 64:
        # Amazon's orders are a few levels deep; deeper is hostile, not data.
        return None
    if isinstance(node, str):
        return clean_text(node)
    if isinstance(node, dict):
        return {
            clean_text(key): sanitize(value, _depth + 1) for key, value in node.items()
        }
    if isinstance(node, list | tuple):
        return [sanitize(value, _depth + 1) for value in node]
    return node


class MappingError(AmazonError):
    """An Amazon order that cannot become a sale order as it is."""

    def __init__(self, code, **params):
        super().__init__(code, MESSAGES[code], params=params)


def parse_datetime(value):
    """ISO 8601 from Amazon → naive UTC datetime (Odoo's convention)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _money(node, order_id, currencies):
    if not node:
        return Decimal(0)
    try:
        amount = Decimal(str(node["amount"]))
    except (KeyError, TypeError, InvalidOperation):
        raise MappingError("bad_amount", order=order_id, detail=repr(node)) from None
    if not amount.is_finite():
        raise MappingError("bad_amount", order=order_id, detail=repr(node))
    if node.get("currencyCode"):
        currencies.add(node["currencyCode"])
    return amount


def order_action(order):
    """What the import does with an order: 'skip', 'cancel' or 'import'.

    Pending orders are skipped: Amazon holds them (30 minutes to 21 days) while
    payment is verified, they carry no price and may never ship. Importing by
    last-update time picks them up when they turn Unshipped.
    """
    status = (order.get("fulfillment") or {}).get("fulfillmentStatus")
    if status in PENDING_STATUSES:
        return "skip"
    if status in CANCELLED_STATUSES:
        return "cancel"
    if status in ACTIONABLE_STATUSES:
        return "import"
    raise MappingError(
        "unknown_status", order=order.get("orderId", "?"), status=status or "-"
    )


def order_header(order):
    """Values of the order itself, readable for any status."""
    fulfillment = order.get("fulfillment") or {}
    programs = set(order.get("programs") or [])
    buyer = order.get("buyer") or {}
    ship_window = fulfillment.get("shipByWindow") or {}
    deliver_window = fulfillment.get("deliverByWindow") or {}
    service_level = fulfillment.get("fulfillmentServiceLevel")
    return {
        "order_id": order["orderId"],
        "status": fulfillment.get("fulfillmentStatus"),
        "fulfilled_by": fulfillment.get("fulfilledBy") or "MERCHANT",
        "service_level": service_level,
        "expedited": service_level in EXPEDITED_SERVICE_LEVELS,
        "marketplace_id": (order.get("salesChannel") or {}).get("marketplaceId"),
        "purchase_date": parse_datetime(order.get("createdTime")),
        "last_updated": parse_datetime(order.get("lastUpdatedTime")),
        "latest_ship_date": parse_datetime(ship_window.get("latestDateTime")),
        "latest_delivery_date": parse_datetime(deliver_window.get("latestDateTime")),
        "is_prime": "PRIME" in programs,
        "is_business": "AMAZON_BUSINESS" in programs,
        "buyer_po": buyer.get("buyerPurchaseOrderNumber"),
    }


def partner_values(order):
    """Buyer and delivery address, or MappingError when the address is unusable."""
    order_id = order["orderId"]
    buyer = order.get("buyer") or {}
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    missing = [
        label
        for key, label in (
            ("countryCode", "country"),
            ("addressLine1", "street"),
            ("city", "city"),
        )
        if not (address.get(key) or "").strip()
    ]
    if not address or missing:
        raise MappingError(
            "missing_address",
            order=order_id,
            detail=", ".join(missing) if address else "no address",
        )
    name = (address.get("name") or buyer.get("buyerName") or order_id).strip()
    lines = [address.get("addressLine2"), address.get("addressLine3")]
    delivery = {
        "name": name,
        "company": address.get("companyName") or None,
        "street": address["addressLine1"].strip(),
        "street2": ", ".join(part.strip() for part in lines if part) or None,
        "city": address["city"].strip(),
        "state": (address.get("stateOrRegion") or "").strip() or None,
        "zip": (address.get("postalCode") or "").strip() or None,
        "country_code": address["countryCode"].strip().upper(),
        "phone": address.get("phone") or None,
    }
    return {
        "buyer": {
            "name": (buyer.get("buyerName") or name).strip(),
            "email": (buyer.get("buyerEmail") or "").strip().lower() or None,
            "company": buyer.get("buyerCompanyName") or None,
            "phone": address.get("phone") or None,
        },
        "delivery": delivery,
    }


def _breakdowns(proceeds, order_id, currencies):
    """{type: (subtotal, {subtype: value})} of a proceeds node."""
    result = {}
    for breakdown in (proceeds or {}).get("breakdowns") or []:
        kind = breakdown.get("type") or "OTHER"
        subtotal = _money(breakdown.get("subtotal"), order_id, currencies)
        details = {}
        for detail in breakdown.get("detailedBreakdowns") or []:
            subtype = detail.get("subtype") or "OTHER"
            details[subtype] = details.get(subtype, Decimal(0)) + _money(
                detail.get("value"), order_id, currencies
            )
        previous, previous_details = result.get(kind, (Decimal(0), {}))
        for subtype, value in previous_details.items():
            details[subtype] = details.get(subtype, Decimal(0)) + value
        result[kind] = (previous + subtotal, details)
    return result


def _item_parts(item, order_id, currencies, discount_sign):
    """(net, tax) per charge type of one item; the item's own price is 'ITEM'."""
    breakdowns = _breakdowns(item.get("proceeds"), order_id, currencies)
    tax_total, tax_details = breakdowns.pop("TAX", (Decimal(0), {}))
    parts = {}
    for kind, (subtotal, _details) in breakdowns.items():
        parts[kind] = [subtotal, Decimal(0)]
    for subtype, value in tax_details.items():
        parts.setdefault(subtype, [Decimal(0), Decimal(0)])[1] += value
    # Tax without a split belongs to the item price.
    unsplit = tax_total - sum(tax_details.values(), Decimal(0))
    if unsplit:
        parts.setdefault("ITEM", [Decimal(0), Decimal(0)])[1] += unsplit
    if "DISCOUNT" in parts and discount_sign < 0:
        net, tax = parts["DISCOUNT"]
        parts["DISCOUNT"] = [-abs(net), -abs(tax)]
    return parts


def _discount_sign(order, order_id, currencies):
    """+1 when discounts are already negative, -1 when Amazon sent magnitudes."""
    proceeds = order.get("proceeds") or {}
    total = _money(proceeds.get("grandTotal"), order_id, currencies)
    breakdowns = _breakdowns(proceeds, order_id, currencies)
    as_sent = sum((sub for sub, _d in breakdowns.values()), Decimal(0))
    if as_sent == total:
        return 1, total, as_sent
    discount, _details = breakdowns.get("DISCOUNT", (Decimal(0), {}))
    _tax, tax_details = breakdowns.get("TAX", (Decimal(0), {}))
    flipped = (
        as_sent
        - discount
        - abs(discount)
        - tax_details.get("DISCOUNT", Decimal(0))
        - abs(tax_details.get("DISCOUNT", Decimal(0)))
    )
    if discount and flipped == total:
        return -1, total, flipped
    return 1, total, as_sent


def order_lines(order):
    """Product lines and order charges, reconciled with the grand total.

    Returns ``{"currency", "grand_total", "lines": [...], "charges": {...}}``:
    a line is ``{item_id, sku, asin, title, quantity, net, tax, unit_price,
    gift_message, gift_wrap_level, customized_url, condition}`` and charges
    map SHIPPING / GIFT_WRAP / DISCOUNT / other types to ``(net, tax)``
    summed over the items. All amounts are Decimals.
    """
    order_id = order["orderId"]
    items = order.get("orderItems") or []
    if not items:
        raise MappingError("no_items", order=order_id)
    status = (order.get("fulfillment") or {}).get("fulfillmentStatus")
    if not (order.get("proceeds") or {}).get("grandTotal"):
        raise MappingError("missing_prices", order=order_id, status=status or "-")
    currencies = set()
    sign, grand_total, _parts = _discount_sign(order, order_id, currencies)
    lines = []
    charges = {}
    parts_total = Decimal(0)
    for item in items:
        product = item.get("product") or {}
        quantity = item.get("quantityOrdered") or 0
        if quantity <= 0:
            raise MappingError(
                "zero_quantity",
                order=order_id,
                item=item.get("orderItemId", "?"),
                sku=product.get("sellerSku") or product.get("asin") or "?",
            )
        parts = _item_parts(item, order_id, currencies, sign)
        net, tax = parts.pop("ITEM", [Decimal(0), Decimal(0)])
        for kind, (charge_net, charge_tax) in parts.items():
            total_net, total_tax = charges.get(kind, (Decimal(0), Decimal(0)))
            charges[kind] = (total_net + charge_net, total_tax + charge_tax)
            parts_total += charge_net + charge_tax
        parts_total += net + tax
        packing = (item.get("fulfillment") or {}).get("packing") or {}
        gift = packing.get("giftOption") or {}
        price = (product.get("price") or {}).get("unitPrice")
        lines.append(
            {
                "item_id": item.get("orderItemId"),
                "sku": product.get("sellerSku"),
                "asin": product.get("asin"),
                "title": product.get("title") or product.get("sellerSku") or "",
                "quantity": quantity,
                "net": net,
                "tax": tax,
                "unit_price": _money(price, order_id, currencies) if price else None,
                "gift_message": gift.get("giftMessage"),
                "gift_wrap_level": gift.get("giftWrapLevel"),
                "customized_url": (product.get("customization") or {}).get(
                    "customizedUrl"
                ),
                "condition": (product.get("condition") or {}).get("conditionType"),
            }
        )
    if len(currencies) > 1:
        raise MappingError(
            "mixed_currencies", order=order_id, currencies=", ".join(sorted(currencies))
        )
    currency = next(iter(currencies), None)
    if parts_total != grand_total:
        raise MappingError(
            "total_mismatch",
            order=order_id,
            parts=str(parts_total),
            total=str(grand_total),
            currency=currency or "",
        )
    return {
        "currency": currency,
        "grand_total": grand_total,
        "lines": lines,
        "charges": charges,
    }


def gift_messages(lines):
    """The distinct gift messages of an order's lines, in order."""
    seen = []
    for line in lines:
        message = (line.get("gift_message") or "").strip()
        if message and message not in seen:
            seen.append(message)
    return seen


def split_amount(amount, quantity, digits):
    """Unit prices for ``quantity`` units summing exactly to ``amount``.

    Returns ``[(quantity, unit_price), ...]``: one pair when ``amount`` divides
    evenly at ``digits`` decimals, else two (the last unit takes the rest), so
    that an order line never drifts from Amazon's amount by rounding.
    """
    quantum = Decimal(1).scaleb(-digits)
    unit = (amount / quantity).quantize(quantum)
    if unit * quantity == amount or quantity == 1:
        return [(quantity, amount if quantity == 1 else unit)]
    return [(quantity - 1, unit), (1, amount - unit * (quantity - 1))]
