"""searchOrders / getOrder (Orders API 2026-01-01): parameters in, plain dicts out.

The v0 getOrders/getOrderItems operations are deprecated (retired 2027-03-27);
2026-01-01 returns items, buyer and recipient inside the order (``includedData``).
"""

from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import AmazonError

# Every dataset searchOrders/getOrder can include (orders_2026-01-01 model).
INCLUDED_DATA = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
)
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)
FULFILLED_BY = ("MERCHANT", "AMAZON")
MAX_RESULTS_PER_PAGE = 100


@dataclass
class OrdersPage:
    """One searchOrders page.

    ``window_end`` is Amazon's own upper bound of the search (its
    lastUpdatedBefore/createdBefore): orders changed after it are not in this
    search, so a sync cursor must never move past it.
    """

    orders: list = field(default_factory=list)
    next_token: str | None = None
    window_end: datetime | None = None
    request_id: str | None = None


def to_iso(value):
    """datetime (naive = UTC, as Odoo stores them) → ISO 8601 UTC string."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value):
    """Amazon ISO 8601 → aware UTC datetime (None if absent or unreadable)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def as_list(values, allowed=None, name="value"):
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    values = [str(v) for v in values]
    if allowed is not None:
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ValueError(f"unknown {name}: {', '.join(unknown)}")
    return values


def search_params(
    marketplace_ids,
    created_after=None,
    last_updated_after=None,
    created_before=None,
    last_updated_before=None,
    fulfillment_statuses=None,
    fulfilled_by=None,
    max_results=MAX_RESULTS_PER_PAGE,
    pagination_token=None,
    included_data=INCLUDED_DATA,
):
    """Query parameters of searchOrders, checked against the model's rules.

    With a pagination token Amazon wants the very same filters again (only
    maxResultsPerPage and includedData may change), so callers just add it.
    """
    if (created_after is None) == (last_updated_after is None):
        raise ValueError(
            "searchOrders needs exactly one of created_after and last_updated_after"
        )
    if created_after is not None and last_updated_before is not None:
        raise ValueError("created_after cannot be combined with last_updated_before")
    if last_updated_after is not None and created_before is not None:
        raise ValueError("last_updated_after cannot be combined with created_before")
    if not marketplace_ids:
        raise ValueError("at least one marketplace id is required")
    params = {
        "marketplaceIds": list(marketplace_ids),
        "maxResultsPerPage": max(
            1, min(MAX_RESULTS_PER_PAGE, int(max_results or MAX_RESULTS_PER_PAGE))
        ),
    }
    optional = {
        "createdAfter": to_iso(created_after),
        "createdBefore": to_iso(created_before),
        "lastUpdatedAfter": to_iso(last_updated_after),
        "lastUpdatedBefore": to_iso(last_updated_before),
        "fulfillmentStatuses": as_list(
            fulfillment_statuses, FULFILLMENT_STATUSES, "fulfillment status"
        ),
        "fulfilledBy": as_list(fulfilled_by, FULFILLED_BY, "fulfilled_by"),
        "includedData": as_list(included_data, INCLUDED_DATA, "included data"),
        "paginationToken": pagination_token,
    }
    params.update({key: value for key, value in optional.items() if value})
    return params


def _malformed(detail, request_id):
    return AmazonError(
        "malformed",
        params={"detail": detail},
        request_id=request_id,
        retryable=True,
    )


def parse_search_page(body, by_last_update=True, request_id=None):
    """searchOrders JSON body → OrdersPage; AmazonError if it is not one.

    The library hands out an empty payload for a body that is not JSON, so a
    missing ``orders`` list is the sign of a truncated or garbled reply.
    """
    orders = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(orders, list):
        raise _malformed("searchOrders reply without an orders list", request_id)
    if not all(isinstance(order, dict) and order.get("orderId") for order in orders):
        raise _malformed("searchOrders reply with an order without orderId", request_id)
    pagination = body.get("pagination")
    if pagination is not None and not isinstance(pagination, dict):
        raise _malformed("searchOrders reply with a bad pagination", request_id)
    next_token = (pagination or {}).get("nextToken")
    if next_token is not None and not isinstance(next_token, str):
        raise _malformed("searchOrders reply with a bad nextToken", request_id)
    if by_last_update:
        window = body.get("lastUpdatedBefore") or body.get("createdBefore")
    else:
        window = body.get("createdBefore") or body.get("lastUpdatedBefore")
    return OrdersPage(
        orders=orders,
        next_token=next_token or None,
        window_end=parse_datetime(window),
        request_id=request_id,
    )


def parse_order(body, request_id=None):
    """getOrder JSON body → the order dict."""
    order = body.get("order") if isinstance(body, dict) else None
    if not isinstance(order, dict) or not order.get("orderId"):
        raise _malformed("getOrder reply without an order", request_id)
    return order


def parse_participations(body, request_id=None):
    """getMarketplaceParticipations JSON body → list of participations."""
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, list) or not all(
        isinstance(item, dict) for item in payload
    ):
        raise _malformed(
            "getMarketplaceParticipations reply without a list", request_id
        )
    return payload
