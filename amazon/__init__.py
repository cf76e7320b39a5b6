"""Amazon access layer of sale_amazon_spapi: every call to Amazon goes through here.

No Odoo import anywhere in this package, so it can be used and tested alone.
"""

from .errors import AmazonError, ThrottledError, MESSAGES, redact, unexpected_summary
from .pacing import MemoryStore, Pacer, TokenBucket, USAGE_PLANS
from .orders import INCLUDED_DATA, OrdersPage
from .client import (
    LWA_URL,
    ROTATION_SCOPE,
    AmazonClient,
    ChannelConfig,
    has_cached_access_token,
    invalidate_access_tokens,
)
from . import custom, feeds, inventory, shipments

__all__ = [
    "INCLUDED_DATA",
    "LWA_URL",
    "MESSAGES",
    "ROTATION_SCOPE",
    "USAGE_PLANS",
    "AmazonClient",
    "AmazonError",
    "ChannelConfig",
    "MemoryStore",
    "OrdersPage",
    "Pacer",
    "ThrottledError",
    "TokenBucket",
    "custom",
    "feeds",
    "has_cached_access_token",
    "invalidate_access_tokens",
    "inventory",
    "redact",
    "shipments",
    "unexpected_summary",
]
