"""Faults and latency as data: what the next calls of an operation should suffer.

Why data and not code in handlers: the request chain consults this table once, before routing
to any service, so every operation of every service can be made slow, failing or cut off the
same way, from a test (Python API) or from the lab (admin endpoint).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from ocisim.errors import OciError, error_for_status

ANY_OPERATION = "*"
# Seconds per operation that model OCI as seen from inside a region, for a harness that sets them
# as latency (`make bench`, `make chaos`): OCI's order of magnitude, not a measurement: reads
# ~0.1 s; a move (UpdatePrivateIp, UpdateIpv6) "on the order of a second"; a hot function's
# invoke ~0.1 s. Unlisted operations answer at once, except what the `realistic` profile adds
# itself (instance metadata, federation; those numbers and their sources: docs/emulator.md).
REALISTIC_API_LATENCY = MappingProxyType(
    {
        "GetPrivateIp": 0.1,
        "ListPrivateIps": 0.1,
        "GetIpv6": 0.1,
        "ListIpv6s": 0.1,
        "GetVnic": 0.1,
        "GetPublicIpByPrivateIpId": 0.1,
        "ListVnicAttachments": 0.1,
        "GetInstance": 0.1,
        "UpdatePrivateIp": 0.8,
        "UpdateIpv6": 0.8,
        "InvokeFunction": 0.1,
    }
)

DROP_BEFORE = "before"  # connection closed before the operation runs: nothing changed
DROP_AFTER = "after"  # the operation runs and commits, then the response is lost


@dataclass(frozen=True)
class InjectedFault:
    """One injected fault. `count` None means until cleared."""

    operation: str
    status: int | None = None
    code: str | None = None
    delay: float = 0.0
    drop: str | None = None
    count: int | None = 1

    def error(self) -> OciError | None:
        if self.status is None:
            return None
        return error_for_status(self.status, f"Injected fault for {self.operation}", self.code)

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "status": self.status,
            "code": self.code,
            "delay": self.delay,
            "drop": self.drop,
            "count": self.count,
        }


def make_fault(
    operation: str,
    *,
    status: int | None = None,
    code: str | None = None,
    count: int | None = 1,
    delay: float = 0.0,
    drop: bool | str = False,
) -> InjectedFault:
    """Validate the Python API / admin arguments; `drop=True` means drop before running."""
    drop_mode = DROP_BEFORE if drop is True else (drop or None)
    if drop_mode not in (None, DROP_BEFORE, DROP_AFTER):
        raise ValueError("drop must be false, true, 'before' or 'after'")
    if status is not None and not 400 <= int(status) <= 599:
        raise ValueError("status must be an HTTP error status")
    if count is not None and count < 1:
        raise ValueError("count must be positive (or None for until cleared)")
    if delay < 0:
        raise ValueError("delay must not be negative")
    return InjectedFault(operation, None if status is None else int(status), code, float(delay), drop_mode, count)


class FaultTable:
    """Pending faults in injection order plus per-operation latency; thread-safe."""

    def __init__(self, default_latency: dict[str, float] | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[InjectedFault] = []
        self._default_latency = dict(default_latency or {})
        self._latency = dict(self._default_latency)

    def inject(self, fault: InjectedFault) -> None:
        with self._lock:
            self._faults.append(fault)

    def set_latency(self, operation: str, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._latency[operation] = float(seconds)

    def set_default_latency(self, operation: str, seconds: float) -> None:
        """A latency `clear()` keeps: a service's modeled cost (a profile), not a fault."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._default_latency[operation] = self._latency[operation] = float(seconds)

    def clear(self) -> None:
        """Remove every fault and return latency to the defaults."""
        with self._lock:
            self._faults.clear()
            self._latency = dict(self._default_latency)

    def take(self, operation: str) -> InjectedFault | None:
        """The fault for this call, if any, consuming one of its `count`."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.operation in (operation, ANY_OPERATION):
                    if fault.count is None:
                        return fault
                    if fault.count == 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, count=fault.count - 1)
                    return fault
            return None

    def latency(self, operation: str) -> float:
        with self._lock:
            return self._latency.get(operation, self._latency.get(ANY_OPERATION, 0.0))

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": [f.to_json() for f in self._faults], "latency": dict(self._latency)}
