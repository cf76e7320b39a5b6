"""Client-side rate limiting with one token bucket per SP-API operation.

Amazon applies a token bucket per selling partner + application + operation
(https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits).  We
mirror it so that a job waits a little when the bucket is nearly empty, and gives
up (``ThrottledError``, "resumes next run") rather than blocking a worker for
minutes: searchOrders refills one request every ~3 minutes.
"""

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


class Pacer:
    """Token buckets of one selling partner + application, one per operation.

    Amazon's limits apply per seller and application across all processes, so
    the Odoo side shares one pacer per channel via :meth:`for_key` instead of
    starting with a full bucket on every cron run.
    """

    _registry: ClassVar[dict] = {}
    _registry_lock = threading.Lock()

    def __init__(self, plans=None, clock=time.monotonic):
        self.plans = dict(USAGE_PLANS)
        self.plans.update(plans or {})
        self.clock = clock
        self._buckets = {}
        self._lock = threading.Lock()

    @classmethod
    def for_key(cls, key, **kwargs):
        """The process-wide pacer of ``key`` (e.g. "<app client id>/<seller>")."""
        with cls._registry_lock:
            pacer = cls._registry.get(key)
            if pacer is None:
                pacer = cls._registry[key] = cls(**kwargs)
            return pacer

    @classmethod
    def forget(cls, key=None):
        """Drop one shared pacer, or all of them (tests)."""
        with cls._registry_lock:
            if key is None:
                cls._registry.clear()
            else:
                cls._registry.pop(key, None)

    def bucket(self, operation):
        with self._lock:
            return self._bucket(operation)

    def _bucket(self, operation):
        bucket = self._buckets.get(operation)
        if bucket is None:
            rate, burst = self.plans.get(operation, DEFAULT_PLAN)
            bucket = self._buckets[operation] = TokenBucket(rate, burst, self.clock())
        return bucket

    def reserve(self, operation, max_wait):
        """Take one token and return how long the caller must sleep first.

        Raises ``ThrottledError`` (without taking a token) when the wait would
        exceed ``max_wait``.
        """
        with self._lock:
            bucket = self._bucket(operation)
            wait = bucket.wait_time(self.clock())
            if wait > max_wait:
                raise ThrottledError(operation, wait)
            bucket.tokens -= 1.0
            return wait

    def acquire(self, operation, max_wait, sleep=time.sleep):
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
        with self._lock:
            bucket = self._bucket(operation)
            bucket.refill(self.clock())
            bucket.rate = rate
        return rate

    def throttled(self, operation):
        """Amazon answered 429: its bucket is empty whatever ours believed."""
        with self._lock:
            bucket = self._bucket(operation)
            bucket.refill(self.clock())
            bucket.tokens = min(bucket.tokens, 0.0)
            return (1.0 - bucket.tokens) / bucket.rate

    def state(self):
        """Snapshot {operation: (rate, burst, tokens)} for diagnostics."""
        with self._lock:
            now = self.clock()
            result = {}
            for operation, bucket in self._buckets.items():
                bucket.refill(now)
                result[operation] = (bucket.rate, bucket.burst, bucket.tokens)
            return result
