"""Aggregating raw datapoints the way MQL does: filter streams, group, apply the statistic per
interval window. Pure functions over immutable inputs; models.py holds the data, alarms.py the
state machine.

A window ending at T covers (T - interval, T]: OCI stamps an aggregated datapoint with the end of
its window.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ocisim.monitoring.mql import Query

StreamKey = tuple[tuple[str, str], ...]  # sorted (dimension, value) pairs


@dataclass(frozen=True)
class Series:
    """One raw metric stream: its dimensions and (epoch seconds, value) points in time order."""

    metric: str
    dimensions: StreamKey
    points: tuple[tuple[float, float], ...]


def stream_key(query: Query, dimensions: StreamKey) -> StreamKey:
    """The stream a series contributes to after ``groupBy`` / ``grouping()``."""
    if query.group_by is None:
        return dimensions
    values = dict(dimensions)
    return tuple((name, values[name]) for name in query.group_by if name in values)


def selected(query: Query, series: Iterable[Series]) -> list[Series]:
    """The series of the query's metric whose dimensions pass every filter."""
    return [
        s
        for s in series
        if s.metric == query.metric and all(f.matches(dict(s.dimensions).get(f.name)) for f in query.filters)
    ]


def aggregate(statistic: str, argument: float | None, values: list[float]) -> float:
    """One statistic over the raw values of a window (``values`` in time order, non-empty)."""
    if statistic == "max":
        return max(values)
    if statistic == "min":
        return min(values)
    if statistic in ("mean", "avg"):
        return sum(values) / len(values)
    if statistic == "sum":
        return sum(values)
    if statistic == "count":
        return float(len(values))
    if statistic == "first":
        return values[0]
    if statistic == "last":
        return values[-1]
    if statistic == "percentile":
        ordered = sorted(values)
        return ordered[max(0, math.ceil(argument * len(ordered)) - 1)]  # type: ignore[operator]
    raise ValueError(f"no aggregation for {statistic}()")


def window_values(query: Query, series: Iterable[Series], end: float) -> dict[StreamKey, float]:
    """The query's value per stream for the window ending at ``end`` (no predicate applied).

    A stream without datapoints in the window has no value, except for ``absent()``: every stream
    seen within the absence detection period gets 1 when the window is empty, else 0.
    """
    start = end - query.interval_seconds
    in_window: dict[StreamKey, list[tuple[float, float]]] = defaultdict(list)
    known: set[StreamKey] = set()
    for s in selected(query, series):
        key = stream_key(query, s.dimensions)
        points = [p for p in s.points if start < p[0] <= end]
        in_window[key].extend(points)
        if query.is_absence and any(end - query.absence_detection_seconds < t <= end for t, _ in s.points):
            known.add(key)
    if query.is_absence:
        return {key: 0.0 if in_window.get(key) else 1.0 for key in known}
    return {
        key: aggregate(query.statistic, query.statistic_arg, [v for _, v in sorted(points)])
        for key, points in in_window.items()
        if points
    }


def summarize(
    query: Query, series: Iterable[Series], start: float, end: float, resolution_seconds: int
) -> dict[StreamKey, list[tuple[float, float]]]:
    """SummarizeMetricsData: one aggregated datapoint per ``resolution`` step in [start, end),
    stamped with its window's end; with a predicate only the points that meet it are kept."""
    series = list(series)
    first = math.floor(start / resolution_seconds) * resolution_seconds + resolution_seconds
    result: dict[StreamKey, list[tuple[float, float]]] = defaultdict(list)
    stamp = first
    while stamp <= end:
        for key, value in window_values(query, series, stamp).items():
            if query.predicate is None or query.predicate.holds(value):
                result[key].append((stamp, value))
        stamp += resolution_seconds
    return dict(result)
