"""Orders API 2026-01-01 (searchOrders, getOrder) and v0 confirmShipment.

The parameter rules are the ones written in the model's descriptions:

* exactly one of ``createdAfter`` / ``lastUpdatedAfter``; ``createdAfter``
  excludes ``lastUpdatedAfter``/``lastUpdatedBefore`` and ``lastUpdatedAfter``
  excludes ``createdAfter``/``createdBefore``;
* ``createdBefore``/``lastUpdatedBefore`` are optional, must not be earlier
  than the matching "after" and must be at least two minutes before the time
  of the request; when absent the fake uses *now - 2 minutes* and echoes the
  bound it used in the response (``createdBefore`` or ``lastUpdatedBefore``);
* ``maxResultsPerPage`` 1..100 (default 100), ``marketplaceIds`` at most 50;
* a ``paginationToken`` is valid 24 hours and only with the same other
  parameters (``maxResultsPerPage`` and ``includedData`` may change).

Orders are sorted by the searched time field, then ``orderId``; the result
set is frozen when the first page is served, so pages never skip or repeat.
"""

import copy
import re
import secrets
from datetime import timedelta

from . import contract
from . import marketplaces as mkt
from .seed import NO_PRICE_STATUSES, _package
from .store import PAGE_TOKEN_TTL, PageState, iso

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
# "A seller-supplied identifier that uniquely identifies a package within the
# scope of an order. Only positive numeric values are supported."
PACKAGE_REFERENCE = re.compile(r"^[1-9]\d*$")
MIN_AGE = timedelta(minutes=2)

# includedData value -> (order level keys, item level keys)
DATASETS = {
    "BUYER": (("buyer",), ()),
    "RECIPIENT": (("recipient",), ()),
    "PROCEEDS": (("proceeds",), ("proceeds",)),
    "EXPENSE": ((), ("expense",)),
    "PROMOTION": ((), ("promotion",)),
    "CANCELLATION": ((), ("cancellation",)),
    "FULFILLMENT": (("fulfillment",), ("fulfillment",)),
    "PACKAGES": (("packages",), ()),
    "TAX": (("tax",), ("tax",)),
    "PAYMENT": (("payment",), ()),
    "FULFILLMENT_ORDERS": (("fulfillmentOrders",), ()),
}
ORDER_OPTIONAL = {key for keys, _items in DATASETS.values() for key in keys}
ITEM_OPTIONAL = {key for _keys, items in DATASETS.values() for key in items}
PAGE_KEYS = ("maxResultsPerPage", "includedData", "paginationToken")


class ApiError(Exception):
    def __init__(self, status, code, message, details=""):
        super().__init__(message)
        self.status, self.code, self.message, self.details = (
            status,
            code,
            message,
            details,
        )

    def body(self):
        return {
            "errors": [
                {"code": self.code, "message": self.message, "details": self.details}
            ]
        }


def invalid(message):
    return ApiError(400, "InvalidInput", message)


def render_order(record, included, base_url):
    """The order as Amazon would serve it for ``includedData``."""
    order = copy.deepcopy(record.order)
    wanted = set(included)
    order_keys = {k for d in wanted for k in DATASETS[d][0]}
    item_keys = {k for d in wanted for k in DATASETS[d][1]}
    status = record.order.get("fulfillment", {}).get("fulfillmentStatus")
    for key in ORDER_OPTIONAL - order_keys:
        order.pop(key, None)
    if status in NO_PRICE_STATUSES:
        order.pop("proceeds", None)
    if status in ("PENDING", "PENDING_AVAILABILITY"):
        order.pop("recipient", None)
    for item in order.get("orderItems", []):
        for key in ITEM_OPTIONAL - item_keys:
            item.pop(key, None)
        product = item.get("product", {})
        if status in NO_PRICE_STATUSES:
            item.pop("proceeds", None)
            product.pop("price", None)
        spec = record.customizations.get(item.get("orderItemId"))
        if spec and "customization" in product:
            product["customization"]["customizedUrl"] = (
                f"{base_url}/custom/{spec['token']}.zip"
            )
    return order


def _parse_time(params, name, problems):
    value = params.get(name)
    if value is None:
        return None
    parsed = contract.parse_datetime(value)
    if parsed is None:
        problems.append(f"{name} is not a valid ISO 8601 date-time: {value}")
    return parsed


def search_window(params, now):
    """Validate the time window; returns (field, after, before, echo key)."""
    problems = []
    times = {
        name: _parse_time(params, name, problems)
        for name in (
            "createdAfter",
            "createdBefore",
            "lastUpdatedAfter",
            "lastUpdatedBefore",
        )
    }
    if problems:
        raise invalid("; ".join(problems))
    has = {name for name in times if name in params}
    if ("createdAfter" in has) == ("lastUpdatedAfter" in has):
        raise invalid(
            "Exactly one of createdAfter and lastUpdatedAfter must be provided."
        )
    if "createdAfter" in has:
        field, after_key, before_key = "createdTime", "createdAfter", "createdBefore"
        if has & {"lastUpdatedAfter", "lastUpdatedBefore"}:
            raise invalid(
                "lastUpdatedAfter and lastUpdatedBefore cannot be provided "
                "with createdAfter."
            )
    else:
        field, after_key, before_key = (
            "lastUpdatedTime",
            "lastUpdatedAfter",
            "lastUpdatedBefore",
        )
        if has & {"createdAfter", "createdBefore"}:
            raise invalid(
                "createdAfter and createdBefore cannot be provided "
                "with lastUpdatedAfter."
            )
    after, before = times[after_key], times[before_key]
    latest = now - MIN_AGE
    if before is None:
        before = latest.replace(microsecond=0)
    elif before > latest:
        raise invalid(
            f"{before_key} must be at least two minutes before the time of the request."
        )
    if before < after:
        raise invalid(f"{before_key} must be equal to or after {after_key}.")
    if after > latest:
        raise invalid(
            f"{after_key} must be at least two minutes before the time of the request."
        )
    return field, after, before, before_key


def _list(params, name):
    return params.get(name) or []


def search(store, seller_id, params, base_url):
    """searchOrders; ``params`` has parsed values (lists for arrays)."""
    now = store.clock.now()
    page_size = params.get("maxResultsPerPage", 100)
    if not 1 <= page_size <= 100:
        raise invalid("maxResultsPerPage must be between 1 and 100.")
    marketplace_ids = _list(params, "marketplaceIds")
    if len(marketplace_ids) > 50:
        raise invalid("marketplaceIds accepts at most 50 values.")
    unknown = [m for m in marketplace_ids if m not in mkt.BY_ID]
    if unknown:
        raise invalid(f"Invalid marketplaceIds: {', '.join(unknown)}")
    fingerprint = tuple(
        sorted(
            (k, tuple(v) if isinstance(v, list) else v)
            for k, v in params.items()
            if k not in PAGE_KEYS
        )
    )
    token = params.get("paginationToken")
    if token:
        state = store.page_tokens.get(token)
        if state is None or state.fingerprint != (seller_id,) + fingerprint:
            raise invalid("Invalid paginationToken.")
        if now - state.issued_at > PAGE_TOKEN_TTL:
            raise invalid("The paginationToken has expired. Please restart the search.")
    else:
        field, after, before, echo = search_window(params, now)
        state = PageState(
            (seller_id,) + fingerprint,
            _matching(store, seller_id, params, field, after, before),
            0,
            now,
            {echo: iso(before)},
        )
    ids = state.order_ids[state.offset : state.offset + page_size]
    included = _list(params, "includedData")
    orders = [render_order(store.orders[i], included, base_url) for i in ids]
    body = {"orders": orders}
    if state.offset + page_size < len(state.order_ids):
        next_token = secrets.token_urlsafe(24)
        store.page_tokens[next_token] = PageState(
            state.fingerprint,
            state.order_ids,
            state.offset + page_size,
            state.issued_at,
            state.bounds,
        )
        body["pagination"] = {"nextToken": next_token}
    body.update(state.bounds)
    untrusted = any(not store.orders[i].trusted for i in ids)
    return body, untrusted


def _matching(store, seller_id, params, field, after, before):
    statuses = set(_list(params, "fulfillmentStatuses"))
    fulfilled_by = set(_list(params, "fulfilledBy"))
    marketplaces = set(_list(params, "marketplaceIds"))
    low, high = iso(after), iso(before)
    found = []
    for order_id, record in store.orders.items():
        order = record.order
        if record.seller_id != seller_id:
            continue
        stamp = iso(contract.parse_datetime(order[field]))
        if not low <= stamp <= high:
            continue
        fulfillment = order.get("fulfillment", {})
        if statuses and fulfillment.get("fulfillmentStatus") not in statuses:
            continue
        if fulfilled_by and fulfillment.get("fulfilledBy") not in fulfilled_by:
            continue
        if (
            marketplaces
            and order["salesChannel"].get("marketplaceId") not in marketplaces
        ):
            continue
        found.append((stamp, order_id))
    return [order_id for _stamp, order_id in sorted(found)]


def get_order(store, seller_id, order_id, params, base_url):
    if not ORDER_ID.match(order_id):
        raise invalid(f"Invalid orderId: {order_id}")
    record = store.orders.get(order_id)
    if record is None or record.seller_id != seller_id:
        raise ApiError(404, "NotFound", "Order not found.", f"orderId {order_id}")
    included = _list(params, "includedData")
    return {"order": render_order(record, included, base_url)}, not record.trusted


def _package_items(order, detail):
    """{orderItemId: quantity} of a package, checked as Amazon checks it."""
    if contract.parse_datetime(detail.get("shipDate")) is None:
        raise invalid("shipDate must be an ISO 8601 date-time.")
    reference = str(detail["packageReferenceId"])
    if not PACKAGE_REFERENCE.match(reference):
        raise invalid("packageReferenceId must be a positive number.")
    if detail["carrierCode"] == "Other" and not detail.get("carrierName"):
        raise invalid('carrierName is required when carrierCode is "Other".')
    if reference in {
        str(p.get("packageReferenceId")) for p in order.get("packages", [])
    }:
        raise invalid(
            f"packageReferenceId {reference} is already confirmed for this order."
        )
    if not detail.get("orderItems"):
        raise invalid("orderItems must list at least one order item.")
    items = {i["orderItemId"]: i for i in order.get("orderItems", [])}
    wanted = {}
    for line in detail["orderItems"]:
        if line["orderItemId"] not in items:
            raise invalid(f"Unknown orderItemId {line['orderItemId']}.")
        wanted[line["orderItemId"]] = (
            wanted.get(line["orderItemId"], 0) + line["quantity"]
        )
    for item_id, quantity in wanted.items():
        item = items[item_id]
        left = item.get("fulfillment", {}).get(
            "quantityUnfulfilled", item["quantityOrdered"]
        )
        if not 0 < quantity <= left:
            raise invalid(f"Invalid quantity for orderItemId {item_id}.")
    return wanted


def confirm_shipment(store, seller_id, order_id, body):
    """Record a package and move the order to (PARTIALLY_)SHIPPED."""
    if not ORDER_ID.match(order_id):
        raise invalid(f"Invalid orderId: {order_id}")
    record = store.orders.get(order_id)
    if record is None or record.seller_id != seller_id:
        raise ApiError(404, "NotFound", "Order not found.", f"orderId {order_id}")
    # Checked and applied at once: two confirmations never both pass.
    with store.lock:
        order = record.order
        if body.get("marketplaceId") != order["salesChannel"].get("marketplaceId"):
            raise invalid("marketplaceId does not match the order.")
        fulfillment = order.get("fulfillment", {})
        if fulfillment.get("fulfilledBy") == "AMAZON":
            raise invalid(
                "Shipment confirmation is not allowed for orders fulfilled by Amazon."
            )
        if fulfillment.get("fulfillmentStatus") not in (
            "UNSHIPPED",
            "PARTIALLY_SHIPPED",
        ):
            raise invalid(
                "Cannot confirm shipment of an order in status "
                f"{fulfillment.get('fulfillmentStatus')}."
            )
        detail = body["packageDetail"]
        items = {i["orderItemId"]: i for i in order.get("orderItems", [])}
        wanted = _package_items(order, detail)
        when = iso(store.clock.now())
        package = _package(order, when, str(detail["packageReferenceId"]))
        package.update(
            carrier=detail.get("carrierName") or detail["carrierCode"],
            trackingNumber=detail["trackingNumber"],
            shipTime=iso(contract.parse_datetime(detail["shipDate"])),
            packageItems=[
                {"orderItemId": item_id, "quantity": quantity}
                for item_id, quantity in wanted.items()
            ],
        )
        if detail.get("shippingMethod"):
            package["shippingService"] = detail["shippingMethod"]
        order.setdefault("packages", []).append(package)
        for item_id, quantity in wanted.items():
            ful = items[item_id].setdefault("fulfillment", {})
            done = ful.get("quantityFulfilled", 0) + quantity
            ful["quantityFulfilled"] = done
            ful["quantityUnfulfilled"] = items[item_id]["quantityOrdered"] - done
        complete = all(
            i.get("fulfillment", {}).get("quantityUnfulfilled") == 0
            for i in items.values()
        )
        fulfillment["fulfillmentStatus"] = (
            "SHIPPED" if complete else "PARTIALLY_SHIPPED"
        )
        order["lastUpdatedTime"] = when
        record.timeline = []
