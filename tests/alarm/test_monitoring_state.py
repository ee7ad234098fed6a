"""Monitoring's state survives the emulator's state file (metrics, alarms and their evaluation state)."""

from __future__ import annotations

import json

from ocisim.monitoring.alarms import FIRING, step
from ocisim.monitoring.evaluate import window_values
from ocisim.monitoring.models import MonitoringState, seed
from tests.support.topology import two_node

TOPOLOGY = two_node()
COMPARTMENT = TOPOLOGY["compartments"][0]["id"]


def metric(node: str, value: float, stamp: str) -> dict:
    return {
        "namespace": "vip_failover",
        "compartmentId": COMPARTMENT,
        "name": "target_up",
        "dimensions": {
            "node": node,
            "resourceId": f"ocid1.instance.oc1.iad.{node}",
            "role": "node",
            "reporter": "node-b",
        },
        "datapoints": [{"timestamp": stamp, "value": value}],
    }


def test_round_trip_through_json_keeps_points_and_alarm_states() -> None:
    state = seed(TOPOLOGY, None)
    now = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a minute boundary
    answer = state.post({"metricData": [metric("node-a", 0.0, "2027-01-15T07:59:30Z")]}, now)
    assert answer == {"failedMetricsCount": 0, "failedMetrics": []}
    alarm = next(a for a in state.alarms.values() if a.spec.display_name == "vip-failover-node-down")
    values = window_values(alarm.spec.query, state.streams(COMPARTMENT, "vip_failover"), now)
    alarm.state, notices = step(alarm.spec, alarm.state, values, now)
    assert [n.type for n in notices] == ["OK_TO_FIRING"]

    restored = MonitoringState.from_json(json.loads(json.dumps(state.to_json())))
    assert restored.series == state.series
    again = restored.alarms[alarm.spec.id]
    assert again.state == alarm.state and again.state.status == FIRING and again.spec == alarm.spec
