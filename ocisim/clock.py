"""Emulated time: one clock for every service, running `scale` times faster than the wall.

Why: alarms evaluate one-minute windows and Notifications retries over hours; tests and demos
cannot wait that long. Every emulated timestamp (audit times, metric timestamps, alarm
evaluation, token `iat`) comes from this clock, so one scale factor speeds them up together.
Credentials are the exception: token expiry is checked against the wall clock, because the SDK
checks it that way too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime


class Clock:
    """Emulated epoch seconds = anchor + (monotonic elapsed since the anchor) x scale.

    Changing the scale or advancing re-anchors, so emulated time never jumps backwards.
    """

    def __init__(self, scale: float = 1.0, *, start: float | None = None) -> None:
        if scale <= 0:
            raise ValueError("clock scale must be positive")
        self._lock = threading.Lock()
        self._scale = float(scale)
        self._anchor_emulated = time.time() if start is None else float(start)
        self._anchor_monotonic = time.monotonic()

    @property
    def scale(self) -> float:
        return self._scale

    def now(self) -> float:
        """Emulated time in epoch seconds."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        return self._anchor_emulated + (time.monotonic() - self._anchor_monotonic) * self._scale

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def iso_now(self) -> str:
        """RFC 3339 with milliseconds and Z, the way OCI writes timestamps."""
        return iso(self.now())

    def set_scale(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("clock scale must be positive")
        with self._lock:
            self._anchor_emulated = self._now_locked()
            self._anchor_monotonic = time.monotonic()
            self._scale = float(scale)

    def advance(self, seconds: float) -> None:
        """Jump emulated time forward (never backwards) by `seconds`."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._anchor_emulated = self._now_locked() + seconds
            self._anchor_monotonic = time.monotonic()

    def real_seconds(self, emulated_seconds: float) -> float:
        """How long `emulated_seconds` of emulated time take on the wall clock."""
        return emulated_seconds / self._scale

    def sleep(self, emulated_seconds: float) -> None:
        time.sleep(max(0.0, self.real_seconds(emulated_seconds)))

    async def asleep(self, emulated_seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.real_seconds(emulated_seconds)))


def iso(epoch_seconds: float) -> str:
    stamp = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
