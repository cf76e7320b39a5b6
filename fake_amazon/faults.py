"""Scripted faults: the next matching calls misbehave in a chosen way."""

import threading
from dataclasses import dataclass, field

KINDS = ("status", "slow", "reset", "malformed", "expired_token")
OPERATIONS = (
    "searchOrders",
    "getOrder",
    "getMarketplaceParticipations",
    "confirmShipment",
    "rotateApplicationClientSecret",
    "token",
    "customization",
    "consent",
    "*",
)


@dataclass
class Fault:
    operation: str
    kind: str
    times: int = 1
    options: dict = field(default_factory=dict)

    @property
    def status(self):
        return int(self.options.get("status", 500))

    @property
    def delay(self):
        return float(self.options.get("delay", 1.0))


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, operation, kind, times=1, **options):
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {KINDS}")
        if operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {operation!r}; use one of {OPERATIONS}"
            )
        fault = Fault(operation, kind, times, options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation, applicable=lambda fault: True):
        """Consume one use of the first matching fault, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.operation in (operation, "*") and applicable(fault):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self):
        with self._lock:
            self._faults.clear()

    def pending(self):
        with self._lock:
            return list(self._faults)
