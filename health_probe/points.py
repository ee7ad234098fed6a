"""Probe results → metric datapoints, and the bounded buffer that holds them until posted.

Pure: no clock, no I/O. The buffer is what lets the agent ride out a Monitoring outage: points
stay until a post succeeds, the oldest go first when it is full, and points older than OCI's
two-hour acceptance window are dropped since PostMetricData would reject them anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from health_probe.names import NAMES
from health_probe.probe import ProbeResult

# PostMetricData rejects datapoints more than two hours old.
MAX_POINT_AGE = timedelta(hours=2)

Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Point:
    """One raw datapoint of one metric stream (metric name + dimensions)."""

    metric: str
    dimensions: Dimensions
    time: datetime
    value: float

    @property
    def stream(self) -> tuple[str, Dimensions]:
        return (self.metric, self.dimensions)


@dataclass(frozen=True)
class PointBuffer:
    """Points waiting to be posted, oldest first, never more than ``max_points``."""

    max_points: int
    points: tuple[Point, ...] = ()
    dropped: int = 0


def points_for(result: ProbeResult, reporter: str) -> tuple[Point, ...]:
    """The datapoints one probe produces: always ``up``, and ``latency`` when it was answered."""
    target = result.target
    dimensions = (
        (NAMES.dim_target, target.name),
        (NAMES.dim_resource_id, target.resource_id),
        (NAMES.dim_role, target.role),
        (NAMES.dim_reporter, reporter),
    )
    points = [Point(NAMES.metric_up, dimensions, result.time, 1.0 if result.up else 0.0)]
    if result.latency_ms is not None:
        points.append(Point(NAMES.metric_latency_ms, dimensions, result.time, round(result.latency_ms, 3)))
    return tuple(points)


def add_points(buffer: PointBuffer, new: tuple[Point, ...], now: datetime) -> PointBuffer:
    """Append ``new``, then drop what is too old for OCI and the oldest beyond capacity."""
    fresh = [point for point in buffer.points + new if now - point.time < MAX_POINT_AGE]
    expired = len(buffer.points) + len(new) - len(fresh)
    overflow = max(0, len(fresh) - buffer.max_points)
    return replace(buffer, points=tuple(fresh[overflow:]), dropped=buffer.dropped + expired + overflow)


def take_batch(buffer: PointBuffer, max_streams: int) -> tuple[tuple[Point, ...], PointBuffer]:
    """Split off every point of the first ``max_streams`` streams (one PostMetricData call)."""
    chosen: set[tuple[str, Dimensions]] = set()
    batch, rest = [], []
    for point in buffer.points:
        if point.stream in chosen or len(chosen) < max_streams:
            chosen.add(point.stream)
            batch.append(point)
        else:
            rest.append(point)
    return tuple(batch), replace(buffer, points=tuple(rest))


def put_back(buffer: PointBuffer, batch: tuple[Point, ...]) -> PointBuffer:
    """Return an unsent batch to the buffer in time order, keeping the capacity bound."""
    points = tuple(sorted(batch + buffer.points, key=lambda point: point.time))
    overflow = max(0, len(points) - buffer.max_points)
    return replace(buffer, points=points[overflow:], dropped=buffer.dropped + overflow)
