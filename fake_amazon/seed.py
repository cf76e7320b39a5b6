"""Orders for the fake: hand-made (``make_order``) or generated (``generate_orders``).

Orders are plain dicts shaped like the Orders API 2026-01-01 ``Order`` with
*all* datasets filled in (buyer, recipient, proceeds, fulfillment, packages,
promotion, ...); the fake strips what ``includedData`` does not ask for and
what the order status hides.  A private ``_fake`` key carries what is not part
of the payload (owning seller, customisation specs, future status changes);
the fake pops it on ``add_order`` and never serves it.

Money invariants (the import reconciles against these; see ``money``):

* all subtotals are signed and totals are plain sums:
  ``grandTotal = sum(order breakdowns) = sum(item proceedsTotal)``;
  order breakdown of type T = sum of the items' breakdowns of type T;
  a breakdown with ``detailedBreakdowns`` equals the sum of its details;
* ``DISCOUNT`` is negative: ``grandTotal = ITEM + SHIPPING + GIFT_WRAP + TAX
  - |DISCOUNT|``; details ``ITEM``/``SHIPPING`` say what was discounted;
* ``ITEM``/``SHIPPING``/``GIFT_WRAP``/``DISCOUNT`` are net of tax, ``TAX``
  holds the tax (details ``ITEM``, ``SHIPPING``, ``GIFT_WRAP``, ``DISCOUNT``);
* tax-inclusive marketplaces (EU, UK, JP, AU, MX, ...): ``unitPrice`` includes
  VAT and ``unitPrice * quantityOrdered == ITEM + TAX[ITEM]``;
  US/CA: ``unitPrice`` excludes tax and ``unitPrice * quantityOrdered == ITEM``;
* amounts are strings rounded half-up to the currency's minor unit (JPY: 0);
* PENDING and CANCELLED orders are served with no ``proceeds`` and no
  ``product.price``; PENDING orders also without ``recipient``.

Hand-made orders take shipping/discount/gift wrap as the buyer sees them
(VAT-inclusive where prices are); order-level amounts are spread over the
items in proportion to their value, the rounding rest going to the last item.
"""

import copy
import hashlib
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from . import marketplaces as mkt
from .money import D, item_proceeds, order_proceeds

FINAL = ("SHIPPED", "CANCELLED", "UNFULFILLABLE")
NO_PRICE_STATUSES = ("PENDING", "PENDING_AVAILABILITY", "CANCELLED")

CATALOG = [
    # sku stem, title, base price (USD-ish), sizes
    ("TEE", "Organic Cotton T-Shirt", "19.99", ("S", "M", "L", "XL")),
    ("MUG", "Ceramic Coffee Mug 350 ml", "12.50", ()),
    ("HOODIE", "Zip Hoodie – Heavyweight Fleece", "44.90", ("M", "L", "XL")),
    ("BOTTLE", "Insulated Steel Bottle 750 ml", "24.00", ()),
    ("CAP", "Embroidered Baseball Cap", "17.95", ()),
    ("TOTE", "Canvas Tote Bag", "9.99", ()),
    ("POSTER", "Art Print Poster A3", "14.00", ()),
    ("NOTEBOOK", "Dotted Notebook A5 (Hardcover)", "11.49", ()),
    ("PHONECASE", "Personalised Phone Case", "21.99", ()),
    ("KEYRING", "Engraved Wooden Keyring", "7.49", ()),
]
COLOURS = ("Red", "Blue", "Black", "White", "Green")

# Rough shelf-price factor from the USD base, and how prices end.
PRICE_FACTOR = {
    "USD": ("1", "0.99"), "CAD": ("1.35", "0.99"), "MXN": ("17", "0"),
    "GBP": ("0.8", "0.99"), "EUR": ("0.92", "0.99"), "SEK": ("10.5", "0"),
    "PLN": ("4", "0.99"), "JPY": ("150", "0"), "AUD": ("1.5", "0.95"),
    "BRL": ("5", "0.90"), "TRY": ("34", "0.90"), "INR": ("83", "0"),
    "SGD": ("1.35", "0.90"),
}  # fmt: skip
SHIPPING = {
    "USD": "4.99", "CAD": "6.99", "MXN": "99", "GBP": "3.99", "EUR": "4.49",
    "SEK": "49", "PLN": "14.99", "JPY": "500", "AUD": "8.95", "BRL": "19.90",
    "TRY": "49.90", "INR": "99", "SGD": "5.90",
}  # fmt: skip

PEOPLE = {
    "GB": [
        ("Sarah Thompson", "45 Oak Avenue", "London", "Greater London", "SW1A 1AA"),
        (
            "Zoë Müller",
            "12 Rue-Street Close",
            "Manchester",
            "Greater Manchester",
            "M1 1AE",
        ),
        ("Siobhán O'Connor", "7 Harbour View", "Bristol", "", "BS1 4DJ"),
    ],
    "DE": [
        ("Jürgen Groß", "Königstraße 14", "München", "Bayern", "80331"),
        ("Zoë Müller", "Straße des 17. Juni 100", "Berlin", "Berlin", "10557"),
    ],
    "FR": [
        ("Amélie Lefèvre", "8 rue de l'Église", "Besançon", "Doubs", "25000"),
        ("François Château", "21 avenue des Champs-Élysées", "Paris", "", "75008"),
    ],
    "IT": [("Niccolò Bianchi", "Via Garibaldi 3", "Forlì", "FC", "47121")],
    "ES": [("Begoña Núñez", "Calle de Alcalá 45", "Logroño", "La Rioja", "26001")],
    "NL": [("Joris van der Heijden", "Prinsengracht 263", "Amsterdam", "", "1016 GV")],
    "BE": [("Chloé Dubois", "Rue Neuve 12", "Liège", "", "4000")],
    "IE": [("Aoife Ní Bhriain", "3 Quay Street", "Galway", "Co. Galway", "H91 X2E3")],
    "SE": [("Åsa Lindqvist", "Drottninggatan 5", "Göteborg", "", "411 14")],
    "PL": [
        ("Łukasz Wiśniewski", "ul. Piotrkowska 104", "Łódź", "łódzkie", "90-006"),
        (
            "Małgorzata Żółkiewska",
            "ul. Floriańska 7",
            "Kraków",
            "małopolskie",
            "31-019",
        ),
    ],
    "TR": [("Ayşe Yılmaz", "İstiklal Cd. 10", "İstanbul", "Beyoğlu", "34433")],
    "US": [
        ("John Smith", "123 Main Street", "Seattle", "WA", "98101"),
        ("María José García", "500 Market St", "San Francisco", "CA", "94105"),
        ("Chloé Nguyễn", "77 Broadway", "New York", "NY", "10006"),
        ("Dwayne O'Neil", "1400 Congress Ave", "Austin", "TX", "78701"),
    ],
    "CA": [
        ("Émilie Tremblay", "1000 Rue Sherbrooke O", "Montréal", "QC", "H3A 3G4"),
        ("Liam MacDonald", "200 Bay St", "Toronto", "ON", "M5J 2J5"),
    ],
    "MX": [
        (
            "José Hernández Peña",
            "Av. Insurgentes Sur 1602",
            "Ciudad de México",
            "CDMX",
            "03940",
        )
    ],
    "BR": [("João Conceição", "Av. Paulista 1000", "São Paulo", "SP", "01310-100")],
    "IN": [("Priya Sharma", "12 MG Road", "Bengaluru", "Karnataka", "560001")],
    "JP": [
        ("山田 太郎", "渋谷2-21-1", "渋谷区", "東京都", "150-0002"),
        ("佐藤 花子", "梅田3-1-1 グランフロント", "大阪市北区", "大阪府", "530-0001"),
    ],
    "AU": [("Chloe O'Brien", "1 Martin Place", "Sydney", "NSW", "2000")],
    "SG": [("Tan Wei Ling", "10 Anson Road #12-01", "Singapore", "", "079903")],
}

CARRIERS = {
    "GB": ("Royal Mail", "Royal Mail Tracked 48"), "DE": ("DHL", "DHL Paket"),
    "FR": ("Colissimo", "Colissimo Domicile"), "IT": ("BRT", "BRT Express"),
    "ES": ("Correos", "Paq Standard"), "NL": ("PostNL", "PostNL Pakket"),
    "SE": ("PostNord", "MyPack Home"), "PL": ("InPost", "Paczkomat"),
    "US": ("UPS", "UPS Ground"), "CA": ("Canada Post", "Expedited Parcel"),
    "MX": ("Estafeta", "Dia Siguiente"), "JP": ("Yamato Transport", "宅急便"),
    "AU": ("Australia Post", "Parcel Post"),
}  # fmt: skip

# Amazon collects and remits the tax of these marketplaces itself (marketplace
# facilitator): items say so in ``tax.taxCollections`` (includedData TAX).
FACILITATORS = {"US": "Amazon.com Services LLC", "CA": "Amazon.com.ca ULC"}
US_TAX = {"WA": "0.101", "CA": "0.0725", "NY": "0.08875", "TX": "0.0825", "OR": "0"}
CA_TAX = {"QC": "0.14975", "ON": "0.13", "BC": "0.12", "AB": "0.05"}

GIFT_MESSAGES = (
    "Happy birthday! 🎂",
    "Alles Gute zum Geburtstag, Zoë!",
    "Joyeux Noël ❄",
    "お誕生日おめでとう",
    "Wszystkiego najlepszego!",
)
CUSTOM_TEXTS = ("Zoë", "Łukasz", "François & Amélie", "さくら", "Team 2026", "Ñandú")
FONTS = ("Arial", "Lobster", "Dancing Script", "Roboto Slab")
# (ship by, then deliver by) after the purchase, per fulfillmentServiceLevel;
# anything else ships within two days and arrives within four more.
PROMISES = {
    "SAME_DAY": (timedelta(hours=4), timedelta(hours=8)),
    "NEXT_DAY": (timedelta(hours=12), timedelta(days=1)),
    "SECOND_DAY": (timedelta(days=1), timedelta(days=1)),
    "EXPEDITED": (timedelta(days=1), timedelta(days=2)),
    "PRIORITY": (timedelta(days=1), timedelta(days=2)),
}
STANDARD_PROMISE = (timedelta(days=2), timedelta(days=4))


def _iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def order_id_for(region, rng):
    prefix = {
        "NA": ("111", "112", "113", "114"),
        "EU": ("202", "203", "204", "205", "206"),
    }
    first = rng.choice(prefix.get(region, ("249", "250", "503")))
    return f"{first}-{_digits(rng, 7)}-{_digits(rng, 7)}"


def asin_for(sku):
    digest = hashlib.sha1(sku.encode()).hexdigest().upper()
    return "B0" + digest[:8]


def tax_rate_for(marketplace, state=None):
    if marketplace.code == "US":
        return US_TAX.get(state, marketplace.tax_rate)
    if marketplace.code == "CA":
        return CA_TAX.get(state, marketplace.tax_rate)
    return marketplace.tax_rate


def _spread(amount, weights, currency):
    """Split an amount over lines in proportion to weights; rest on the last."""
    amount = D(amount)
    if not amount or not weights:
        return [Decimal(0)] * len(weights)
    if not sum(weights):
        weights = [Decimal(1)] * len(weights)
    total = sum(weights)
    parts = [mkt.quantize(amount * w / total, currency) for w in weights[:-1]]
    parts.append(amount - sum(parts, Decimal(0)))
    return parts


def _address(marketplace, person, address, business, fulfilled_by):
    name, street, city, state, postcode = person
    result = {
        "name": name,
        "addressLine1": street,
        "city": city,
        "postalCode": postcode,
        "countryCode": marketplace.country,
        "addressType": "COMMERCIAL" if business else "RESIDENTIAL",
    }
    if state:
        result["stateOrRegion"] = state
    if fulfilled_by == "MERCHANT":
        digest = hashlib.sha1(name.encode()).hexdigest()
        result["phone"] = "+" + str(int(digest[:10], 16))[:11]
    result.update(address or {})
    return {k: v for k, v in result.items() if v is not None}


def make_order(  # noqa: C901 - one flat recipe reads better than helpers here
    marketplace="UK",
    items=None,
    status="UNSHIPPED",
    fulfilled_by="MERCHANT",
    shipping=None,
    shipping_discount=None,
    discount=None,
    gift_wrap=None,
    gift_message=None,
    customization=None,
    buyer_name=None,
    buyer_email=None,
    address=None,
    order_id=None,
    created=None,
    last_updated=None,
    business=False,
    prime=False,
    programs=None,
    company_name=None,
    purchase_order_number=None,
    buyer_tax_number=None,
    seller_order_id=None,
    service_level="STANDARD",
    ship_by=None,
    deliver_by=None,
    tax_rate=None,
    seller_id=None,
    rng=None,
):
    """One order in Orders API 2026-01-01 shape, with consistent proceeds.

    ``items``: list of dicts with ``sku``, ``qty``/``quantity``,
    ``unit_price`` and optionally ``vat_rate``/``tax_rate``, ``title``,
    ``asin``, ``shipping``, ``shipping_discount``, ``discount``,
    ``gift_wrap``, ``gift_message``, ``customization``, ``condition``,
    ``order_item_id``, ``business_price``, ``facilitator`` (who collects
    the tax for Amazon; US/CA by default, ``False`` for the seller).
    Order-level ``shipping``,
    ``shipping_discount``, ``discount`` and ``gift_wrap`` are spread over the
    items; ``gift_message`` and ``customization`` go on the first item.
    ``ship_by``/``deliver_by`` (datetimes) end the ship-by and deliver-by
    windows; by default they follow ``service_level`` (``PROMISES``).
    ``customization`` is a dict (``text``, ``font``, ``color``, ``label``,
    ``option``, ``image``...) turned into an Amazon Custom ZIP by the fake.
    ``address`` overrides fields of the delivery address (``None`` drops one).
    """
    # Without rng or order_id, ids are random so hand-made orders never clash.
    rng = rng or random.Random(order_id)
    market = mkt.get(marketplace)
    currency = market.currency
    items = [
        dict(i)
        for i in (items or [{"sku": "TEE-Red-XL", "qty": 1, "unit_price": "12.00"}])
    ]
    created = created or datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc)
    order_id = order_id or order_id_for(market.region, rng)
    person = PEOPLE.get(market.country, PEOPLE["US"])[0]
    if buyer_name:
        person = (buyer_name,) + tuple(person[1:])
    state = (address or {}).get("stateOrRegion", person[3])
    default_rate = tax_rate if tax_rate is not None else tax_rate_for(market, state)

    weights = [
        D(i["unit_price"]) * int(i.get("qty", i.get("quantity", 1))) for i in items
    ]
    spreads = {
        key: _spread(value, weights, currency)
        for key, value in (
            ("shipping", shipping),
            ("shipping_discount", shipping_discount),
            ("discount", discount),
            ("gift_wrap", gift_wrap),
        )
    }
    if gift_message is not None:
        items[0].setdefault("gift_message", gift_message)
    if customization is not None:
        items[0].setdefault("customization", customization)

    order_items = []
    customizations = {}
    for index, spec in enumerate(items):
        qty = int(spec.get("qty", spec.get("quantity", 1)))
        item_id = spec.get("order_item_id") or _digits(rng, 14)
        amounts = {
            key: D(spec.get(key, 0)) + spreads[key][index]
            for key in ("shipping", "shipping_discount", "discount", "gift_wrap")
        }
        rate = spec.get("vat_rate", spec.get("tax_rate", default_rate))
        product = {
            "asin": spec.get("asin") or asin_for(spec["sku"]),
            "title": spec.get("title") or spec["sku"],
            "sellerSku": spec["sku"],
            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
            "price": {"unitPrice": mkt.money(D(spec["unit_price"]), currency)},
        }
        if spec.get("condition"):
            product["condition"] = spec["condition"]
        if spec.get("business_price") or (business and index == 0):
            product["price"]["priceDesignation"] = "BUSINESS_PRICE"
        item = {
            "orderItemId": item_id,
            "quantityOrdered": qty,
            "product": product,
            "proceeds": item_proceeds(
                currency,
                spec["unit_price"],
                qty,
                D(rate),
                market.tax_inclusive,
                **amounts,
            ),
            "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": qty},
        }
        facilitator = spec.get("facilitator", FACILITATORS.get(market.code))
        if facilitator and D(rate):
            item["tax"] = {
                "taxCollections": [
                    {
                        "model": "MARKETPLACE_FACILITATOR",
                        "responsibleParty": facilitator,
                    }
                ]
            }
        if amounts["discount"] or amounts["shipping_discount"]:
            promo = spec.get("promotion_id") or f"PROMO-{order_id[-4:]}-{index + 1}"
            item["promotion"] = {"breakdowns": [{"promotionId": promo}]}
        if spec.get("gift_message") is not None or amounts["gift_wrap"]:
            gift = {}
            if spec.get("gift_message") is not None:
                gift["giftMessage"] = spec["gift_message"]
            if amounts["gift_wrap"]:
                gift["giftWrapLevel"] = spec.get("gift_wrap_level", "Classic")
            item["fulfillment"]["packing"] = {"giftOption": gift}
        if spec.get("customization"):
            token = hashlib.sha1(f"{order_id}/{item_id}".encode()).hexdigest()[:32]
            product["customization"] = {
                "customizedUrl": f"http://127.0.0.1/custom/{token}.zip"
            }
            customizations[item_id] = dict(spec["customization"], token=token)
        order_items.append(item)

    all_programs = list(programs or [])
    if prime and "PRIME" not in all_programs:
        all_programs.append("PRIME")
    if business and "AMAZON_BUSINESS" not in all_programs:
        all_programs.append("AMAZON_BUSINESS")

    buyer = {"buyerName": person[0]}
    if fulfilled_by == "MERCHANT":
        local = hashlib.sha1(order_id.encode()).hexdigest()[:16]
        domain = market.domain.replace("www.", "")
        buyer["buyerEmail"] = buyer_email or f"{local}@marketplace.{domain}"
    if business:
        buyer["buyerCompanyName"] = (
            company_name or f"{person[0].split()[-1]} GmbH & Co. KG"
        )
        if purchase_order_number:
            buyer["buyerPurchaseOrderNumber"] = purchase_order_number
    # Amazon Business: the buyer's VAT registration, when the buyer gave one.
    order_tax = (
        {
            "taxRegistrations": [
                {
                    "entityType": "BUYER",
                    "legalName": buyer.get("buyerCompanyName") or person[0],
                    "taxRegistrationType": "VAT",
                    "taxRegistrationNumber": buyer_tax_number,
                }
            ]
        }
        if buyer_tax_number
        else None
    )

    ship_days, deliver_days = PROMISES.get(service_level, STANDARD_PROMISE)
    ship_by = ship_by or created + ship_days
    deliver_by = deliver_by or ship_by + deliver_days
    order = {
        "orderId": order_id,
        "createdTime": _iso(created),
        "lastUpdatedTime": _iso(last_updated or created),
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": market.id,
            "marketplaceName": market.name,
        },
        "buyer": buyer,
        "recipient": {
            "deliveryAddress": _address(market, person, address, business, fulfilled_by)
        },
        "fulfillment": {
            "fulfillmentStatus": "PENDING",
            "fulfilledBy": fulfilled_by,
            "fulfillmentServiceLevel": service_level,
            "shipByWindow": {
                "earliestDateTime": _iso(created),
                "latestDateTime": _iso(ship_by),
            },
            "deliverByWindow": {
                "earliestDateTime": _iso(min(ship_by + timedelta(days=1), deliver_by)),
                "latestDateTime": _iso(deliver_by),
            },
        },
        "orderItems": order_items,
    }
    if all_programs:
        order["programs"] = all_programs
    if order_tax:
        order["tax"] = order_tax
    if seller_order_id:
        order["orderAliases"] = [
            {"aliasId": seller_order_id, "aliasType": "SELLER_ORDER_ID"}
        ]
    proceeds = order_proceeds(order_items)
    if proceeds:
        order["proceeds"] = proceeds
    order["_fake"] = {
        "customizations": customizations,
        "timeline": [],
        "seller_id": seller_id,
    }
    apply_status(order, status, last_updated or created)
    return order


def set_ship_window(order, ship_by, deliver_by, when):
    """Amazon moves an order's ship-by (and deliver-by) window at ``when``."""
    fulfillment = order.setdefault("fulfillment", {})
    window = fulfillment.setdefault("shipByWindow", {})
    window["latestDateTime"] = _iso(ship_by)
    if window.get("earliestDateTime", "") > window["latestDateTime"]:
        window["earliestDateTime"] = window["latestDateTime"]
    if deliver_by:
        fulfillment["deliverByWindow"] = {
            "earliestDateTime": _iso(min(ship_by, deliver_by)),
            "latestDateTime": _iso(deliver_by),
        }
    order["lastUpdatedTime"] = when if isinstance(when, str) else _iso(when)
    return order


def apply_status(order, status, when):
    """Move an order to ``status`` at ``when`` (a datetime or ISO string)."""
    when_iso = when if isinstance(when, str) else _iso(when)
    fulfillment = order.setdefault("fulfillment", {})
    fulfillment["fulfillmentStatus"] = status
    order["lastUpdatedTime"] = when_iso
    for item in order.get("orderItems", []):
        qty = item.get("quantityOrdered", 0)
        item_ful = item.setdefault("fulfillment", {})
        if status == "SHIPPED":
            item_ful.update(quantityFulfilled=qty, quantityUnfulfilled=0)
        elif status == "CANCELLED":
            item_ful.update(quantityFulfilled=0, quantityUnfulfilled=0)
            item.setdefault(
                "cancellation",
                {
                    "cancellationExecution": {
                        "cancelledBy": "BUYER",
                        "cancelReason": "Buyer cancelled",
                    }
                },
            )
        elif status in ("PENDING", "PENDING_AVAILABILITY", "UNSHIPPED"):
            item_ful.update(quantityFulfilled=0, quantityUnfulfilled=qty)
    if status in ("PENDING", "PENDING_AVAILABILITY", "UNSHIPPED"):
        # Nothing has left: no package either (its reference is free again).
        order.pop("packages", None)
    if (
        status == "SHIPPED"
        and fulfillment.get("fulfilledBy") == "MERCHANT"
        and not order.get("packages")
    ):
        order["packages"] = [_package(order, when_iso)]
    return order


def _package(order, when_iso, reference="1"):
    country = (
        (order.get("recipient") or {})
        .get("deliveryAddress", {})
        .get("countryCode", "US")
    )
    carrier, service = CARRIERS.get(country, ("DHL", "DHL Express"))
    digest = hashlib.sha1((order["orderId"] + reference).encode()).hexdigest()
    return {
        "packageReferenceId": reference,
        "createdTime": when_iso,
        "packageStatus": {"status": "SHIPPED", "detailedStatus": "PICKED_UP"},
        "carrier": carrier,
        "shipTime": when_iso,
        "shippingService": service,
        "trackingNumber": str(int(digest[:12], 16)).zfill(14)[:14],
        "packageItems": [
            {"orderItemId": i["orderItemId"], "quantity": i.get("quantityOrdered", 0)}
            for i in order.get("orderItems", [])
        ],
    }


def materialize(order, now):
    """Apply the order's scheduled status changes that are due at ``now``."""
    timeline = order.get("_fake", {}).get("timeline", [])
    due = [event for event in timeline if event[0] <= _iso(now)]
    for at, status in due:
        apply_status(order, status, at)
    if due:
        order["_fake"]["timeline"] = [e for e in timeline if e[0] > _iso(now)]
    return order


def _pick_items(rng, market, business):
    count = rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]
    factor, ending = PRICE_FACTOR[market.currency]
    specs = []
    for stem, title, base, sizes in rng.sample(CATALOG, count):
        colour = rng.choice(COLOURS)
        sku = f"{stem}-{colour}" + (f"-{rng.choice(sizes)}" if sizes else "")
        whole = int(D(base) * D(factor))
        price = D(whole) + D(ending) if ending != "0" else D(max(whole, 1))
        if market.currency == "JPY":
            price = D(whole // 10 * 10 + 80)
        specs.append(
            {
                "sku": sku,
                "title": f"{title} – {colour}",
                "qty": rng.choices((1, 2, 3, 5), weights=(70, 20, 7, 3))[0]
                * (rng.choice((1, 10)) if business else 1),
                "unit_price": str(price),
            }
        )
    return specs


def _customization(rng):
    kind = rng.choice(("text", "text", "image", "options"))
    spec = {"text": rng.choice(CUSTOM_TEXTS), "font": rng.choice(FONTS)}
    spec["color"] = rng.choice(COLOURS)
    if kind == "image":
        spec["image"] = f"photo-{_digits(rng, 6)}.png"
    if kind == "options":
        spec["option"] = rng.choice(("Gift box", "Matte finish", "Glossy finish"))
    return spec


def _timeline(rng, created, fulfilled_by, cancelled, stays_pending):
    """Status history after PENDING, as (ISO time, status) events."""
    events = []
    if stays_pending:
        return events
    at = created + timedelta(minutes=rng.randint(3, 90))
    if cancelled and rng.random() < 0.5:
        return [(_iso(at), "CANCELLED")]
    events.append((_iso(at), "UNSHIPPED"))
    at += timedelta(
        hours=rng.randint(2, 60) if fulfilled_by == "MERCHANT" else rng.randint(1, 20)
    )
    events.append((_iso(at), "CANCELLED" if cancelled else "SHIPPED"))
    return events


def generate_orders(
    n, seed=1, marketplaces=None, start=None, end=None, now=None, **options
):
    """``n`` deterministic, varied orders created between ``start`` and ``end``.

    Each order starts PENDING at its creation and carries its later status
    changes in ``_fake.timeline``; changes due at ``now`` (default ``end``)
    are applied, later ones happen when the fake clock reaches them.
    Options: ``afn_ratio`` (0.25), ``cancel_ratio`` (0.08), ``pending_ratio``
    (0.05), ``custom_ratio`` (0.1), ``business_ratio`` (0.1),
    ``gift_ratio`` (0.08), ``promo_ratio`` (0.15), ``seller_id``.
    """
    rng = random.Random(seed)
    end = end or datetime.now(timezone.utc)
    start = start or end - timedelta(days=30)
    now = now or end
    codes = [mkt.get(m).code for m in (marketplaces or mkt.SEEDED)]
    ratio = {
        "afn_ratio": 0.25,
        "cancel_ratio": 0.08,
        "pending_ratio": 0.05,
        "custom_ratio": 0.1,
        "business_ratio": 0.1,
        "gift_ratio": 0.08,
        "promo_ratio": 0.15,
    }
    ratio.update({k: v for k, v in options.items() if k in ratio})
    span = (end - start).total_seconds()
    orders = []
    for index in range(n):
        market = mkt.get(
            codes[index % len(codes)] if index < len(codes) else rng.choice(codes)
        )
        created = start + timedelta(seconds=span * (index + rng.random()) / max(n, 1))
        created = created.replace(microsecond=0)
        fulfilled_by = "AMAZON" if rng.random() < ratio["afn_ratio"] else "MERCHANT"
        business = rng.random() < ratio["business_ratio"]
        items = _pick_items(rng, market, business)
        gift = rng.random() < ratio["gift_ratio"]
        person = rng.choice(PEOPLE.get(market.country, PEOPLE["US"]))
        address = {
            "addressLine1": person[1],
            "city": person[2],
            "postalCode": person[4],
        }
        address["stateOrRegion"] = person[3] or None
        if rng.random() < 0.3:
            address["addressLine2"] = rng.choice(
                ("Flat 2A", "Apt. 5", "2. OG", "Bâtiment B")
            )
        kwargs = {
            "marketplace": market.code,
            "items": items,
            "status": "PENDING",
            "fulfilled_by": fulfilled_by,
            "created": created,
            "buyer_name": person[0],
            "address": address,
            "business": business,
            "prime": rng.random() < 0.35,
            "order_id": order_id_for(market.region, rng),
            "rng": rng,
            "seller_id": options.get("seller_id"),
            "service_level": rng.choice(
                ("STANDARD", "STANDARD", "EXPEDITED", "NEXT_DAY")
            ),
        }
        if fulfilled_by == "MERCHANT" and rng.random() < 0.6:
            kwargs["shipping"] = SHIPPING[market.currency]
        if rng.random() < ratio["promo_ratio"]:
            total = sum(D(i["unit_price"]) * i["qty"] for i in items)
            kwargs["discount"] = str(mkt.quantize(total * D("0.10"), market.currency))
            if kwargs.get("shipping") and rng.random() < 0.3:
                kwargs["shipping_discount"] = kwargs["shipping"]
        if gift:
            kwargs["gift_message"] = rng.choice(GIFT_MESSAGES)
            if rng.random() < 0.7:
                kwargs["gift_wrap"] = "2.99" if market.currency != "JPY" else "300"
        if rng.random() < ratio["custom_ratio"]:
            kwargs["customization"] = _customization(rng)
        if business:
            kwargs["purchase_order_number"] = (
                f"PO-{_digits(rng, 6)}" if rng.random() < 0.5 else None
            )
        if rng.random() < 0.2:
            kwargs["seller_order_id"] = f"WEB-{index + 1:05d}"
        order = make_order(**kwargs)
        order["_fake"]["timeline"] = _timeline(
            rng,
            created,
            fulfilled_by,
            cancelled=rng.random() < ratio["cancel_ratio"],
            stays_pending=rng.random() < ratio["pending_ratio"],
        )
        orders.append(materialize(order, now))
    return orders


MALFORMED_KINDS = (
    "missing_address",
    "unknown_country",
    "zero_quantity",
    "unknown_currency",
    "no_items",
    "missing_items_key",
)


def make_malformed_order(kind, **kwargs):
    """An order broken in one way, for robustness tests of the import.

    Add it with ``fake.add_order(order, validate=False)``: some kinds are not
    valid against the model (``missing_items_key``).
    """
    order = make_order(**kwargs)
    if kind == "missing_address":
        order["recipient"].pop("deliveryAddress", None)
    elif kind == "unknown_country":
        order["recipient"]["deliveryAddress"]["countryCode"] = "XX"
    elif kind == "zero_quantity":
        order["orderItems"][0]["quantityOrdered"] = 0
    elif kind == "unknown_currency":
        _replace_currency(order, "XXX")
    elif kind == "no_items":
        order["orderItems"] = []
        order.pop("proceeds", None)
    elif kind == "missing_items_key":
        del order["orderItems"]
    else:
        raise ValueError(
            f"unknown malformed kind {kind!r}; use one of {MALFORMED_KINDS}"
        )
    return order


def _replace_currency(node, currency):
    if isinstance(node, dict):
        if "currencyCode" in node:
            node["currencyCode"] = currency
        for value in node.values():
            _replace_currency(value, currency)
    elif isinstance(node, list):
        for value in node:
            _replace_currency(value, currency)


def public_copy(order):
    """The order without the fake's private ``_fake`` data."""
    result = copy.deepcopy(order)
    result.pop("_fake", None)
    return result
