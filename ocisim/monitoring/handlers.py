"""Monitoring API 20180401 handlers: wire format in, models and pure evaluation out."""

from __future__ import annotations

from datetime import datetime

from ocisim.clock import iso
from ocisim.errors import InvalidParameter, MissingParameter, check_etag, not_found
from ocisim.monitoring.alarms import AlarmSpec
from ocisim.monitoring.evaluate import summarize
from ocisim.monitoring.models import Alarm, MonitoringState, alarm_etag, alarm_resource, alarm_status, alarm_summary
from ocisim.monitoring.mql import MqlError, duration_seconds, parse
from ocisim.service import Call, Reply, paginate

DEFAULT_RANGE_SECONDS = 3600


def post_metric_data(call: Call) -> Reply:
    """Raw datapoints are data, not control-plane changes: stored without an audit entry."""
    state: MonitoringState = call.state
    return Reply(body=state.post(call.json(), call.backend.clock.now()))


def summarize_metrics_data(call: Call) -> Reply:
    compartment_id = call.query.get("compartmentId")
    if not compartment_id:
        raise MissingParameter("compartmentId is required")
    body = call.json()
    if not isinstance(body, dict) or not body.get("namespace") or not body.get("query"):
        raise InvalidParameter("namespace and query are required")
    try:
        query = parse(body["query"])
    except MqlError as exc:
        raise InvalidParameter(str(exc)) from exc
    end = _time(body.get("endTime")) or call.backend.clock.now()
    start = _time(body.get("startTime")) or end - DEFAULT_RANGE_SECONDS
    resolution = body.get("resolution") or f"{query.interval_seconds // 60}m"
    try:
        step = duration_seconds(resolution)
    except (KeyError, ValueError) as exc:
        raise InvalidParameter(f"Invalid resolution {resolution!r}") from exc
    if start >= end:
        raise InvalidParameter("startTime must be before endTime")
    state: MonitoringState = call.state
    result = summarize(query, state.streams(compartment_id, body["namespace"]), start, end, step)
    metadata, resource_group = state.metadata(compartment_id, body["namespace"], query.metric)
    return Reply(
        body=[
            {
                "namespace": body["namespace"],
                "resourceGroup": resource_group,
                "compartmentId": compartment_id,
                "name": query.metric,
                "dimensions": dict(key),
                "metadata": metadata,
                "resolution": resolution,
                "aggregatedDatapoints": [{"timestamp": iso(stamp), "value": value} for stamp, value in points],
            }
            for key, points in sorted(result.items())
        ]
    )


def get_alarm(call: Call) -> Reply:
    alarm = call.state.alarms.get(call.params["alarmId"])
    if alarm is None:
        raise not_found("Alarm", call.params["alarmId"])
    return Reply.resource(alarm_resource(alarm), alarm_etag(alarm))


# UpdateAlarmDetails fields the emulator applies (the rest of OCI's are refused, not ignored).
UPDATABLE_ALARM_FIELDS = (
    "displayName",
    "isEnabled",
    "destinations",
    "namespace",
    "query",
    "metricCompartmentId",
    "pendingDuration",
    "severity",
    "body",
    "repeatNotificationDuration",
    "resolution",
)


def update_alarm(call: Call) -> Reply:
    """UpdateAlarm: the new definition is validated like a topology alarm; evaluation state and
    history carry over (OCI keeps an alarm's history across updates)."""
    details = call.json()
    if not isinstance(details, dict):
        raise InvalidParameter("UpdateAlarmDetails must be a JSON object")
    unknown = sorted(set(details) - set(UPDATABLE_ALARM_FIELDS))
    if unknown:
        raise InvalidParameter(f"fields not supported by the emulator: {', '.join(unknown)}")
    alarm_id = call.params["alarmId"]
    with call.backend.lock:
        alarm = call.state.alarms.get(alarm_id)
        if alarm is None:
            raise not_found("Alarm", alarm_id)
        check_etag(call.headers.get("if-match"), alarm_etag(alarm))
        raw = {**alarm.raw, **details, "timeUpdated": call.backend.clock.iso_now()}
        try:
            spec = AlarmSpec.from_oci(raw)
        except (KeyError, MqlError) as exc:
            raise InvalidParameter(f"Invalid alarm: {exc}") from exc
        before = alarm.raw
        alarm.raw, alarm.spec = raw, spec
    call.audit(alarm_id, before, raw)
    return Reply.resource(alarm_resource(alarm), alarm_etag(alarm))


def _alarms_in(call: Call) -> list[Alarm]:
    """The alarms of `compartmentId` (required), filtered as ListAlarms and ListAlarmsStatus do."""
    compartment_id = call.query.get("compartmentId")
    if not compartment_id:
        raise MissingParameter("compartmentId is required")
    name = call.query.get("displayName")
    state: MonitoringState = call.state
    return sorted(
        (
            a
            for a in state.alarms.values()
            if a.spec.compartment_id == compartment_id and name in (None, a.spec.display_name)
        ),
        key=lambda a: a.spec.display_name,
    )


def list_alarms(call: Call) -> Reply:
    lifecycle = call.query.get("lifecycleState")
    return paginate(
        [alarm_summary(a) for a in _alarms_in(call) if lifecycle in (None, a.raw.get("lifecycleState"))], call.query
    )


def list_alarms_status(call: Call) -> Reply:
    wanted = call.query.get("status")
    return paginate([alarm_status(a) for a in _alarms_in(call) if wanted in (None, a.state.status)], call.query)


def get_alarm_history(call: Call) -> Reply:
    alarm = call.state.alarms.get(call.params["alarmId"])
    if alarm is None:
        raise not_found("Alarm", call.params["alarmId"])
    return Reply(
        body={"alarmId": alarm.spec.id, "isEnabled": alarm.spec.is_enabled, "entries": list(reversed(alarm.history))}
    )


def _time(value: object) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise InvalidParameter(f"Invalid time {value!r}") from exc
