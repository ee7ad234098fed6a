"""The alarm message builder against OCI's published messages (fixtures/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocisim.monitoring.alarms import FIRING, OK_TO_FIRING, AlarmSpec, Notice
from ocisim.monitoring.messages import GROUPED, SPLIT, build_message, dedupe_key

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.json"))
STREAM = (("node", "node-a"), ("resourceId", "ocid1.instance.oc1.iad.a"))


def alarm(split: bool) -> AlarmSpec:
    return AlarmSpec.from_oci(
        {
            "id": "ocid1.alarm.oc1.iad.test",
            "displayName": "vip-failover-node-down",
            "compartmentId": "ocid1.compartment.oc1..c",
            "namespace": "vip_failover",
            "query": 'target_up[1m]{role = "node"}.groupBy(node, resourceId).max() < 1',
            "severity": "CRITICAL",
            "destinations": ["ocid1.onstopic.oc1.iad.t"],
            "pendingDuration": "PT1M",
            "body": "failover",
            "isNotificationsPerMetricDimensionEnabled": split,
        }
    )


def shape(value: object) -> object:
    """Keys in order and value types, recursively: what a consumer of the message relies on."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(value[0])] if value and not isinstance(value[0], dict) else ["object"]
    return type(value).__name__


@pytest.mark.parametrize("fixture", FIXTURES, ids=[path.name for path in FIXTURES])
@pytest.mark.parametrize("split", [True, False])
def test_message_has_ocis_keys_order_and_types(fixture: Path, split: bool) -> None:
    published = json.loads(fixture.read_text())
    built = build_message(alarm(split), Notice(OK_TO_FIRING, FIRING, 1761563100.0, ((STREAM, 0.0),), 1), "us-ashburn-1")
    assert shape(built) == shape(published)
    assert shape(built["alarmMetaData"][0]) == shape(published["alarmMetaData"][0])
    assert built["notificationType"] == (SPLIT if split else GROUPED)


def test_message_values_for_a_split_stream() -> None:
    built = build_message(alarm(True), Notice(OK_TO_FIRING, FIRING, 1761563100.0, ((STREAM, 0.0),), 1), "us-ashburn-1")
    meta = built["alarmMetaData"][0]
    assert built["timestamp"] == "2025-10-27T11:05:00Z" and built["timestampEpochMillis"] == 1761563100000
    assert meta["dimensions"] == [{"node": "node-a", "resourceId": "ocid1.instance.oc1.iad.a"}]
    assert meta["metricValues"] == [{'target_up[1m]{role = "node"}.groupBy(node, resourceId).max()': "0.00"}]
    assert meta["alarmUrl"] == "https://cloud.oracle.com/monitoring/alarms/ocid1.alarm.oc1.iad.test?region=us-ashburn-1"
    assert "trigger delay of 1 minute" in meta["alarmSummary"]
    # one dedupe key per alarm and stream, the same for every message of that stream
    assert (
        built["dedupeKey"]
        == dedupe_key("ocid1.alarm.oc1.iad.test", STREAM)
        != dedupe_key("ocid1.alarm.oc1.iad.test", None)
    )
