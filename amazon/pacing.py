"""Client-side rate limiting with one token bucket per SP-API operation.

Amazon applies a token bucket per selling partner + application + operation
(https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits).  We
mirror it so that a job waits a little when the bucket is nearly empty, and gives
up (``ThrottledError``, "resumes next run") rather than blocking a worker for
minutes: searchOrders refills one request every ~3 minutes.

The buckets live in a store: this process's memory by default, or a store
shared by every worker and server (the Odoo side keeps them in PostgreSQL).
"""

import copy
import math
import threading
import time
from typing import ClassVar

from .errors import ThrottledError

# Default (rate per second, burst) from each operation's "Usage Plan" in the
# published models; the x-amzn-RateLimit-Limit header overrides the rate.
USAGE_PLANS = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getMarketplaceParticipations": (0.016, 15),
    "confirmShipment": (2.0, 10),
    "rotateApplicationClientSecret": (0.0167, 1),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "patchListingsItem": (5.0, 10),
    "getInventorySummaries": (2.0, 2),
}
DEFAULT_PLAN = (1.0, 1)


class TokenBucket:
    """Classic token bucket; ``tokens`` may go negative to hold reservations."""

    def __init__(self, rate, burst, now):
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = now

    def refill(self, now):
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self, now):
        """Seconds until one token is available (0 if available now)."""
        self.refill(now)
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def __repr__(self):
        return (
            f"TokenBucket(rate={self.rate}, burst={self.burst}, "
            f"tokens={self.tokens:.3f})"
        )


class MemoryStore:
    """Buckets kept in this process: the default, and the store of plain tests.

    A store keeps one bucket per (pacing key, operation) and changes it only in
    :meth:`update`, so a store shared by several processes (PostgreSQL on the
    Odoo side) can make every change atomic across them.
    """

    # In one process a monotonic clock is immune to wall-clock jumps; a store
    # shared between machines must use ``time.time`` instead.
    clock = staticmethod(time.monotonic)

    def __init__(self):
        self._buckets = {}
        self._lock = threading.Lock()

    def update(self, key, operation, fresh, fn):
        """Return ``fn(bucket)``, run while no one else can change the bucket.

        ``fresh()`` builds the bucket when there is none yet.  Whatever ``fn``
        leaves in the bucket is kept, unless it raises.
        """
        with self._lock:
            bucket = self._buckets.get((key, operation))
            if bucket is None:
                bucket = self._buckets[(key, operation)] = fresh()
            return fn(bucket)

    def buckets(self, key):
        """Copies of the buckets of ``key``, by operation (diagnostics)."""
        with self._lock:
            return {
                operation: copy.copy(bucket)
                for (bucket_key, operation), bucket in self._buckets.items()
                if bucket_key == key
            }


class Pacer:
    """Token buckets of one selling partner + application, one per operation.

    Amazon's limits apply per seller and application across all processes.  By
    default the buckets live in this process, and :meth:`for_key` shares one
    pacer per channel instead of starting with a full bucket on every cron run.
    A shared ``store`` (see :class:`MemoryStore` for the protocol) extends that
    to every process and server using it.
    """

    _registry: ClassVar[dict] = {}
    _registry_lock = threading.Lock()

    def __init__(self, plans=None, clock=None, store=None, key=None):
        self.plans = dict(USAGE_PLANS)
        self.plans.update(plans or {})
        self.store = store if store is not None else MemoryStore()
        self.clock = clock or self.store.clock
        self.key = key
        # Rates already written to the store: Amazon repeats the same header on
        # every answer, and a shared store would pay a transaction for each.
        self._rates = {}

    @classmethod
    def for_key(cls, key, **kwargs):
        """The process-wide pacer of ``key`` (e.g. "<app client id>/<seller>")."""
        with cls._registry_lock:
            pacer = cls._registry.get(key)
            if pacer is None:
                pacer = cls._registry[key] = cls(key=key, **kwargs)
            return pacer

    @classmethod
    def forget(cls, key=None):
        """Drop one shared pacer, or all of them (tests)."""
        with cls._registry_lock:
            if key is None:
                cls._registry.clear()
            else:
                cls._registry.pop(key, None)

    def _update(self, operation, fn):
        rate, burst = self.plans.get(operation, DEFAULT_PLAN)
        now = self.clock()

        def apply(bucket):
            # The plan's burst is code: a stored bucket follows an upgrade.
            bucket.burst = float(burst)
            bucket.refill(now)
            return fn(bucket)

        return self.store.update(
            self.key, operation, lambda: TokenBucket(rate, burst, now), apply
        )

    def bucket(self, operation):
        """The bucket of ``operation``: live in memory, a copy if shared."""
        return self._update(operation, lambda bucket: bucket)

    def reserve(self, operation, max_wait):
        """Take one token and return how long the caller must sleep first.

        Raises ``ThrottledError`` (without taking a token) when the wait would
        exceed ``max_wait``.
        """

        def take(bucket):
            wait = bucket.wait_time(bucket.updated)
            if wait > max_wait:
                raise ThrottledError(operation, wait)
            bucket.tokens -= 1.0
            return wait

        return self._update(operation, take)

    def acquire(self, operation, max_wait, sleep=time.sleep):
        # Sleep only once the store is released: a shared store must never be
        # held (locked) while a worker waits for its turn.
        wait = self.reserve(operation, max_wait)
        if wait > 0:
            sleep(wait)
        return wait

    def update_rate(self, operation, header_value):
        """Apply Amazon's x-amzn-RateLimit-Limit header (requests per second)."""
        try:
            rate = float(header_value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(rate) or rate <= 0:
            return None
        if self._rates.get(operation) != rate:

            def set_rate(bucket):
                bucket.rate = rate

            self._update(operation, set_rate)
            self._rates[operation] = rate
        return rate

    def throttled(self, operation):
        """Amazon answered 429: its bucket is empty whatever ours believed."""

        def empty(bucket):
            bucket.tokens = min(bucket.tokens, 0.0)
            return (1.0 - bucket.tokens) / bucket.rate

        return self._update(operation, empty)

    def state(self):
        """Snapshot {operation: (rate, burst, tokens)} for diagnostics."""
        now = self.clock()
        result = {}
        for operation, bucket in self.store.buckets(self.key).items():
            bucket.refill(now)
            result[operation] = (bucket.rate, bucket.burst, bucket.tokens)
        return result
