"""Proceeds arithmetic of the fake, and a checker for its invariants.

Sign convention
---------------
Every ``subtotal`` and ``detailedBreakdowns[].value`` is a *signed* amount and
the totals are plain sums::

    item.proceeds.proceedsTotal = sum(item breakdown subtotals)
    breakdown.subtotal          = sum(breakdown.detailedBreakdowns values)
    order breakdown of type T   = sum(item breakdowns of type T)
    order.proceeds.grandTotal   = sum(order breakdown subtotals)
                                = sum(item proceedsTotal)

``DISCOUNT`` subtotals are negative (a 2.00 promotion is ``"-2.00"``), so
``grandTotal = ITEM + SHIPPING + GIFT_WRAP + TAX - |DISCOUNT|``.  Its
``detailedBreakdowns`` say what was discounted (subtype ``ITEM`` or
``SHIPPING``), also negative.

``ITEM``, ``SHIPPING``, ``GIFT_WRAP`` and ``DISCOUNT`` are always *net of tax*
and ``TAX`` carries all the tax, detailed by subtype ``ITEM``, ``SHIPPING``,
``GIFT_WRAP`` and ``DISCOUNT`` (the tax given back by a discount, negative):

* tax-inclusive marketplaces (EU, UK, JP, AU, MX, ...): ``unitPrice`` includes
  the tax; ``unitPrice * quantity == ITEM + TAX[ITEM]`` and ``grandTotal`` is
  what the buyer paid.  The tax contained in a gross amount ``x`` at rate
  ``r`` is ``round(x * r / (1 + r))``.
* tax-exclusive marketplaces (US, CA): ``unitPrice`` excludes tax;
  ``unitPrice * quantity == ITEM`` and ``TAX[x] = round(x * r)`` is added.

Rounding is half-up to the currency's minor unit (0 decimals for JPY),
per amount, before summing; zero breakdowns other than ``ITEM`` are omitted,
and so is ``TAX`` when the rate is zero.  Orders that are ``PENDING`` or
``CANCELLED`` are served without ``proceeds`` and without ``product.price``.
"""

from decimal import Decimal

from .marketplaces import money, quantize

ITEM_TYPES = ("ITEM", "SHIPPING", "GIFT_WRAP", "DISCOUNT", "TAX")


def D(value):
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def tax_of(gross, rate, inclusive, currency):
    if not rate:
        return Decimal(0)
    if inclusive:
        return quantize(gross * rate / (1 + rate), currency)
    return quantize(gross * rate, currency)


def item_proceeds(
    currency,
    unit_price,
    quantity,
    tax_rate,
    inclusive,
    shipping=0,
    shipping_discount=0,
    discount=0,
    gift_wrap=0,
):
    """ItemProceeds for one line; amounts follow the marketplace convention
    (gross on tax-inclusive marketplaces, net on US/CA)."""
    rate = D(tax_rate)
    gross = {
        "ITEM": quantize(D(unit_price) * quantity, currency),
        "SHIPPING": quantize(D(shipping), currency),
        "GIFT_WRAP": quantize(D(gift_wrap), currency),
    }
    discounts = {
        "ITEM": quantize(D(discount), currency),
        "SHIPPING": quantize(D(shipping_discount), currency),
    }

    def taxed(amount):
        return tax_of(amount, rate, inclusive, currency)

    def net(amount):
        return amount - taxed(amount) if inclusive else amount

    breakdowns = [{"type": "ITEM", "subtotal": money(net(gross["ITEM"]), currency)}]
    for kind in ("SHIPPING", "GIFT_WRAP"):
        if gross[kind]:
            breakdowns.append(
                {"type": kind, "subtotal": money(net(gross[kind]), currency)}
            )
    details = [(kind, -net(amount)) for kind, amount in discounts.items() if amount]
    if details:
        breakdowns.append(_with_details("DISCOUNT", details, currency))
    tax_details = [(kind, taxed(amount)) for kind, amount in gross.items()]
    tax_details.append(("DISCOUNT", -sum(taxed(a) for a in discounts.values())))
    tax_details = [(kind, value) for kind, value in tax_details if value]
    if rate and tax_details:
        breakdowns.append(_with_details("TAX", tax_details, currency))
    total = sum(D(b["subtotal"]["amount"]) for b in breakdowns)
    return {"proceedsTotal": money(total, currency), "breakdowns": breakdowns}


def _with_details(kind, details, currency):
    return {
        "type": kind,
        "subtotal": money(sum(v for _k, v in details), currency),
        "detailedBreakdowns": [
            {"subtype": sub, "value": money(value, currency)} for sub, value in details
        ],
    }


def order_proceeds(items):
    """OrderProceeds aggregated from the items' proceeds."""
    currency = None
    totals = {}
    for item in items:
        for b in item.get("proceeds", {}).get("breakdowns", []):
            currency = b["subtotal"]["currencyCode"]
            totals[b["type"]] = totals.get(b["type"], Decimal(0)) + D(
                b["subtotal"]["amount"]
            )
    if currency is None:
        return None
    breakdowns = [
        {"type": kind, "subtotal": money(totals[kind], currency)}
        for kind in ITEM_TYPES
        if kind in totals
    ]
    grand = sum(totals.values(), Decimal(0))
    return {"grandTotal": money(grand, currency), "breakdowns": breakdowns}


def check_money(order, tax_inclusive=None):
    """Problems (list of str) with the proceeds invariants of one order.

    ``tax_inclusive`` (bool) additionally checks ``unitPrice * quantity``
    against ``ITEM`` (+ ``TAX[ITEM]``).  An order without proceeds passes.
    """
    problems = []
    oid = order.get("orderId")
    proceeds = order.get("proceeds")
    if not proceeds:
        return problems
    sums = {}
    item_total = Decimal(0)
    for item in order.get("orderItems", []):
        iid = item.get("orderItemId")
        ip = item.get("proceeds") or {}
        bsum = Decimal(0)
        for b in ip.get("breakdowns", []):
            sub = D(b["subtotal"]["amount"])
            bsum += sub
            sums[b["type"]] = sums.get(b["type"], Decimal(0)) + sub
            details = b.get("detailedBreakdowns")
            if details and sum(D(d["value"]["amount"]) for d in details) != sub:
                problems.append(f"{oid}/{iid}: {b['type']} details != subtotal")
            if b["type"] == "DISCOUNT" and sub > 0:
                problems.append(f"{oid}/{iid}: DISCOUNT must be negative")
        if ip and D(ip["proceedsTotal"]["amount"]) != bsum:
            problems.append(f"{oid}/{iid}: proceedsTotal != sum of breakdowns")
        item_total += D(ip.get("proceedsTotal", {}).get("amount"))
        price = (item.get("product") or {}).get("price", {}).get("unitPrice")
        if price and tax_inclusive is not None:
            expected = D(price["amount"]) * item["quantityOrdered"]
            got = _subtotal(ip, "ITEM")
            if tax_inclusive:
                got += _detail(ip, "TAX", "ITEM")
            if got != expected:
                problems.append(f"{oid}/{iid}: unitPrice*qty {expected} != {got}")
    grand = D(proceeds["grandTotal"]["amount"])
    order_sum = Decimal(0)
    for b in proceeds.get("breakdowns", []):
        sub = D(b["subtotal"]["amount"])
        order_sum += sub
        if b["type"] != "DELIVERY_TIP" and sums.get(b["type"], Decimal(0)) != sub:
            problems.append(f"{oid}: order {b['type']} != sum of item {b['type']}")
    if grand != order_sum:
        problems.append(f"{oid}: grandTotal {grand} != sum of breakdowns {order_sum}")
    if order.get("orderItems") and grand != item_total:
        problems.append(f"{oid}: grandTotal {grand} != sum of items {item_total}")
    return problems


def _subtotal(proceeds, kind):
    for b in proceeds.get("breakdowns", []):
        if b["type"] == kind:
            return D(b["subtotal"]["amount"])
    return Decimal(0)


def _detail(proceeds, kind, subtype):
    for b in proceeds.get("breakdowns", []):
        if b["type"] == kind:
            for d in b.get("detailedBreakdowns", []):
                if d.get("subtype") == subtype:
                    return D(d["value"]["amount"])
    return Decimal(0)
