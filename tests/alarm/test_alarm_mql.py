"""MQL subset: parsing and per-window evaluation (pure)."""

from __future__ import annotations

import pytest

from ocisim.monitoring.evaluate import Series, summarize, window_values
from ocisim.monitoring.mql import MqlError, iso_duration_seconds, parse

DOWN_QUERY = 'target_up[1m]{role = "node"}.groupBy(node).max() < 1'


def series(node: str, reporter: str, points: list[tuple[float, float]], role: str = "node") -> Series:
    dims = tuple(sorted({"node": node, "reporter": reporter, "role": role}.items()))
    return Series("target_up", dims, tuple(points))


def test_parse_keeps_the_expression_without_the_predicate_for_metric_values() -> None:
    query = parse(DOWN_QUERY)
    assert query.expression == 'target_up[1m]{role = "node"}.groupBy(node).max()'
    assert (query.metric, query.interval_seconds, query.group_by, query.statistic) == (
        "target_up",
        60,
        ("node",),
        "max",
    )
    assert query.condition(0.0) and not query.condition(1.0)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("target_up[1m].rate() > 1", "rate() is not evaluated"),
        ("target_up[1m]", "a statistic such as .max() is required"),
        ("target_up[1m].max() >", "Invalid MQL"),
        ("target_up[1m].max().grouping()", "nothing may follow the statistic"),
        ("target_up[1m].percentile(2)", "0 < p < 1"),
        ("target_up[1m].absent(4d)", "1m to 3d"),
    ],
)
def test_unsupported_or_invalid_queries_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(MqlError, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse(text)


def test_group_by_node_takes_the_max_over_every_reporter() -> None:
    data = [
        series("node-a", "node-a", [(30, 1.0)]),
        series("node-a", "node-b", [(30, 0.0)]),
        series("node-b", "node-b", [(30, 0.0), (50, 0.0)]),
        series("vip", "node-a", [(30, 0.0)], role="vip"),
    ]
    values = window_values(parse(DOWN_QUERY), data, end=60)
    assert values == {(("node", "node-a"),): 1.0, (("node", "node-b"),): 0.0}


def test_window_is_end_exclusive_of_its_start() -> None:
    data = [series("node-a", "node-b", [(0, 0.0), (60, 1.0), (61, 0.0)])]
    assert window_values(parse(DOWN_QUERY), data, end=60) == {(("node", "node-a"),): 1.0}
    assert window_values(parse(DOWN_QUERY), data, end=120) == {(("node", "node-a"),): 0.0}


def test_grouping_merges_all_streams_and_fuzzy_filters_match_alternatives() -> None:
    data = [
        series("node-a", "node-b", [(10, 3.0)]),
        series("node-b", "node-a", [(20, 5.0)]),
        series("vip", "node-a", [(20, 9.0)], role="vip"),
    ]
    query = parse('target_up[1m]{node =~ "node-*|other"}.grouping().mean()')
    assert window_values(query, data, end=60) == {(): 4.0}


def test_absent_is_one_for_a_known_stream_without_data_and_zero_with_data() -> None:
    query = parse('target_up[1m]{role = "node"}.groupBy(node).absent(5m)')
    data = [series("node-a", "node-b", [(10, 0.0), (70, 0.0)]), series("node-b", "node-a", [(10, 1.0)])]
    assert window_values(query, data, end=120) == {(("node", "node-a"),): 0.0, (("node", "node-b"),): 1.0}
    # after the absence detection period the stream generates no value at all
    assert window_values(query, data, end=10 + 5 * 60) == {(("node", "node-a"),): 1.0}


def test_summarize_steps_by_resolution_and_keeps_only_points_meeting_the_predicate() -> None:
    data = [series("node-a", "node-b", [(30, 1.0), (90, 0.0), (150, 1.0)])]
    assert summarize(parse(DOWN_QUERY), data, start=0, end=180, resolution_seconds=60) == {
        (("node", "node-a"),): [(120, 0.0)]
    }
    no_predicate = parse('target_up[1m]{role = "node"}.groupBy(node).max()')
    assert summarize(no_predicate, data, 0, 180, 60)[(("node", "node-a"),)] == [(60, 1.0), (120, 0.0), (180, 1.0)]


def test_iso_durations() -> None:
    assert [iso_duration_seconds(t) for t in ("PT1M", "PT5M", "PT1H30M", "PT90S")] == [60, 300, 5400, 90]
    with pytest.raises(MqlError):
        iso_duration_seconds("5 minutes")
