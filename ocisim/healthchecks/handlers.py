"""Health Checks API 20180501 handlers: wire format in, models out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocisim.errors import InvalidParameter, MissingParameter, not_found
from ocisim.healthchecks.models import VANTAGE_POINTS, HealthChecksState, new_monitor, new_monitor_id, present, summary
from ocisim.service import Call, Reply, paginate


def _state(call: Call) -> HealthChecksState:
    return call.state


def _monitor(call: Call) -> dict[str, Any]:
    monitor = _state(call).monitors.get(call.params["monitorId"])
    if monitor is None:
        raise not_found("HttpMonitor", call.params["monitorId"])
    return monitor


def _sorted(items: list[dict[str, Any]], call: Call, fields: tuple[str, ...], default: str) -> list[dict[str, Any]]:
    sort_by = call.query.get("sortBy", default)
    order = call.query.get("sortOrder", "ASC")
    if sort_by not in fields or order not in ("ASC", "DESC"):
        raise InvalidParameter(f"sortBy must be one of {', '.join(fields)} and sortOrder ASC or DESC")
    return sorted(items, key=lambda item: str(item[sort_by]), reverse=order == "DESC")


def _filtered(items: list[dict[str, Any]], call: Call, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [item for item in items if all(call.query.get(k) in (None, item[k]) for k in keys)]


def create_http_monitor(call: Call) -> Reply:
    details = call.json()
    compartments = {c["id"] for c in call.backend.topology["compartments"]}
    if isinstance(details, dict) and details.get("compartmentId") not in (None, *compartments):
        raise not_found("Compartment", str(details["compartmentId"]))
    monitor = new_monitor(
        details, monitor_id=new_monitor_id(), time_created=call.backend.clock.iso_now(), region=call.backend.region
    )
    state = _state(call)
    state.add(monitor)
    call.audit(monitor["id"], None, monitor)
    return Reply.resource(present(monitor, call.backend.endpoint), state.etags[monitor["id"]])


def get_http_monitor(call: Call) -> Reply:
    monitor = _monitor(call)
    return Reply.resource(present(monitor, call.backend.endpoint), _state(call).etags[monitor["id"]])


def list_http_monitors(call: Call) -> Reply:
    compartment_id = call.query.get("compartmentId")
    if not compartment_id:
        raise MissingParameter("compartmentId is required")
    items = [
        summary(m, call.backend.endpoint)
        for m in _state(call).monitors.values()
        if m["compartmentId"] == compartment_id
    ]
    items = _filtered(items, call, ("displayName", "homeRegion"))
    return paginate(_sorted(items, call, ("id", "displayName", "timeCreated"), "timeCreated"), call.query)


def list_vantage_points(call: Call) -> Reply:
    items = _filtered([dict(vp) for vp in VANTAGE_POINTS], call, ("name", "displayName"))
    return paginate(_sorted(items, call, ("name", "displayName"), "name"), call.query)


def _millis(call: Call, key: str) -> float | None:
    value = call.query.get(key)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidParameter(f"{key} must be a number of epoch milliseconds, not {value!r}") from None


def list_http_probe_results(call: Call) -> Reply:
    monitor_id = call.params["probeConfigurationId"]
    state = _state(call)
    if monitor_id not in state.monitors:
        raise not_found("HttpProbeResults", monitor_id)
    low = _millis(call, "startTimeGreaterThanOrEqualTo")
    high = _millis(call, "startTimeLessThanOrEqualTo")
    target = call.query.get("target")
    keep: Callable[[dict[str, Any]], bool] = lambda r: (  # noqa: E731
        (low is None or r["startTime"] >= low)
        and (high is None or r["startTime"] <= high)
        and target in (None, r["target"])
    )
    results = [dict(r) for r in state.results.get(monitor_id, []) if keep(r)]
    order = call.query.get("sortOrder", "DESC")
    if order not in ("ASC", "DESC"):
        raise InvalidParameter("sortOrder must be ASC or DESC")
    results.sort(key=lambda r: (r["startTime"], int(r["key"])), reverse=order == "DESC")
    return paginate(results, call.query)
