"""State of the fake: clock, LWA apps and tokens, sellers, orders, buckets."""

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import marketplaces as mkt
from . import seed

ACCESS_TOKEN_TTL = 3600
AUTH_CODE_TTL = 300
OLD_SECRET_GRACE = timedelta(days=7)
SECRET_LIFETIME = timedelta(days=180)
PAGE_TOKEN_TTL = timedelta(hours=24)
DEFAULT_SELLER_ID = "A3FAKESELLER01"

# Default usage plans (rate per second, burst) from the models' descriptions.
USAGE_PLANS = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "getMarketplaceParticipations": (0.016, 15),
    "rotateApplicationClientSecret": (0.0167, 1),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "patchListingsItem": (5.0, 10),
    "getInventorySummaries": (2.0, 2),
}


def iso(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Fake time: real time elapsed x time_scale since creation, plus advance()."""

    def __init__(self, time_scale=1.0, start_time=None):
        self.time_scale = time_scale
        self._origin = start_time or datetime.now(timezone.utc).replace(microsecond=0)
        self._real_origin = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self):
        with self._lock:
            elapsed = (time.monotonic() - self._real_origin) * self.time_scale
            return self._origin + timedelta(seconds=elapsed + self._offset)

    def advance(self, seconds):
        with self._lock:
            self._offset += seconds


class TokenBucket:
    def __init__(self, rate, burst, now):
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = now

    def take(self, now):
        elapsed = max((now - self.at).total_seconds(), 0.0)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Secret:
    value: str
    expires_at: datetime


@dataclass
class App:
    client_id: str
    application_id: str
    secrets: list
    rotation_enrolled: bool = True
    # OAuth Redirect URIs registered in the Developer Console, and whether the
    # application is still a draft (consent then needs version=beta).
    redirect_uris: list = field(default_factory=list)
    draft: bool = False

    def secret_valid(self, value, now):
        return any(s.value == value and s.expires_at > now for s in self.secrets)

    @property
    def client_secret(self):
        return self.secrets[-1].value


@dataclass
class Seller:
    seller_id: str
    marketplace_ids: list
    store_name: str


@dataclass
class Grant:
    """An access token, refresh token or authorization code."""

    client_id: str
    seller_id: str = None
    scope: str = None
    expires_at: datetime = None
    redirect_uri: str = None
    used: bool = False
    revoked: bool = False


@dataclass
class OrderRecord:
    order: dict
    seller_id: str
    customizations: dict = field(default_factory=dict)
    timeline: list = field(default_factory=list)
    trusted: bool = True


@dataclass
class PageState:
    fingerprint: tuple
    order_ids: list
    offset: int
    issued_at: datetime
    bounds: dict


def _token(prefix, size=48):
    return prefix + secrets.token_urlsafe(size)


class Store:
    def __init__(self, clock):
        self.clock = clock
        self.lock = threading.RLock()
        self.apps = {}
        self.sellers = {}
        self.refresh_tokens = {}
        self.access_tokens = {}
        self.auth_codes = {}
        self.orders = {}
        self.custom_tokens = {}
        self.page_tokens = {}
        self.buckets = {}
        # Per fake: a test or the soak may give Amazon faster plans.
        self.usage_plans = dict(USAGE_PLANS)

    # LWA ---------------------------------------------------------------

    def add_app(self, client_id=None, client_secret=None, application_id=None, **kw):
        now = self.clock.now()
        client_id = client_id or "amzn1.application-oa2-client." + secrets.token_hex(16)
        client_secret = client_secret or _token("amzn1.oa2-cs.v1.", 32)
        application_id = application_id or "amzn1.sp.solution." + secrets.token_hex(16)
        expires_at = kw.pop("secret_expires_at", None) or now + SECRET_LIFETIME
        kw["redirect_uris"] = list(kw.get("redirect_uris") or [])
        app = App(client_id, application_id, [Secret(client_secret, expires_at)], **kw)
        with self.lock:
            self.apps[client_id] = app
        return app

    def add_seller(self, seller_id=None, marketplace_ids=None, store_name=None):
        seller_id = seller_id or DEFAULT_SELLER_ID
        with self.lock:
            seller = self.sellers.get(seller_id)
            ids = [mkt.get(m).id for m in (marketplace_ids or [])]
            if seller is None:
                ids = ids or [mkt.get(code).id for code in mkt.SEEDED]
                seller = Seller(
                    seller_id, ids, store_name or f"Fake Store {seller_id[-4:]}"
                )
                self.sellers[seller_id] = seller
            else:
                seller.marketplace_ids += [
                    i for i in ids if i not in seller.marketplace_ids
                ]
                seller.store_name = store_name or seller.store_name
        return seller

    def add_refresh_token(
        self, client_id, seller_id=None, marketplace_ids=None, token=None
    ):
        seller = self.add_seller(seller_id, marketplace_ids)
        token = token or _token("Atzr|IwEB")
        with self.lock:
            self.refresh_tokens[token] = Grant(client_id, seller.seller_id)
        return token

    def issue_auth_code(self, client_id, redirect_uri, seller_id=None):
        seller = self.add_seller(seller_id)
        code = "AN" + secrets.token_hex(10)
        expires_at = self.clock.now() + timedelta(seconds=AUTH_CODE_TTL)
        with self.lock:
            self.auth_codes[code] = Grant(
                client_id,
                seller.seller_id,
                expires_at=expires_at,
                redirect_uri=redirect_uri,
            )
        return code

    def issue_access_token(self, client_id, seller_id=None, scope=None):
        token = _token("Atza|IwEB")
        expires_at = self.clock.now() + timedelta(seconds=ACCESS_TOKEN_TTL)
        with self.lock:
            self.access_tokens[token] = Grant(client_id, seller_id, scope, expires_at)
        return token

    def rotate_secret(self, app):
        now = self.clock.now()
        new = Secret(_token("amzn1.oa2-cs.v1.", 32), now + SECRET_LIFETIME)
        with self.lock:
            for old in app.secrets:
                old.expires_at = min(old.expires_at, now + OLD_SECRET_GRACE)
            app.secrets.append(new)
        return new, now + OLD_SECRET_GRACE

    # Orders ------------------------------------------------------------

    def add_order(self, order, seller_id=None, trusted=True):
        order = dict(order)
        private = order.pop("_fake", None) or {}
        seller = self.add_seller(seller_id or private.get("seller_id"))
        record = OrderRecord(
            order,
            seller.seller_id,
            customizations=private.get("customizations", {}),
            timeline=list(private.get("timeline", [])),
            trusted=trusted,
        )
        with self.lock:
            self.orders[order["orderId"]] = record
            for item_id, spec in record.customizations.items():
                self.custom_tokens[spec["token"]] = (order["orderId"], item_id)
        return record

    def apply_due(self):
        """Play scheduled status changes that the fake clock has reached."""
        now = iso(self.clock.now())
        with self.lock:
            for record in self.orders.values():
                if record.timeline and record.timeline[0][0] <= now:
                    due = [e for e in record.timeline if e[0] <= now]
                    record.timeline = record.timeline[len(due) :]
                    for at, status in due:
                        seed.apply_status(record.order, status, at)

    def set_status(self, order_id, status, when=None):
        with self.lock:
            record = self.orders[order_id]
            record.timeline = []  # an explicit change overrides the script
            seed.apply_status(record.order, status, iso(when or self.clock.now()))
            return record

    def set_ship_window(self, order_id, ship_by, deliver_by=None, when=None):
        with self.lock:
            record = self.orders[order_id]
            seed.set_ship_window(
                record.order, ship_by, deliver_by, iso(when or self.clock.now())
            )
            return record

    def take_token(self, operation, key):
        plan = self.usage_plans.get(operation)
        if plan is None:
            return True
        now = self.clock.now()
        with self.lock:
            bucket = self.buckets.get((operation, key))
            if bucket is None:
                bucket = self.buckets[(operation, key)] = TokenBucket(*plan, now)
            return bucket.take(now)
