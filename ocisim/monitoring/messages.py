"""OCI's alarm message JSON (format version 1.5), built from an alarm and one Notice.

Field names, order and value shapes follow OCI's "Alarm Message Format" page and messages
captured from real alarms (kept as fixtures in tests/alarm/fixtures/): ``dedupeKey`` names the
alarm (grouped) or the alarm and stream (split), ``timestamp`` is the evaluation time, every
stream's dimensions and formatted value go in ``alarmMetaData[0]``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ocisim.monitoring.alarms import AlarmSpec, Notice
from ocisim.monitoring.evaluate import StreamKey

MESSAGE_VERSION = 1.5
GROUPED = "Grouped messages across metric streams"
SPLIT = "Split messages per metric stream"


def dedupe_key(alarm_id: str, stream: StreamKey | None) -> str:
    """Stable per alarm (grouped) or per alarm and stream (split), UUID-shaped like OCI's."""
    name = alarm_id if stream is None else alarm_id + "|" + "|".join(f"{k}={v}" for k, v in stream)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _timestamp(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{stamp.microsecond // 1000:03d}Z" if stamp.microsecond else "Z")


def _summary(spec: AlarmSpec, notice: Notice) -> str:
    minutes = spec.pending_evaluations
    delay = f"{minutes} minute" + ("s" if minutes != 1 else "")
    if spec.split:
        because = "the resources with dimensions listed below meet the trigger rule"
    else:
        because = f"{notice.total_firing} metrics meet the trigger rule"
    return (
        f'Alarm "{spec.display_name}" is in a "{notice.status}" state; because {because}: '
        f'"{spec.query.text}", with a trigger delay of {delay}'
    )


def build_message(spec: AlarmSpec, notice: Notice, region: str) -> dict[str, Any]:
    """The message body Notifications delivers (RAW format) for ``notice``."""
    stream = notice.streams[0][0] if spec.split and notice.streams else None
    millis = int(round(notice.time * 1000))
    return {
        "dedupeKey": dedupe_key(spec.id, stream),
        "title": spec.display_name,
        "body": spec.body,
        "type": notice.type,
        "severity": spec.severity,
        "timestampEpochMillis": millis,
        "timestamp": _timestamp(millis / 1000),
        "alarmMetaData": [
            {
                "id": spec.id,
                "status": notice.status,
                "severity": spec.severity,
                "namespace": spec.namespace,
                "query": spec.query.text,
                "totalMetricsFiring": notice.total_firing,
                "dimensions": [dict(key) for key, _ in notice.streams],
                "alarmUrl": f"https://cloud.oracle.com/monitoring/alarms/{spec.id}?region={region}",
                "alarmSummary": _summary(spec, notice),
                "metricValues": [{spec.query.expression: _value(value)} for _, value in notice.streams],
            }
        ],
        "notificationType": SPLIT if spec.split else GROUPED,
        "version": MESSAGE_VERSION,
    }


def _value(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
