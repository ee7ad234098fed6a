"""One HTTP health check: the only place the agent talks to a target.

A target is up when it answers 2xx within the timeout (haproxy's ``monitor-uri`` answers 200,
or 503 when its monitor fails). Redirects are not followed: a health endpoint that redirects is
misconfigured, and following it could probe something else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests

from health_probe.config import Target


@dataclass(frozen=True)
class ProbeResult:
    """What one check saw; ``latency_ms`` is None when there was no answer to time."""

    target: Target
    time: datetime
    up: bool
    latency_ms: float | None
    detail: str


def probe(session: requests.Session, target: Target, timeout: float, when: datetime) -> ProbeResult:
    """Check ``target`` once; never raises for network trouble, since down is an answer."""
    started = time.monotonic()
    try:
        response = session.get(target.url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return ProbeResult(target, when, False, None, f"{type(exc).__name__}")
    latency_ms = (time.monotonic() - started) * 1000.0
    up = 200 <= response.status_code < 300
    return ProbeResult(target, when, up, latency_ms, f"HTTP {response.status_code}")
