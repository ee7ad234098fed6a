"""The alarm path's names, loaded from ``metrics.json`` beside this file.

Why a JSON file and not Python constants: terraform (``jsondecode(file(...))``) and the
emulator's topology need the same namespace, metric names, dimensions and alarm queries, and a
data file is the one format all three read. Tests check that the topology agrees with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

NAMES_FILE = Path(__file__).with_name("metrics.json")


@dataclass(frozen=True)
class AlarmDefinition:
    """One alarm as terraform deploys it (OCI Alarm fields, snake_case)."""

    key: str
    display_name: str
    query: str
    pending_duration: str
    repeat_notification_duration: str
    severity: str
    body: str


@dataclass(frozen=True)
class Names:
    """Namespace, metric names and dimension keys the probe publishes under."""

    namespace: str
    metric_up: str
    metric_latency_ms: str
    dim_target: str
    dim_resource_id: str
    dim_role: str
    dim_reporter: str
    roles: tuple[str, ...]
    alarms: tuple[AlarmDefinition, ...]
    resolution: str
    message_format: str
    split_notifications: bool


def load_names(path: Path = NAMES_FILE) -> Names:
    """Read the names file; raises if a key is missing, because a silent default would let the
    probe and the alarm drift apart."""
    raw = json.loads(path.read_text())
    return Names(
        namespace=raw["namespace"],
        metric_up=raw["metrics"]["up"],
        metric_latency_ms=raw["metrics"]["latency_ms"],
        dim_target=raw["dimensions"]["target"],
        dim_resource_id=raw["dimensions"]["resource_id"],
        dim_role=raw["dimensions"]["role"],
        dim_reporter=raw["dimensions"]["reporter"],
        roles=tuple(raw["roles"]),
        alarms=tuple(AlarmDefinition(key=key, **fields) for key, fields in raw["alarms"].items()),
        resolution=raw["resolution"],
        message_format=raw["message_format"],
        split_notifications=raw["split_notifications"],
    )


NAMES = load_names()
