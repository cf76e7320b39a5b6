"""JSON_LISTINGS_FEED for merchant-fulfilled quantities: pure builders and parsers.

Odoo hands plain ``{sku: quantity}`` values in; this module turns them into the
feed document (listings-feed-schema-v2: one PATCH message per SKU on
``/attributes/fulfillment_availability``) and reads Amazon's processing report
(listings-feed-processing-report-schema-v2) back into per-SKU outcomes.  No
Odoo import, no I/O.
"""

import json
from dataclasses import dataclass, field

FEED_TYPE = "JSON_LISTINGS_FEED"
CONTENT_TYPE = "application/json; charset=UTF-8"
# Amazon's limit per feed document (the schema's maxItems).
MAX_MESSAGES = 25000
# A quantity patch does not depend on the product type; Amazon documents
# "PRODUCT" for offer-only updates when the type is unknown to the seller.
DEFAULT_PRODUCT_TYPE = "PRODUCT"
# fulfillment_channel_code of the seller's own (merchant) fulfilment.
MERCHANT_CHANNEL = "DEFAULT"
# Quantities are capped both ways: far beyond any real stock, within the
# 32-bit integers the database stores them in (a sum of three still fits).
MAX_QUANTITY = 500_000_000


def quantity_value(quantity):
    """The ``fulfillment_availability`` value of a merchant quantity."""
    return [
        {
            "fulfillment_channel_code": MERCHANT_CHANNEL,
            "quantity": min(max(0, int(quantity)), MAX_QUANTITY),
        }
    ]


def quantity_patches(quantity):
    """The JSON Patch operations of one SKU's merchant quantity."""
    return [
        {
            "op": "replace",
            "path": "/attributes/fulfillment_availability",
            "value": quantity_value(quantity),
        }
    ]


def build_quantity_feed(seller_id, quantities, product_type=DEFAULT_PRODUCT_TYPE):
    """Feed document (a dict) and ``{messageId: sku}`` for ``quantities``.

    :param seller_id: the seller's merchant token (the feed header needs it)
    :param quantities: iterable of ``(sku, quantity)``, at most MAX_MESSAGES
    :return: ``(document, skus_by_message_id)``
    """
    if not seller_id:
        raise ValueError("the seller ID is required in a listings feed")
    messages, skus = [], {}
    for message_id, (sku, quantity) in enumerate(quantities, start=1):
        if message_id > MAX_MESSAGES:
            raise ValueError(f"a feed holds at most {MAX_MESSAGES} messages")
        skus[message_id] = sku
        messages.append(
            {
                "messageId": message_id,
                "sku": sku,
                "operationType": "PATCH",
                "productType": product_type,
                "patches": quantity_patches(quantity),
            }
        )
    if not messages:
        raise ValueError("a feed needs at least one message")
    document = {
        "header": {"sellerId": seller_id, "version": "2.0"},
        "messages": messages,
    }
    return document, skus


def encode(document):
    """The bytes to upload (UTF-8 JSON, compact: 10,000 SKUs stay ~2 MB)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class FeedResult:
    """Outcome of a processed feed: accepted SKUs and errors per SKU."""

    accepted: set = field(default_factory=set)
    # {sku: "code: message; ..."} for messages Amazon refused.
    errors: dict = field(default_factory=dict)
    # Errors not tied to a message (e.g. the document could not be parsed).
    feed_errors: list = field(default_factory=list)
    warnings: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


def _issue_text(issue):
    code = issue.get("code")
    message = str(issue.get("message") or "").strip()
    return f"{code}: {message}" if code else message


def parse_report(report, skus_by_message_id):
    """Per-SKU outcome of a JSON_LISTINGS_FEED processing report.

    Raises ValueError (or TypeError) when the report cannot be read.
    A message is accepted unless an ERROR issue names it (by ``messageId``,
    else by ``sku``).  An ERROR without either concerns the whole feed: no
    SKU counts as accepted then.
    """
    if isinstance(report, bytes | str):
        report = json.loads(report)
    if not isinstance(report, dict):
        raise TypeError("the processing report is not a JSON object")
    by_sku = {sku: message_id for message_id, sku in skus_by_message_id.items()}
    result = FeedResult(summary=dict(report.get("summary") or {}))
    for issue in report.get("issues") or []:
        if not isinstance(issue, dict):
            continue
        sku = skus_by_message_id.get(issue.get("messageId")) or (
            issue.get("sku") if issue.get("sku") in by_sku else None
        )
        severity = issue.get("severity")
        text = _issue_text(issue)
        if sku is None:
            if severity == "ERROR":
                result.feed_errors.append(text)
            continue
        target = result.errors if severity == "ERROR" else result.warnings
        target[sku] = f"{target[sku]}; {text}" if sku in target else text
    if not result.feed_errors:
        result.accepted = set(by_sku) - set(result.errors)
    return result
