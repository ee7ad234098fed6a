"""Alarm states and transitions per metric stream (pure), following OCI's documented examples."""

from __future__ import annotations

from ocisim.monitoring.alarms import (
    FIRING,
    FIRING_TO_OK,
    OK,
    OK_TO_FIRING,
    REPEAT,
    RESET,
    AlarmSpec,
    AlarmState,
    state_from_json,
    state_to_json,
    step,
)

A = (("node", "node-a"),)
B = (("node", "node-b"),)


def spec(
    query: str = 'target_up[1m]{role = "node"}.groupBy(node).max() < 1',
    pending: str = "PT1M",
    repeat: str | None = None,
    split: bool = True,
) -> AlarmSpec:
    raw = {
        "id": "ocid1.alarm.oc1.iad.test",
        "displayName": "node down",
        "compartmentId": "ocid1.compartment.oc1..c",
        "namespace": "vip_failover",
        "query": query,
        "severity": "CRITICAL",
        "destinations": ["ocid1.onstopic.oc1.iad.t"],
        "pendingDuration": pending,
        "isNotificationsPerMetricDimensionEnabled": split,
    }
    if repeat:
        raw["repeatNotificationDuration"] = repeat
    return AlarmSpec.from_oci(raw)


def run(alarm: AlarmSpec, minutes: list[dict]) -> list[list[tuple[str, str, tuple]]]:
    """Evaluate once per minute; returns (type, status, streams) of the notices per minute."""
    state, out = AlarmState(), []
    for index, values in enumerate(minutes):
        state, notices = step(alarm, state, values, now=60.0 * (index + 1))
        out.append([(n.type, n.status, tuple(key for key, _ in n.streams)) for n in notices])
    return out


def test_pending_duration_needs_consecutive_breaching_evaluations_like_ocis_example() -> None:
    # OCI's documented example: PT3M, evaluations [0,0,1,1,1,1,0,...] → FIRING at the 3rd breach
    breach = [0, 0, 1, 1, 1, 1, 0, 0]
    out = run(spec(pending="PT3M"), [{A: 0.0 if b else 1.0} for b in breach])
    assert out == [[], [], [], [], [(OK_TO_FIRING, FIRING, (A,))], [], [(FIRING_TO_OK, OK, (A,))], []]


def test_pending_run_restarts_after_a_clear_minute() -> None:
    out = run(spec(pending="PT2M"), [{A: 0.0}, {A: 1.0}, {A: 0.0}, {A: 0.0}])
    assert [m for m in out] == [[], [], [], [(OK_TO_FIRING, FIRING, (A,))]]


def test_split_alarm_sends_one_message_per_stream() -> None:
    out = run(spec(), [{A: 0.0, B: 0.0}, {A: 1.0, B: 0.0}])
    assert out == [[(OK_TO_FIRING, FIRING, (A,)), (OK_TO_FIRING, FIRING, (B,))], [(FIRING_TO_OK, OK, (A,))]]


def test_grouped_alarm_sends_one_message_listing_every_firing_stream() -> None:
    out = run(spec(split=False), [{A: 0.0}, {A: 0.0, B: 0.0}, {A: 1.0, B: 0.0}, {A: 1.0, B: 1.0}])
    assert out == [[(OK_TO_FIRING, FIRING, (A,))], [], [], [(FIRING_TO_OK, OK, (B,))]]


def test_repeat_while_firing_at_the_repeat_interval() -> None:
    out = run(spec(repeat="PT2M"), [{A: 0.0}] * 5)
    assert out == [[(OK_TO_FIRING, FIRING, (A,))], [], [(REPEAT, FIRING, (A,))], [], [(REPEAT, FIRING, (A,))]]


def test_absent_firing_stream_is_reset_after_the_internal_reset_period() -> None:
    minutes = [{A: 0.0}] + [{}] * 11
    out = run(spec(), minutes)
    assert out[0] == [(OK_TO_FIRING, FIRING, (A,))]
    assert all(m == [] for m in out[1:11])  # still FIRING while absent, no message
    assert out[11] == [(RESET, OK, (A,))]  # 10 minutes after absence was detected: RESET


def test_absence_alarm_fires_when_a_known_stream_stops_reporting() -> None:
    out = run(
        spec(query="target_up[1m].groupBy(node).absent()", pending="PT2M"), [{A: 0.0}, {A: 1.0}, {A: 1.0}, {A: 0.0}]
    )
    assert out == [[], [], [(OK_TO_FIRING, FIRING, (A,))], [(FIRING_TO_OK, OK, (A,))]]


def test_state_survives_the_state_file_round_trip() -> None:
    alarm = spec(pending="PT2M")
    state, _ = step(alarm, AlarmState(), {A: 0.0, B: 1.0}, now=60)
    restored = state_from_json(state_to_json(state))
    assert restored == state
    assert step(alarm, restored, {A: 0.0}, now=120)[1][0].type == OK_TO_FIRING
