"""Datapoints, the bounded buffer and the jittered schedule (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from health_probe.config import Target
from health_probe.names import NAMES
from health_probe.points import PointBuffer, add_points, points_for, put_back, take_batch
from health_probe.probe import ProbeResult
from health_probe.schedule import next_delay

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NODE_A = Target("node-a", "node", "http://127.0.0.1:1/healthz", "ocid1.instance.oc1.iad.a")
VIP = Target("vip", "vip", "http://127.0.0.1:2/", "ocid1.privateip.oc1.iad.v")


def round_points(second: int, up: bool = True) -> tuple:
    when = T0 + timedelta(seconds=second)
    return points_for(ProbeResult(NODE_A, when, up, 3.0 if up else None, "x"), "node-b") + points_for(
        ProbeResult(VIP, when, True, 1.0, "x"), "node-b"
    )


def test_a_probe_gives_up_and_latency_with_the_target_and_reporter_dimensions() -> None:
    up, latency = points_for(ProbeResult(NODE_A, T0, True, 3.25, "HTTP 200"), "node-b")
    assert (up.metric, up.value, latency.metric, latency.value) == (NAMES.metric_up, 1.0, NAMES.metric_latency_ms, 3.25)
    assert dict(up.dimensions) == {
        "node": "node-a",
        "resourceId": "ocid1.instance.oc1.iad.a",
        "role": "node",
        "reporter": "node-b",
    }


def test_a_failed_probe_reports_down_and_no_latency() -> None:
    (point,) = points_for(ProbeResult(NODE_A, T0, False, None, "ConnectionError"), "node-b")
    assert (point.metric, point.value) == (NAMES.metric_up, 0.0)


def test_buffer_keeps_the_newest_points_within_its_bound() -> None:
    buffer = PointBuffer(max_points=10)
    for second in range(0, 100, 10):
        buffer = add_points(buffer, round_points(second), T0 + timedelta(seconds=second))
    assert len(buffer.points) == 10 and buffer.dropped == 30
    assert min(p.time for p in buffer.points) == T0 + timedelta(seconds=70)


def test_points_older_than_two_hours_are_dropped() -> None:
    buffer = add_points(PointBuffer(max_points=100), round_points(0), T0)
    buffer = add_points(buffer, round_points(7200), T0 + timedelta(hours=2))
    assert {p.time for p in buffer.points} == {T0 + timedelta(hours=2)} and buffer.dropped == 4


def test_batches_take_whole_streams_and_put_back_restores_order() -> None:
    buffer = PointBuffer(max_points=100)
    for second in (0, 10, 20):
        buffer = add_points(buffer, round_points(second), T0)
    batch, rest = take_batch(buffer, max_streams=2)
    assert len({p.stream for p in batch}) == 2 and len(batch) == 6 and len(rest.points) == 6
    assert not {p.stream for p in batch} & {p.stream for p in rest.points}
    restored = put_back(rest, batch)
    assert sorted(restored.points, key=lambda p: p.time) == list(restored.points) and len(restored.points) == 12


def test_schedule_jitters_after_the_interval_and_never_waits_negative() -> None:
    assert next_delay(elapsed=1.0, interval=10.0, jitter=2.0, random_fraction=0.5) == 10.0
    assert next_delay(elapsed=12.0, interval=10.0, jitter=2.0, random_fraction=0.0) == 0.0
