"""Stock both ways: merchant quantities out (Feeds, Listings Items), FBA stock in.

Every call goes through python-amazon-sp-api (``FeedsV20210630``,
``ListingsItemsV20210801``, ``Inventories``) bound to the channel the way
:mod:`.client` binds the orders clients, and through :meth:`AmazonClient._call`
so that pacing, retries and typed errors are the same as for orders.  The
feed document itself is moved with the client's HTTP connection after the same
link checks as a customisation file: the library would PUT it anywhere, and
without a timeout.  No Odoo import.
"""

import zlib
from dataclasses import dataclass, field

import httpx
from sp_api.api.feeds.feeds_2021_06_30 import FeedsV20210630
from sp_api.api.inventories.inventories import Inventories
from sp_api.api.listings_items.listings_items_2021_08_01 import (
    ListingsItemsV20210801,
)
from sp_api.base import fill_query_params, sp_endpoint

from . import feeds, links
from .client import (
    _ChannelClientMixin,
    _request_id,
    _transport_error,
    follow_next_tokens,
)
from .errors import AmazonError

# Feed documents live on Amazon's S3 buckets (e.g.
# tortuga-prod-eu.s3-eu-west-1.amazonaws.com); the link comes from the Feeds
# API itself, not from order data, but is still checked like any download.
FEED_DOCUMENT_HOSTS = ("amazonaws.com",)
MAX_REPORT_BYTES = 50 * 1024 * 1024
# getInventorySummaries returns up to 50 summaries per page.
SUMMARY_PAGE_SIZE = 50
# 50,000 SKUs per marketplace: a nextToken that changes on every page (a bug
# or a hostile endpoint) must not keep the read going forever.
MAX_SUMMARY_PAGES = 1000
TERMINAL_FEED_STATUSES = ("DONE", "CANCELLED", "FATAL")


class _FeedsApi(_ChannelClientMixin, FeedsV20210630):
    def _request(self, path, *, add_marketplace=True, **kwargs):
        # The library would add marketplaceIds (twice, in two spellings) to
        # createFeedDocument's body; createFeed passes its own.
        return super()._request(path, add_marketplace=False, **kwargs)

    @sp_endpoint("/feeds/2021-06-30/documents/{}", method="GET")
    def get_feed_document_info(self, feedDocumentId, **kwargs):
        # The library's get_feed_document also downloads the file, unchecked.
        return self._request(
            fill_query_params(kwargs.pop("path"), feedDocumentId), params=kwargs
        )


class _ListingsApi(_ChannelClientMixin, ListingsItemsV20210801):
    pass


class _InventoriesApi(_ChannelClientMixin, Inventories):
    pass


@dataclass
class SubmittedFeed:
    feed_id: str
    document_id: str
    request_id: str | None = None


@dataclass
class FeedStatus:
    feed_id: str
    status: str
    result_document_id: str | None = None

    @property
    def done(self):
        return self.status in TERMINAL_FEED_STATUSES


@dataclass
class FbaStock:
    """Quantities Amazon holds for one SKU in one marketplace."""

    sku: str
    fulfillable: int = 0
    reserved: int = 0
    inbound: int = 0
    unfulfillable: int = 0
    asin: str | None = None


@dataclass
class SummariesPage:
    marketplace_id: str
    stocks: list = field(default_factory=list)
    next_token: str | None = None
    request_id: str | None = None


def _document_config(client):
    return client.config.replace(download_hosts=FEED_DOCUMENT_HOSTS)


def _transfer(client, method, url, content=None, headers=None):
    """PUT or GET a feed document at its presigned ``url``; returns the body."""
    http = client._download_client()
    config = _document_config(client)
    try:
        link = httpx.URL(url)
        links.check(link, config, client.resolver)
        with http.stream(
            method, link, content=content, headers=headers, follow_redirects=False
        ) as response:
            _check_status(response)
            return _read_capped(response)
    except httpx.InvalidURL:
        raise AmazonError(
            "feed_document", params={"detail": "the link is not a valid address"}
        ) from None
    except httpx.HTTPError as exc:
        raise _transport_error(exc) from None


def _too_large():
    return AmazonError("feed_document", params={"detail": "the file is too large"})


def _read_capped(response):
    """The body, read no further than MAX_REPORT_BYTES."""
    try:
        announced = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        announced = 0
    if announced > MAX_REPORT_BYTES:
        raise _too_large()
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_REPORT_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(content):
    """Decompressed ``content``, never more than MAX_REPORT_BYTES of it."""
    decompressor = zlib.decompressobj(wbits=31)
    try:
        data = decompressor.decompress(content, MAX_REPORT_BYTES + 1)
    except zlib.error:
        data = None
    if data is not None and (
        len(data) > MAX_REPORT_BYTES or decompressor.unconsumed_tail
    ):
        raise _too_large()
    if data is None or not decompressor.eof:
        raise AmazonError(
            "feed_document", params={"detail": "the report is not valid gzip"}
        )
    return data


def _check_status(response):
    request_id = _request_id(response.headers)
    if response.status_code >= 500 or response.status_code == 429:
        raise AmazonError(
            "unavailable",
            params={"detail": f"HTTP {response.status_code}", "attempts": 1},
            request_id=request_id,
            status=response.status_code,
            retryable=True,
        )
    if response.status_code >= 300:
        raise AmazonError(
            "feed_document",
            params={"detail": f"HTTP {response.status_code}"},
            request_id=request_id,
            status=response.status_code,
        )


def _payload(api):
    body = api.last_json
    if isinstance(body, dict) and isinstance(body.get("payload"), dict):
        return body["payload"]
    return body if isinstance(body, dict) else {}


def _required(body, key, api, what):
    value = body.get(key)
    if not value or not isinstance(value, str):
        raise AmazonError(
            "malformed",
            params={"detail": f"{what} without {key}"},
            request_id=_request_id(api.last_response.headers),
            retryable=True,
        )
    return value


# -- out: feeds -------------------------------------------------------------


def submit_feed(client, document, marketplace_ids, feed_type=feeds.FEED_TYPE):
    """createFeedDocument, upload, createFeed: one feed of ``document``.

    :param document: the feed as a dict (see :func:`feeds.build_quantity_feed`)
    :return: SubmittedFeed
    """
    if not marketplace_ids:
        raise ValueError("a feed needs at least one marketplace")
    api = client._api(_FeedsApi)
    client._call(
        "createFeedDocument",
        api,
        lambda: api.create_feed_document(None, feeds.CONTENT_TYPE),
    )
    created = _payload(api)
    document_id = _required(created, "feedDocumentId", api, "createFeedDocument")
    url = _required(created, "url", api, "createFeedDocument")
    body = feeds.encode(document)
    client._call(
        None,
        None,
        lambda: _transfer(
            client,
            "PUT",
            url,
            content=body,
            headers={"Content-Type": feeds.CONTENT_TYPE},
        ),
    )
    # Not idempotent: a repeated createFeed would apply the document twice.
    client._call(
        "createFeed",
        api,
        lambda: api.create_feed(
            feed_type, document_id, marketplaceIds=list(marketplace_ids)
        ),
        idempotent=False,
    )
    feed_id = _required(_payload(api), "feedId", api, "createFeed")
    return SubmittedFeed(feed_id, document_id, client.last_request_id)


def get_feed(client, feed_id):
    """getFeed: the processing status of a feed."""
    api = client._api(_FeedsApi)
    client._call("getFeed", api, lambda: api.get_feed(feed_id))
    body = _payload(api)
    return FeedStatus(
        feed_id=feed_id,
        status=_required(body, "processingStatus", api, "getFeed"),
        result_document_id=body.get("resultFeedDocumentId"),
    )


def get_feed_report(client, document_id):
    """getFeedDocument then the document: the processing report's bytes."""
    api = client._api(_FeedsApi)
    client._call(
        "getFeedDocument", api, lambda: api.get_feed_document_info(document_id)
    )
    info = _payload(api)
    url = _required(info, "url", api, "getFeedDocument")
    content = client._call(None, None, lambda: _transfer(client, "GET", url))
    if info.get("compressionAlgorithm") == "GZIP":
        content = _gunzip(content)
    return content


def feed_result(client, status, skus_by_message_id):
    """The per-SKU outcome of a finished feed (:class:`feeds.FeedResult`)."""
    if status.status != "DONE" or not status.result_document_id:
        raise AmazonError(
            "feed_failed", params={"feed": status.feed_id, "status": status.status}
        )
    report = get_feed_report(client, status.result_document_id)
    try:
        return feeds.parse_report(report, skus_by_message_id)
    except (TypeError, ValueError) as error:
        raise AmazonError(
            "feed_document", params={"detail": str(error)[:200]}
        ) from None


# -- out: a handful of SKUs -------------------------------------------------


def patch_quantity(
    client,
    seller_id,
    sku,
    quantity,
    marketplace_ids,
    product_type=feeds.DEFAULT_PRODUCT_TYPE,
):
    """patchListingsItem of one SKU's merchant quantity.

    :return: ``(accepted, message)``: Amazon's status and its ERROR issues
    """
    api = client._api(_ListingsApi)
    client._call(
        "patchListingsItem",
        api,
        lambda: api.patch_listings_item(
            seller_id,
            sku,
            marketplaceIds=",".join(marketplace_ids),
            body={
                "productType": product_type,
                "patches": feeds.quantity_patches(quantity),
            },
        ),
    )
    body = api.last_json if isinstance(api.last_json, dict) else {}
    errors = [
        feeds._issue_text(issue)
        for issue in body.get("issues") or []
        if isinstance(issue, dict) and issue.get("severity") == "ERROR"
    ]
    return body.get("status") == "ACCEPTED" and not errors, "; ".join(errors)


# -- in: FBA inventory --------------------------------------------------------


def _as_int(value):
    try:
        return min(max(0, int(value or 0)), feeds.MAX_QUANTITY)
    except (TypeError, ValueError, OverflowError):
        return 0


def parse_summary(summary):
    """One InventorySummary → FbaStock, or None without a seller SKU."""
    if not isinstance(summary, dict) or not summary.get("sellerSku"):
        return None
    details = summary.get("inventoryDetails") or {}
    reserved = (details.get("reservedQuantity") or {}).get("totalReservedQuantity")
    unfulfillable = (details.get("unfulfillableQuantity") or {}).get(
        "totalUnfulfillableQuantity"
    )
    inbound = min(
        sum(
            _as_int(details.get(key))
            for key in (
                "inboundWorkingQuantity",
                "inboundShippedQuantity",
                "inboundReceivingQuantity",
            )
        ),
        feeds.MAX_QUANTITY,
    )
    return FbaStock(
        sku=str(summary["sellerSku"]),
        fulfillable=_as_int(details.get("fulfillableQuantity")),
        reserved=_as_int(reserved),
        inbound=inbound,
        unfulfillable=_as_int(unfulfillable),
        asin=summary.get("asin"),
    )


def inventory_summaries(client, marketplace_id, next_token=None):
    """One page of getInventorySummaries (with details) for one marketplace."""
    params = {
        "details": "true",
        "granularityType": "Marketplace",
        "granularityId": marketplace_id,
        "marketplaceIds": marketplace_id,
    }
    if next_token:
        params["nextToken"] = next_token
    api = client._api(_InventoriesApi)
    client._call(
        "getInventorySummaries",
        api,
        lambda: api.get_inventory_summary_marketplace(**dict(params)),
    )
    body = api.last_json if isinstance(api.last_json, dict) else {}
    payload = body.get("payload")
    if not isinstance(payload, dict) or not isinstance(
        payload.get("inventorySummaries"), list
    ):
        raise AmazonError(
            "malformed",
            params={"detail": "getInventorySummaries without inventorySummaries"},
            request_id=client.last_request_id,
            retryable=True,
        )
    stocks = [
        stock
        for stock in map(parse_summary, payload["inventorySummaries"])
        if stock is not None
    ]
    token = (body.get("pagination") or {}).get("nextToken") or None
    return SummariesPage(marketplace_id, stocks, token, client.last_request_id)


def iter_inventory_summaries(client, marketplace_id):
    """Pages of getInventorySummaries, following nextToken."""
    return follow_next_tokens(
        lambda token: inventory_summaries(client, marketplace_id, token),
        repeat_detail="getInventorySummaries repeats a nextToken",
        max_pages=MAX_SUMMARY_PAGES,
        limit_detail=f"getInventorySummaries still pages after {MAX_SUMMARY_PAGES} "
        f"pages of {marketplace_id}",
    )


def fba_stock(client, marketplace_ids):
    """``{sku: FbaStock}`` over the channel's marketplaces.

    Pan-European FBA reports the same units in every marketplace of its pool,
    so quantities are not added up across marketplaces: the largest figure of
    each SKU is kept.
    """
    result = {}
    for marketplace_id in marketplace_ids:
        for page in iter_inventory_summaries(client, marketplace_id):
            for stock in page.stocks:
                known = result.get(stock.sku)
                if known is None or stock.fulfillable > known.fulfillable:
                    result[stock.sku] = stock
                elif stock.fulfillable == known.fulfillable:
                    known.reserved = max(known.reserved, stock.reserved)
                    known.inbound = max(known.inbound, stock.inbound)
    return result
