"""From one HTTP probe's outcome to what OCI shows of it: an HttpProbeResultSummary and the
datapoints in the `oci_healthchecks` metric namespace. Pure functions on frozen values.

A probe is healthy when a response came back within the timeout with a status below 400. The
metrics carry the dimensions OCI's Health Checks metrics reference lists for HTTP monitors
(resourceId, resourceDisplayName, target, vantagePoint, protocol); `HTTP.isHealthy` is 1 or 0 per
probe, so `.mean()` over a minute is the fraction of healthy probes, as in OCI.

Error categories, as the result model names them: TRANSPORT for a connection that could not be
made or broke (refused, reset, malformed answer), NETWORK for a probe that timed out, SYSTEM for a
probe the emulator did not send (a target its guard refuses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocisim.clock import iso

NAMESPACE = "oci_healthchecks"
IS_HEALTHY = "HTTP.isHealthy"
REQUEST_TIME = "HTTP.RequestTime"
NONE, TRANSPORT, NETWORK, SYSTEM = "NONE", "TRANSPORT", "NETWORK", "SYSTEM"


@dataclass(frozen=True)
class ProbeRequest:
    """One GET/HEAD a vantage point sends; `timeout` in wall seconds bounds all of it."""

    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    timeout: float


@dataclass(frozen=True)
class ProbeOutcome:
    """What came back: a status, or an error category and message; durations in milliseconds
    (`response_ms`: until the status line and headers arrived). Connect time is not measured
    apart, so the results leave the connect timings null."""

    status_code: int | None
    error_category: str = NONE
    error_message: str | None = None
    timed_out: bool = False
    response_ms: float | None = None
    duration_ms: float = 0.0
    body_bytes: int = 0

    @property
    def healthy(self) -> bool:
        return self.error_category == NONE and self.status_code is not None and self.status_code < 400


def probe_url(monitor: dict[str, Any], target: str) -> str:
    host = f"[{target}]" if ":" in target else target
    return f"{monitor['protocol'].lower()}://{host}:{monitor['port']}{monitor['path']}"


def result_summary(
    monitor: dict[str, Any], target: str, vantage_point: str, started: float, outcome: ProbeOutcome
) -> dict[str, Any]:
    """HttpProbeResultSummary (without `key`, which the state assigns); times as OCI gives them:
    epoch milliseconds for `startTime`, milliseconds relative to it for the timings."""
    start_ms = round(started * 1000, 3)
    return {
        "probeConfigurationId": monitor["id"],
        "startTime": start_ms,
        "target": target,
        "vantagePointName": vantage_point,
        "isTimedOut": outcome.timed_out,
        "isHealthy": outcome.healthy,
        "errorCategory": outcome.error_category,
        "errorMessage": outcome.error_message,
        "protocol": monitor["protocol"],
        "connection": {
            "address": target,
            "port": monitor["port"],
            "connectDuration": None,
            "secureConnectDuration": None,
        },
        "dns": {"domainLookupDuration": 0.0, "addresses": [target]},
        "statusCode": outcome.status_code,
        "domainLookupStart": start_ms,
        "domainLookupEnd": start_ms,
        "connectStart": None,
        "secureConnectionStart": None,
        "connectEnd": None,
        "fetchStart": start_ms,
        "requestStart": start_ms,
        "responseStart": None if outcome.response_ms is None else round(start_ms + outcome.response_ms, 3),
        "responseEnd": round(start_ms + outcome.duration_ms, 3),
        "duration": round(outcome.duration_ms, 3),
        "encodedBodySize": outcome.body_bytes,
    }


def metric_items(monitor: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """The datapoints one probe result adds to Monitoring, in PostMetricData's item shape."""
    dimensions = {
        "resourceId": monitor["id"],
        "resourceDisplayName": monitor["displayName"],
        "target": result["target"],
        "vantagePoint": result["vantagePointName"],
        "protocol": monitor["protocol"],
    }
    stamp = iso(result["startTime"] / 1000)
    items = [(IS_HEALTHY, 1.0 if result["isHealthy"] else 0.0)]
    if result["statusCode"] is not None:
        items.append((REQUEST_TIME, float(result["duration"])))
    return [
        {
            "compartmentId": monitor["compartmentId"],
            "namespace": NAMESPACE,
            "name": name,
            "dimensions": dict(dimensions),
            "datapoints": [{"timestamp": stamp, "value": value}],
            "metadata": {},
        }
        for name, value in items
    ]
