"""The fake's offers, feeds and FBA stock (Feeds 2021-06-30, Listings Items
2021-08-01, FBA Inventory v1).

State is kept per seller: offers (SKU → fulfilled by MERCHANT or AMAZON and
the merchant quantity), feed documents (uploaded to and downloaded from a
local presigned-like URL), feeds (IN_QUEUE → IN_PROGRESS → DONE as they are
polled) and FBA quantities per marketplace.  The uploaded feed and the report
the fake writes are checked against Amazon's JSON schemas
(listings-feed-schema-v2, listings-feed-processing-report-schema-v2).
"""

import gzip
import itertools
import json
import threading
from dataclasses import dataclass, field

from . import contract
from .orders_api import ApiError, invalid

NOT_FOUND = ApiError(404, "NotFound", "The requested resource was not found.")


@dataclass
class Offer:
    sku: str
    fulfilled_by: str = "MERCHANT"
    quantity: int | None = None
    history: list = field(default_factory=list)


@dataclass
class Document:
    document_id: str
    seller_id: str
    content_type: str
    content: bytes | None = None
    compressed: bool = False


@dataclass
class Feed:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list
    document_id: str
    created: str
    polls: int = 0
    status: str = "IN_QUEUE"
    result_document_id: str | None = None
    started: str | None = None
    ended: str | None = None


class Listings:
    """Offers, feeds and FBA stock of every seller of one fake Amazon."""

    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.RLock()
        self.offers = {}  # (seller_id, sku) -> Offer
        self.documents = {}
        self.feeds = {}
        self.fba = {}  # (seller_id, marketplace_id) -> {sku: summary values}
        # SKUs every feed or patch refuses (e.g. a listing Amazon suppressed).
        self.rejected = {}
        # getFeed answers IN_QUEUE, then IN_PROGRESS, then DONE on this poll.
        self.polls_to_done = 3
        self.page_size = 50
        self.violations = []
        self._ids = itertools.count(50001)

    def _next_id(self):
        return str(next(self._ids))

    # Set-up ------------------------------------------------------------

    def add_offer(self, seller_id, sku, fulfilled_by="MERCHANT", quantity=None):
        with self.lock:
            offer = Offer(sku, fulfilled_by, quantity)
            self.offers[(seller_id, sku)] = offer
            return offer

    def set_fba(self, seller_id, marketplace_id, sku, fulfillable=0, **details):
        """FBA quantities of ``sku``; ``details``: reserved, inbound..."""
        with self.lock:
            self.fba.setdefault((seller_id, marketplace_id), {})[sku] = {
                "fulfillable": fulfillable,
                **details,
            }

    def quantity(self, seller_id, sku):
        return self.offers[(seller_id, sku)].quantity

    # Feeds ---------------------------------------------------------------

    def create_document(self, seller_id, body, base_url):
        with self.lock:
            document_id = "amzn1.tortuga.4." + self._next_id()
            self.documents[document_id] = Document(
                document_id, seller_id, body["contentType"]
            )
        return 201, {"feedDocumentId": document_id, "url": _url(base_url, document_id)}

    def upload(self, document_id, data):
        with self.lock:
            document = self.documents.get(document_id)
            if document is None or document.content is not None:
                # S3 refuses a presigned PUT it does not know (or a second one).
                return 403
            document.content = data
            return 200

    def download(self, document_id):
        with self.lock:
            document = self.documents.get(document_id)
            return None if document is None else document.content

    def create_feed(self, seller_id, body):
        with self.lock:
            document = self.documents.get(body["inputFeedDocumentId"])
            if document is None or document.seller_id != seller_id:
                raise invalid("Unknown inputFeedDocumentId.")
            if document.content is None:
                raise invalid("The feed document has not been uploaded.")
            feed = Feed(
                self._next_id(),
                seller_id,
                body["feedType"],
                list(body["marketplaceIds"]),
                document.document_id,
                contract_now(self.clock),
            )
            self.feeds[feed.feed_id] = feed
            return 202, {"feedId": feed.feed_id}

    def get_feed(self, seller_id, feed_id):
        with self.lock:
            feed = self.feeds.get(feed_id)
            if feed is None or feed.seller_id != seller_id:
                raise NOT_FOUND
            feed.polls += 1
            if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
                if feed.polls >= self.polls_to_done:
                    self._process(feed)
                elif feed.polls >= 2:
                    feed.status = "IN_PROGRESS"
                    feed.started = contract_now(self.clock)
            payload = {
                "feedId": feed.feed_id,
                "feedType": feed.feed_type,
                "marketplaceIds": feed.marketplace_ids,
                "createdTime": feed.created,
                "processingStatus": feed.status,
            }
            for key, value in (
                ("processingStartTime", feed.started),
                ("processingEndTime", feed.ended),
                ("resultFeedDocumentId", feed.result_document_id),
            ):
                if value:
                    payload[key] = value
            return 200, payload

    def get_document(self, seller_id, document_id, base_url):
        with self.lock:
            document = self.documents.get(document_id)
            if document is None or document.seller_id != seller_id:
                raise NOT_FOUND
            payload = {
                "feedDocumentId": document_id,
                "url": _url(base_url, document_id),
            }
            if document.compressed:
                payload["compressionAlgorithm"] = "GZIP"
            return 200, payload

    def _process(self, feed):
        feed.started = feed.started or contract_now(self.clock)
        feed.ended = contract_now(self.clock)
        raw = self.documents[feed.document_id].content
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        problems = (
            contract.validate_document("listings-feed-schema-v2", document)
            if document is not None
            else ["feed document: not JSON"]
        )
        if feed.feed_type != "JSON_LISTINGS_FEED" or problems:
            self.violations += problems
            feed.status = "FATAL"
            return
        issues, accepted = [], 0
        for message in document["messages"]:
            problem = self._apply(feed.seller_id, message)
            if problem:
                code, text = problem
                issues.append(
                    {
                        "messageId": message["messageId"],
                        "sku": message["sku"],
                        "code": code,
                        "severity": "ERROR",
                        "message": text,
                    }
                )
            else:
                accepted += 1
        report = {
            "header": {
                "sellerId": document["header"]["sellerId"],
                "version": "2.0",
                "feedId": feed.feed_id,
            },
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": len(document["messages"]),
                "messagesAccepted": accepted,
                "messagesInvalid": len(issues),
            },
        }
        self.violations += contract.validate_document(
            "listings-feed-processing-report-schema-v2", report
        )
        result = Document(
            "amzn1.tortuga.4." + self._next_id(),
            feed.seller_id,
            "application/json",
            gzip.compress(json.dumps(report).encode()),
            compressed=True,
        )
        self.documents[result.document_id] = result
        feed.result_document_id = result.document_id
        feed.status = "DONE"

    def _apply(self, seller_id, message):
        """Apply one feed or patch message; (code, message) when refused."""
        sku = message["sku"]
        offer = self.offers.get((seller_id, sku))
        if offer is None:
            return "18027", f"The SKU '{sku}' does not match any listing."
        if sku in self.rejected.get(seller_id, ()):
            return self.rejected[seller_id][sku]
        quantity = None
        for patch in message.get("patches") or []:
            if patch.get("path") != "/attributes/fulfillment_availability":
                continue
            for value in patch.get("value") or []:
                if value.get("fulfillment_channel_code") != "DEFAULT":
                    continue
                if offer.fulfilled_by != "MERCHANT":
                    return (
                        "90244",
                        (
                            f"The SKU '{sku}' is fulfilled by Amazon: its quantity "
                            "cannot be set by the seller."
                        ),
                    )
                quantity = value.get("quantity")
        if not isinstance(quantity, int) or quantity < 0:
            return "90220", "'[fulfillment_availability.quantity]' is required."
        offer.quantity = quantity
        offer.history.append(quantity)
        return None

    def take_violations(self):
        with self.lock:
            found, self.violations = self.violations, []
            return found

    def reject(self, seller_id, sku, code="8560", message=None):
        with self.lock:
            self.rejected.setdefault(seller_id, {})[sku] = (
                code,
                message or f"SKU '{sku}': the listing is suppressed.",
            )

    # Listings Items ------------------------------------------------------

    def patch(self, seller_id, path_seller_id, sku, body):
        if path_seller_id != seller_id:
            raise ApiError(
                403, "Unauthorized", "Access to requested resource is denied."
            )
        with self.lock:
            problem = self._apply(
                seller_id, {"sku": sku, "patches": body.get("patches") or []}
            )
        payload = {
            "sku": sku,
            "status": "INVALID" if problem else "ACCEPTED",
            "submissionId": self._next_id(),
            "issues": [],
        }
        if problem:
            payload["issues"].append(
                {
                    "code": problem[0],
                    "message": problem[1],
                    "severity": "ERROR",
                    "categories": ["INVALID_ATTRIBUTE"],
                }
            )
        return 200, payload

    # FBA inventory -------------------------------------------------------

    def summaries(self, seller_id, query):
        marketplace_id = query["granularityId"][0]
        marketplace_ids = contract.split_array(query["marketplaceIds"])
        if marketplace_ids != [marketplace_id]:
            raise invalid("marketplaceIds must be the granularityId.")
        details = query.get("details", ["false"])[-1] == "true"
        with self.lock:
            stock = self.fba.get((seller_id, marketplace_id), {})
            skus = sorted(stock)
            token = (query.get("nextToken") or [""])[-1]
            start = 0
            if token:
                try:
                    start = int(token.rsplit(".", 1)[-1])
                except ValueError:
                    raise invalid("Invalid nextToken.") from None
            page = skus[start : start + self.page_size]
            summaries = [_summary(sku, stock[sku], details, self.clock) for sku in page]
        body = {
            "payload": {
                "granularity": {
                    "granularityType": "Marketplace",
                    "granularityId": marketplace_id,
                },
                "inventorySummaries": summaries,
            }
        }
        if start + self.page_size < len(skus):
            body["pagination"] = {
                "nextToken": f"{marketplace_id}.{start + self.page_size}"
            }
        return 200, body


def _url(base_url, document_id):
    return f"{base_url}/feed-documents/{document_id}"


def contract_now(clock):
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(sku, values, details, clock):
    summary = {
        "asin": values.get("asin") or "B0" + str(abs(hash(sku)) % 10**8).zfill(8),
        "fnSku": "X00" + str(abs(hash(sku)) % 10**7).zfill(7),
        "sellerSku": sku,
        "condition": "NewItem",
        "lastUpdatedTime": contract_now(clock),
        "productName": values.get("name") or sku,
        "totalQuantity": values["fulfillable"]
        + values.get("reserved", 0)
        + values.get("inbound", 0),
    }
    if details:
        summary["inventoryDetails"] = {
            "fulfillableQuantity": values["fulfillable"],
            "inboundWorkingQuantity": values.get("inbound", 0),
            "inboundShippedQuantity": 0,
            "inboundReceivingQuantity": 0,
            "reservedQuantity": {
                "totalReservedQuantity": values.get("reserved", 0),
                "pendingCustomerOrderQuantity": values.get("reserved", 0),
                "pendingTransshipmentQuantity": 0,
                "fcProcessingQuantity": 0,
            },
            "unfulfillableQuantity": {
                "totalUnfulfillableQuantity": values.get("unfulfillable", 0)
            },
        }
    return summary


OPERATIONS = (
    "createFeedDocument",
    "createFeed",
    "getFeed",
    "getFeedDocument",
    "patchListingsItem",
    "getInventorySummaries",
)


def handle(listings, operation, seller_id, captured, query, body, base_url):
    """(status, payload) of one of :data:`OPERATIONS` (request already checked)."""
    if operation == "createFeedDocument":
        return listings.create_document(seller_id, body, base_url)
    if operation == "createFeed":
        return listings.create_feed(seller_id, body)
    if operation == "getFeed":
        return listings.get_feed(seller_id, captured["feedId"])
    if operation == "getFeedDocument":
        return listings.get_document(seller_id, captured["feedDocumentId"], base_url)
    if operation == "patchListingsItem":
        return listings.patch(seller_id, captured["sellerId"], captured["sku"], body)
    return listings.summaries(seller_id, query)
