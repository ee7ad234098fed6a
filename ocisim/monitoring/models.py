"""Monitoring state: raw metric streams, alarms (definition + evaluation state) and history.

Every invariant of PostMetricData lives here (namespace and name rules, 50 streams per call,
dimension count, the two-hour/ten-minute timestamp window), not in the handlers. Raw points are
kept for three hours, enough for the default two-hour absence detection period.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocisim.errors import InvalidParameter
from ocisim.monitoring.alarms import AlarmSpec, AlarmState, state_from_json, state_to_json
from ocisim.monitoring.evaluate import Series, StreamKey
from ocisim.monitoring.mql import MqlError

RETENTION_SECONDS = 3 * 3600
MAX_PAST_SECONDS = 2 * 3600
MAX_FUTURE_SECONDS = 10 * 60
MAX_STREAMS_PER_CALL = 50
MAX_DIMENSIONS = 20
MAX_HISTORY = 500
_NAMESPACE = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
_METRIC_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")

SeriesId = tuple[str, str, str, StreamKey]  # compartment, namespace, metric name, dimensions


@dataclass
class StoredSeries:
    metadata: dict[str, str]
    resource_group: str | None
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Alarm:
    raw: dict[str, Any]  # the OCI Alarm JSON (GetAlarm answers it)
    spec: AlarmSpec
    state: AlarmState = field(default_factory=AlarmState)
    history: list[dict[str, Any]] = field(default_factory=list)


ALARM_SUMMARY_FIELDS = (
    "id",
    "displayName",
    "compartmentId",
    "metricCompartmentId",
    "namespace",
    "query",
    "severity",
    "destinations",
    "suppression",
    "isEnabled",
    "isNotificationsPerMetricDimensionEnabled",
    "freeformTags",
    "definedTags",
    "lifecycleState",
    "overrides",
    "ruleName",
    "notificationVersion",
    "notificationTitle",
    "evaluationSlackDuration",
    "alarmSummary",
    "resourceGroup",
)
BASE_RULE = "BASE"
DEFAULT_CREATED = "2026-01-01T00:00:00.000Z"  # topology alarms say no creation time of their own   # OCI's name of an alarm's own rule (overrides carry their own names)


def alarm_resource(alarm: Alarm) -> dict[str, Any]:
    """GetAlarm's Alarm: the stored definition with the fields OCI always fills in."""
    return {
        "freeformTags": {},
        "definedTags": {},
        "overrides": [],
        "ruleName": BASE_RULE,
        "notificationVersion": "1.X",
        "evaluationSlackDuration": "PT3M",
        "timeCreated": alarm.raw.get("timeCreated"),
        "timeUpdated": alarm.raw.get("timeCreated"),
        **alarm.raw,
    }


def alarm_etag(alarm: Alarm) -> str:
    """The etag changes whenever the definition does (the emulator has no UpdateAlarm yet)."""
    return hashlib.sha256(json.dumps(alarm.raw, sort_keys=True).encode()).hexdigest()[:32]


def alarm_summary(alarm: Alarm) -> dict[str, Any]:
    resource = alarm_resource(alarm)
    return {name: resource.get(name) for name in ALARM_SUMMARY_FIELDS}


def alarm_status(alarm: Alarm) -> dict[str, Any]:
    """ListAlarmsStatus' AlarmStatusSummary: the alarm's status and when it last changed."""
    resource = alarm_resource(alarm)
    triggered = alarm.history[-1]["timestampTriggered"] if alarm.history else resource["timeCreated"]
    return {
        "id": alarm.spec.id,
        "displayName": alarm.spec.display_name,
        "severity": alarm.spec.severity,
        "ruleName": resource["ruleName"],
        "timestampTriggered": triggered,
        "alarmSummary": resource.get("alarmSummary") or resource.get("body") or alarm.spec.display_name,
        "status": alarm.state.status,
        "suppression": resource.get("suppression"),
    }


@dataclass
class MonitoringState:
    series: dict[SeriesId, StoredSeries] = field(default_factory=dict)
    alarms: dict[str, Alarm] = field(default_factory=dict)

    # --- PostMetricData ---------------------------------------------------------------------
    def post(self, body: Any, now: float) -> dict[str, Any]:
        """Store the valid metric objects; return OCI's PostMetricDataResponseDetails."""
        if not isinstance(body, dict) or not isinstance(body.get("metricData"), list) or not body["metricData"]:
            raise InvalidParameter("metricData must be a non-empty list")
        items = body["metricData"]
        if len(items) > MAX_STREAMS_PER_CALL:
            raise InvalidParameter(f"At most {MAX_STREAMS_PER_CALL} metric streams per request, got {len(items)}")
        checked = [(item, _problem(item, now)) for item in items]
        failed = [{"metricData": item, "message": problem} for item, problem in checked if problem]
        if failed and body.get("batchAtomicity", "NON_ATOMIC") == "ATOMIC":
            raise InvalidParameter(f"Batch rejected (ATOMIC): {failed[0]['message']}")
        for item, problem in checked:
            if not problem:
                self._store(item)
        return {"failedMetricsCount": len(failed), "failedMetrics": failed}

    def _store(self, item: Mapping[str, Any]) -> None:
        key = (item["compartmentId"], item["namespace"], item["name"], tuple(sorted(item["dimensions"].items())))
        stored = self.series.setdefault(key, StoredSeries(dict(item.get("metadata") or {}), item.get("resourceGroup")))
        stored.points.extend((_epoch(p["timestamp"]), float(p["value"])) for p in item["datapoints"])
        stored.points.sort()

    def record_service_metrics(self, items: list[Mapping[str, Any]]) -> None:
        """Datapoints an emulated OCI service emits into its own `oci_*` namespace (Health Checks):
        PostMetricData's rules are for custom metrics, a service's own are stored as they come."""
        for item in items:
            self._store(item)

    def prune(self, now: float) -> None:
        for key in list(self.series):
            stored = self.series[key]
            stored.points = [p for p in stored.points if now - p[0] <= RETENTION_SECONDS]
            if not stored.points:
                del self.series[key]

    def streams(self, compartment_id: str, namespace: str) -> list[Series]:
        """The raw streams a query in ``compartment_id``/``namespace`` sees."""
        return [
            Series(name, dims, tuple(s.points))
            for (comp, ns, name, dims), s in self.series.items()
            if comp == compartment_id and ns == namespace
        ]

    def metadata(self, compartment_id: str, namespace: str, name: str) -> tuple[dict[str, str], str | None]:
        for (comp, ns, metric, _), stored in self.series.items():
            if (comp, ns, metric) == (compartment_id, namespace, name):
                return stored.metadata, stored.resource_group
        return {}, None

    # --- persistence -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "series": [
                {
                    "compartmentId": c,
                    "namespace": n,
                    "name": m,
                    "dimensions": dict(d),
                    "metadata": s.metadata,
                    "resourceGroup": s.resource_group,
                    "points": s.points,
                }
                for (c, n, m, d), s in self.series.items()
            ],
            "alarms": [
                {"alarm": a.raw, "state": state_to_json(a.state), "history": a.history} for a in self.alarms.values()
            ],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MonitoringState:
        state = cls()
        for s in raw.get("series", []):
            key = (s["compartmentId"], s["namespace"], s["name"], tuple(sorted(s["dimensions"].items())))
            state.series[key] = StoredSeries(s["metadata"], s["resourceGroup"], [tuple(p) for p in s["points"]])
        for a in raw.get("alarms", []):
            state.alarms[a["alarm"]["id"]] = Alarm(
                a["alarm"], AlarmSpec.from_oci(a["alarm"]), state_from_json(a["state"]), a["history"]
            )
        return state


def seed(topology: Mapping[str, Any], backend: Any) -> MonitoringState:
    """Alarms from the topology's ``alarms`` list (OCI Alarm JSON); a bad one stops the start."""
    state = MonitoringState()
    for raw in topology.get("alarms", []):
        alarm = {
            "lifecycleState": "ACTIVE",
            "isEnabled": True,
            "resolution": "1m",
            "timeCreated": DEFAULT_CREATED,
            "timeUpdated": DEFAULT_CREATED,
            **raw,
        }
        try:
            state.alarms[alarm["id"]] = Alarm(alarm, AlarmSpec.from_oci(alarm))
        except (KeyError, MqlError) as exc:
            raise ValueError(f"topology alarm {raw.get('displayName', raw.get('id'))!r}: {exc}") from exc
    return state


def _problem(item: Any, now: float) -> str | None:
    """Why one MetricDataDetails cannot be stored (None if it can)."""
    if not isinstance(item, dict):
        return "Each metric must be an object"
    for required in ("namespace", "compartmentId", "name", "dimensions", "datapoints"):
        if not item.get(required):
            return f"{required} is required"
    namespace = item["namespace"]
    if not _NAMESPACE.match(namespace) or namespace.startswith(("oci_", "oracle_")):
        return f"Invalid namespace {namespace!r}: lowercase letters, digits and _, not starting with oci_ or oracle_"
    if not _METRIC_NAME.match(item["name"]):
        return f"Invalid metric name {item['name']!r}"
    dims = item["dimensions"]
    if (
        not isinstance(dims, dict)
        or not 1 <= len(dims) <= MAX_DIMENSIONS
        or not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in dims.items())
    ):
        return f"dimensions must hold 1 to {MAX_DIMENSIONS} non-empty string pairs"
    for point in item["datapoints"]:
        try:
            float(point["value"])
            stamp = _epoch(point["timestamp"])
        except (KeyError, TypeError, ValueError):
            return "Each datapoint needs a timestamp and a numeric value"
        if not now - MAX_PAST_SECONDS < stamp < now + MAX_FUTURE_SECONDS:
            return (
                f"Datapoint timestamp {point['timestamp']} is outside the accepted window "
                "(less than 2 hours in the past and 10 minutes in the future)"
            )
    return None


def _epoch(stamp: Any) -> float:
    if not isinstance(stamp, str):
        raise ValueError("timestamp must be a string")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
