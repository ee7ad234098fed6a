"""OCI alarm states and transitions, per metric stream, as a pure state machine.

Monitoring evaluates every alarm once a minute. For each tracked stream (from OCI's docs):
- the trigger rule must hold for ``pendingDuration`` worth of consecutive evaluations before the
  stream goes OK → FIRING (message OK_TO_FIRING);
- while FIRING, a REPEAT message every ``repeatNotificationDuration`` (when configured);
- the stream goes back to OK as soon as the rule is clear for the most recent minute
  (FIRING_TO_OK);
- a stream with no value is absent; after the 10-minute internal reset period of continuous
  absence it is no longer tracked, and a FIRING stream dropped that way ends with RESET.
Split alarms (``isNotificationsPerMetricDimensionEnabled``) send one message per stream; grouped
alarms send one message per alarm-level transition listing every stream involved.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ocisim.monitoring.evaluate import StreamKey
from ocisim.monitoring.mql import Query, iso_duration_seconds, parse

INTERNAL_RESET_SECONDS = 600
EVALUATION_SECONDS = 60
OK, FIRING = "OK", "FIRING"
OK_TO_FIRING, FIRING_TO_OK, REPEAT, RESET = "OK_TO_FIRING", "FIRING_TO_OK", "REPEAT", "RESET"


@dataclass(frozen=True)
class AlarmSpec:
    """An alarm as defined in the topology, with OCI's Alarm field names (camelCase there)."""

    id: str
    display_name: str
    compartment_id: str
    metric_compartment_id: str
    namespace: str
    query: Query
    severity: str
    destinations: tuple[str, ...]
    pending_seconds: int
    repeat_seconds: int | None
    split: bool
    body: str | None
    message_format: str
    is_enabled: bool
    resolution: str

    @property
    def pending_evaluations(self) -> int:
        return max(1, math.ceil(self.pending_seconds / EVALUATION_SECONDS))

    @classmethod
    def from_oci(cls, raw: Mapping[str, Any]) -> AlarmSpec:
        """Build from an OCI Alarm JSON object; raises MqlError/KeyError on a bad definition."""
        repeat = raw.get("repeatNotificationDuration")
        return cls(
            id=raw["id"],
            display_name=raw["displayName"],
            compartment_id=raw["compartmentId"],
            metric_compartment_id=raw.get("metricCompartmentId", raw["compartmentId"]),
            namespace=raw["namespace"],
            query=parse(raw["query"]),
            severity=raw["severity"],
            destinations=tuple(raw["destinations"]),
            pending_seconds=iso_duration_seconds(raw.get("pendingDuration") or "PT1M"),
            repeat_seconds=iso_duration_seconds(repeat) if repeat else None,
            split=bool(raw.get("isNotificationsPerMetricDimensionEnabled", False)),
            body=raw.get("body"),
            message_format=raw.get("messageFormat", "RAW"),
            is_enabled=bool(raw.get("isEnabled", True)),
            resolution=raw.get("resolution", "1m"),
        )


@dataclass(frozen=True)
class StreamState:
    status: str = OK
    breaching_run: int = 0  # consecutive evaluations meeting the trigger rule
    absent_since: float | None = None
    last_notified: float | None = None
    value: float | None = None


@dataclass(frozen=True)
class AlarmState:
    status: str = OK
    streams: Mapping[StreamKey, StreamState] = field(default_factory=dict)
    last_notified: float | None = None


@dataclass(frozen=True)
class Notice:
    """One message to send: its type, the alarm status it reports, and the streams in it."""

    type: str
    status: str
    time: float
    streams: tuple[tuple[StreamKey, float | None], ...]
    total_firing: int


def step(
    spec: AlarmSpec, state: AlarmState, values: Mapping[StreamKey, float], now: float
) -> tuple[AlarmState, tuple[Notice, ...]]:
    """One evaluation at ``now`` with this minute's value per stream (absent streams missing)."""
    streams: dict[StreamKey, StreamState] = {}
    events: list[tuple[str, StreamKey, StreamState]] = []
    for key in sorted(set(state.streams) | set(values)):
        old = state.streams.get(key, StreamState())
        new, event = _step_stream(spec, old, values.get(key), now)
        if new is not None:
            streams[key] = new
        if event:
            events.append((event, key, new or old))
    firing = [key for key, stream in streams.items() if stream.status == FIRING]
    status = FIRING if firing else OK
    if spec.split:
        notices = tuple(
            Notice(event, _status_after(event), now, ((key, stream.value),), int(_status_after(event) == FIRING))
            for event, key, stream in events
        )
        return AlarmState(status, streams, state.last_notified), notices
    return _grouped(spec, state, streams, status, events, now)


def _status_after(event: str) -> str:
    return OK if event in (FIRING_TO_OK, RESET) else FIRING


def _step_stream(
    spec: AlarmSpec, old: StreamState, value: float | None, now: float
) -> tuple[StreamState | None, str | None]:
    """New state of one stream (None: no longer tracked) and the event it raises, if any."""
    if value is None:
        absent_since = old.absent_since if old.absent_since is not None else now
        if now - absent_since >= INTERNAL_RESET_SECONDS:
            return None, RESET if old.status == FIRING else None
        return replace(old, breaching_run=0, absent_since=absent_since), None
    if not spec.query.condition(value):
        new = StreamState(OK, 0, None, old.last_notified, value)
        if old.status == FIRING:
            return replace(new, last_notified=now), FIRING_TO_OK
        return new, None
    run = old.breaching_run + 1
    new = StreamState(old.status, run, None, old.last_notified, value)
    if old.status == OK and run >= spec.pending_evaluations:
        return replace(new, status=FIRING, last_notified=now), OK_TO_FIRING
    if old.status == FIRING and _repeat_due(spec, old.last_notified, now):
        return replace(new, last_notified=now), REPEAT
    return new, None


def _repeat_due(spec: AlarmSpec, last: float | None, now: float) -> bool:
    return spec.repeat_seconds is not None and last is not None and now - last >= spec.repeat_seconds


def _grouped(
    spec: AlarmSpec,
    state: AlarmState,
    streams: dict[StreamKey, StreamState],
    status: str,
    events: list[tuple[str, StreamKey, StreamState]],
    now: float,
) -> tuple[AlarmState, tuple[Notice, ...]]:
    """Alarm-level messages: every firing stream in one message, or the streams that cleared."""
    firing = tuple((key, s.value) for key, s in streams.items() if s.status == FIRING)
    cleared = tuple((key, s.value) for event, key, s in events if event in (FIRING_TO_OK, RESET))
    notice_type = None
    if state.status == OK and status == FIRING:
        notice_type, listed = OK_TO_FIRING, firing
    elif state.status == FIRING and status == OK:
        only_reset = all(event == RESET for event, _, _ in events if event in (FIRING_TO_OK, RESET))
        notice_type, listed = (RESET if only_reset else FIRING_TO_OK), cleared
    elif status == FIRING and _repeat_due(spec, state.last_notified, now):
        notice_type, listed = REPEAT, firing
    if notice_type is None:
        return AlarmState(status, streams, state.last_notified), ()
    return AlarmState(status, streams, now), (Notice(notice_type, status, now, listed, len(firing)),)


def state_to_json(state: AlarmState) -> dict[str, Any]:
    """JSON form for the emulator's state file (stream keys become lists of pairs)."""
    return {
        "status": state.status,
        "lastNotified": state.last_notified,
        "streams": [
            {
                "key": [list(pair) for pair in key],
                **{
                    "status": s.status,
                    "breachingRun": s.breaching_run,
                    "absentSince": s.absent_since,
                    "lastNotified": s.last_notified,
                    "value": s.value,
                },
            }
            for key, s in state.streams.items()
        ],
    }


def state_from_json(raw: Mapping[str, Any]) -> AlarmState:
    streams = {
        tuple(tuple(pair) for pair in item["key"]): StreamState(
            item["status"], item["breachingRun"], item["absentSince"], item["lastNotified"], item["value"]
        )
        for item in raw.get("streams", [])
    }
    return AlarmState(raw.get("status", OK), streams, raw.get("lastNotified"))
