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

import copy
import re
import unicodedata
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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
    "bad_quantity": _lt(
        "Item %(item)s (SKU %(sku)s) of Amazon order %(order)s has an unlikely "
        "quantity (%(quantity)s): the order was not imported."
    ),
    "marketplace_changed": _lt(
        "Amazon order %(order)s now comes from marketplace %(marketplace)s, but it "
        "was imported from another one: it was not changed."
    ),
    "bad_amount": _lt("Amazon order %(order)s has an unreadable amount: %(detail)s."),
    "mixed_currencies": _lt(
        "Amazon order %(order)s mixes currencies (%(currencies)s)."
    ),
    "total_mismatch": _lt(
        "The parts of Amazon order %(order)s add up to %(parts)s %(currency)s, not to "
        "its grand total of %(total)s %(currency)s: the order was not imported."
    ),
    "currency_mismatch": _lt(
        "Amazon order %(order)s is in %(currency)s, but its marketplace sells in "
        "%(expected)s: the order was not imported."
    ),
    "unknown_status": _lt(
        "Amazon order %(order)s has an unknown fulfilment status %(status)s."
    ),
}


# No Amazon order line is bought by the million: more is a broken payload.
MAX_QUANTITY = 1_000_000
# Amazon's texts (names, titles, gift messages, links) are short; a longer one
# is cut rather than stored whole on the order, the slip and the log.
MAX_TEXT = 10_000

# PostgreSQL text refuses NUL, and psycopg2 cannot encode lone surrogates
# (JSON allows both): either would abort the transaction of the whole page.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value):
    """``value`` without the characters PostgreSQL cannot store, and bounded.

    NUL is dropped; a lone surrogate becomes U+FFFD, so that the reader sees
    where something was; past ``MAX_TEXT`` characters the text is cut.
    """
    if not isinstance(value, str):
        return value
    if len(value) > MAX_TEXT:
        value = value[: MAX_TEXT - 1] + "…"
    if not _UNSTORABLE.search(value):
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


def _optional_datetime(value):
    """``parse_datetime``, or None for a value that is not a date."""
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


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
        # A window Amazon garbled costs the deadline, not the order.
        "latest_ship_date": _optional_datetime(ship_window.get("latestDateTime")),
        "latest_delivery_date": _optional_datetime(
            deliver_window.get("latestDateTime")
        ),
        "is_prime": "PRIME" in programs,
        "is_business": "AMAZON_BUSINESS" in programs,
        "buyer_po": buyer.get("buyerPurchaseOrderNumber"),
    }


def _buyer_tax_number(order):
    """The buyer's tax registration (VAT) number, when Amazon gives one."""
    for registration in (order.get("tax") or {}).get("taxRegistrations") or []:
        if (
            isinstance(registration, dict)
            and registration.get("entityType") == "BUYER"
            and (registration.get("taxRegistrationNumber") or "").strip()
        ):
            return registration["taxRegistrationNumber"].strip()
    return None


def partner_values(order, default_country=None):
    """Buyer and delivery address, or MappingError when the address is unusable.

    Amazon gives no street, and often no name nor e-mail, for the orders it
    fulfils in North America: those keep what there is (city, region, postal
    code) under ``default_country`` (the marketplace's), the name left empty
    (``anonymous``) for the caller to word. An order the seller ships needs a
    street.
    """
    order_id = order["orderId"]
    buyer = order.get("buyer") or {}
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    fulfilled_by_amazon = (order.get("fulfillment") or {}).get(
        "fulfilledBy"
    ) == "AMAZON"
    country_code = (address.get("countryCode") or "").strip().upper() or (
        default_country if fulfilled_by_amazon else None
    )
    required = (("street", "addressLine1"), ("city", "city"))
    missing = [] if country_code else ["country"]
    if not fulfilled_by_amazon:
        missing += [
            label for label, key in required if not (address.get(key) or "").strip()
        ]
    if (not address and not fulfilled_by_amazon) or missing:
        raise MappingError(
            "missing_address",
            order=order_id,
            detail=", ".join(missing) if address else "no address",
        )

    def text(value):
        return (value or "").strip() or None

    buyer_name = text(buyer.get("buyerName"))
    name = text(address.get("name")) or buyer_name
    lines = [text(address.get("addressLine2")), text(address.get("addressLine3"))]
    delivery = {
        "name": name,
        "company": text(address.get("companyName")),
        "street": text(address.get("addressLine1")),
        "street2": ", ".join(part for part in lines if part) or None,
        "city": text(address.get("city")),
        "state": text(address.get("stateOrRegion")),
        "zip": text(address.get("postalCode")),
        "country_code": country_code,
        "phone": text(address.get("phone")),
    }
    return {
        "buyer": {
            "name": buyer_name or name,
            "email": (text(buyer.get("buyerEmail")) or "").lower() or None,
            "company": text(buyer.get("buyerCompanyName")),
            "vat": _buyer_tax_number(order),
            "phone": delivery["phone"],
        },
        "delivery": delivery,
        "anonymous": not (buyer_name or name),
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


def collected_by_marketplace(item):
    """Whether Amazon collects and remits the tax of this item itself
    (marketplace facilitator, e.g. US sales tax): the seller never holds it."""
    collections = (item.get("tax") or {}).get("taxCollections") or []
    return any(c.get("model") == "MARKETPLACE_FACILITATOR" for c in collections)


def effective_rate(net, tax):
    """Amazon's tax rate of an amount: tax ÷ net, a Decimal fraction.

    ``None`` when it cannot be told (tax on a zero net amount).
    """
    net, tax = Decimal(net), Decimal(tax)
    if not net:
        return Decimal(0) if not tax else None
    return tax / net


def tax_at_rate(net, tax, percent, price_include, quantum):
    """The tax an Odoo percent tax of ``percent`` computes on Amazon's amount,
    rounded to ``quantum``: on the gross amount when the price includes it."""
    rate = Decimal(str(percent)) / 100
    if price_include:
        gross = Decimal(net) + Decimal(tax)
        amount = gross * rate / (1 + rate)
    else:
        amount = Decimal(net) * rate
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def rate_fits(net, tax, percent, price_include, quantum, quantity=1):
    """Whether an Odoo tax of ``percent`` reproduces Amazon's ``tax`` on
    ``net``: within half a minor unit of the currency per unit sold."""
    odoo_tax = tax_at_rate(net, tax, percent, price_include, quantum)
    return abs(odoo_tax - Decimal(tax)) <= quantum * max(int(quantity), 1) / 2


def closest_rate(
    net, tax, percents, price_include, quantum, quantity=1, preferred=None
):
    """The percent among ``percents`` that reproduces Amazon's tax best, or
    None when none fits (``rate_fits``).

    Small amounts fit several rates (0.12 on 0.61 is 19 % and 20 %):
    ``preferred`` (the rate of the item a charge belongs to) wins when it
    fits, else the one closest to Amazon's tax, then to its effective rate.
    """
    if preferred is not None and rate_fits(
        net, tax, preferred, price_include, quantum, quantity
    ):
        return preferred
    effective = effective_rate(net, tax)
    fitting = [
        percent
        for percent in percents
        if rate_fits(net, tax, percent, price_include, quantum, quantity)
    ]

    def distance(percent):
        odoo_tax = tax_at_rate(net, tax, percent, price_include, quantum)
        rate = Decimal(str(percent)) / 100
        return abs(odoo_tax - Decimal(tax)), abs(rate - (effective or rate))

    return min(fitting, key=distance, default=None)


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


def _quantity_shipped(item, quantity):
    """Units of an item Amazon reports shipped already (0 to ``quantity``)."""
    fulfillment = item.get("fulfillment") or {}
    shipped = fulfillment.get("quantityFulfilled")
    if not isinstance(shipped, int):
        unshipped = fulfillment.get("quantityUnfulfilled")
        if not isinstance(unshipped, int):
            return 0
        shipped = quantity - unshipped
    return min(max(shipped, 0), quantity)


def order_lines(order):
    """Product lines and order charges, reconciled with the grand total.

    Returns ``{"currency", "grand_total", "lines": [...], "charges": {...}}``:
    a line is ``{item_id, sku, asin, title, quantity, net, tax, unit_price,
    gift_message, gift_wrap_level, customized_url, condition, charges,
    facilitator}`` and charges map SHIPPING / GIFT_WRAP / DISCOUNT / other
    types to ``(net, tax)`` summed over the items. A line's own ``charges``
    are that item's share, so that each keeps the item's tax rate;
    ``facilitator`` tells that Amazon collects the item's tax itself. All
    amounts are Decimals.
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
        if not isinstance(quantity, int) or quantity > MAX_QUANTITY:
            raise MappingError(
                "bad_quantity",
                order=order_id,
                item=item.get("orderItemId", "?"),
                sku=product.get("sellerSku") or product.get("asin") or "?",
                quantity=str(quantity)[:20],
            )
        if quantity <= 0:
            raise MappingError(
                "zero_quantity",
                order=order_id,
                item=item.get("orderItemId", "?"),
                sku=product.get("sellerSku") or product.get("asin") or "?",
            )
        parts = _item_parts(item, order_id, currencies, sign)
        net, tax = parts.pop("ITEM", [Decimal(0), Decimal(0)])
        item_charges = {kind: tuple(values) for kind, values in parts.items()}
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
                "quantity_shipped": _quantity_shipped(item, quantity),
                "net": net,
                "tax": tax,
                "unit_price": _money(price, order_id, currencies) if price else None,
                "gift_message": gift.get("giftMessage"),
                "gift_wrap_level": gift.get("giftWrapLevel"),
                "customized_url": (product.get("customization") or {}).get(
                    "customizedUrl"
                ),
                "condition": (product.get("condition") or {}).get("conditionType"),
                "charges": item_charges,
                "facilitator": collected_by_marketplace(item),
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


# Japanese prefectures as Amazon writes them (local script) → JIS X 0401 code,
# the code Odoo gives Japan's states.
JP_PREFECTURES = {
    "北海道": "01",
    "青森県": "02",
    "岩手県": "03",
    "宮城県": "04",
    "秋田県": "05",
    "山形県": "06",
    "福島県": "07",
    "茨城県": "08",
    "栃木県": "09",
    "群馬県": "10",
    "埼玉県": "11",
    "千葉県": "12",
    "東京都": "13",
    "神奈川県": "14",
    "新潟県": "15",
    "富山県": "16",
    "石川県": "17",
    "福井県": "18",
    "山梨県": "19",
    "長野県": "20",
    "岐阜県": "21",
    "静岡県": "22",
    "愛知県": "23",
    "三重県": "24",
    "滋賀県": "25",
    "京都府": "26",
    "大阪府": "27",
    "兵庫県": "28",
    "奈良県": "29",
    "和歌山県": "30",
    "鳥取県": "31",
    "島根県": "32",
    "岡山県": "33",
    "広島県": "34",
    "山口県": "35",
    "徳島県": "36",
    "香川県": "37",
    "愛媛県": "38",
    "高知県": "39",
    "福岡県": "40",
    "佐賀県": "41",
    "長崎県": "42",
    "熊本県": "43",
    "大分県": "44",
    "宮崎県": "45",
    "鹿児島県": "46",
    "沖縄県": "47",
}


def region_key(text):
    """A state or region as a lookup key: case, accents, spaces and dots ignored.

    ``Île-de-France``, ``ILE DE FRANCE`` and ``ile-de-france`` give one key; a
    Japanese prefecture gives its code ("東京都" and "東京" → "13").
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if text in JP_PREFECTURES:
        return JP_PREFECTURES[text]
    # 東京 for 東京都: the suffix (都, 道, 府, 県) is often left out.
    for local, code in JP_PREFECTURES.items():
        if len(local) > 2 and local[:-1] == text:
            return code
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in plain.casefold() if c.isalnum())


def without_signed_links(order):
    """A copy of an order whose customisation links lost their query string.

    The query signs the download (X-Amz-Signature...): it is a credential
    valid for a while, and a stored copy of the order (the import log) has
    no use for it, since a retry fetches the order from Amazon again.
    """
    order = copy.deepcopy(order)
    items = order.get("orderItems") if isinstance(order, dict) else None
    for item in items if isinstance(items, list) else []:
        product = item.get("product") if isinstance(item, dict) else None
        custom = product.get("customization") if isinstance(product, dict) else None
        url = custom.get("customizedUrl") if isinstance(custom, dict) else None
        if isinstance(url, str) and "?" in url:
            custom["customizedUrl"] = url.split("?", 1)[0] + "?(signature removed)"
    return order


def check_currency(order_id, currency, expected):
    """Refuse an order whose amounts are not in its marketplace's currency."""
    if expected and currency and currency != expected:
        raise MappingError(
            "currency_mismatch", order=order_id, currency=currency, expected=expected
        )


def shipped_units(order):
    """{order item ID: units Amazon reports shipped} of an order."""
    return {
        item.get("orderItemId"): _quantity_shipped(
            item, item.get("quantityOrdered") or 0
        )
        for item in order.get("orderItems") or []
        if isinstance(item, dict) and item.get("orderItemId")
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
