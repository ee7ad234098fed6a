"""The subset of OCI's Monitoring Query Language (MQL) our alarms use, parsed with lark.

Supported, as in OCI's MQL reference:

    metric[interval]{dim = "value", dim =~ "fuzzy*|other"}
        .groupBy(dim, ...) | .grouping()          (optional, before the statistic)
        .max() | .min() | .mean() | .avg() | .sum() | .count() | .first() | .last()
        | .percentile(p) | .absent() | .absent(detection period)
        [> | >= | < | <= | == | != N]  [in (a, b)]  [not in (a, b)]

e.g. ``target_up[1m]{role = "node"}.groupBy(node, resourceId).max() < 1``. Anything else
(rate(), joins with && / ||, arithmetic, nested queries) is refused with an InvalidParameter-style
message naming what is unsupported, rather than evaluated wrongly.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError

GRAMMAR = r"""
    query: selector call* predicate?
    selector: METRIC "[" DURATION "]" dimensions?
    dimensions: "{" [dimension ("," dimension)*] "}"
    dimension: NAME DIMOP ESCAPED_STRING
    call: "." NAME "(" [arg ("," arg)*] ")"
    ?arg: NAME -> name_arg
        | DURATION -> duration_arg
        | SIGNED_NUMBER -> number_arg
    predicate: CMP SIGNED_NUMBER -> compare
             | "in" "(" SIGNED_NUMBER "," SIGNED_NUMBER ")" -> in_range
             | "not" "in" "(" SIGNED_NUMBER "," SIGNED_NUMBER ")" -> not_in_range

    DURATION.2: /[0-9]+[mhd]\b/
    METRIC: /[A-Za-z_][A-Za-z0-9_.\-]*/
    NAME: /[A-Za-z_][A-Za-z0-9_.\-]*/
    DIMOP: "=~" | "="
    CMP: ">=" | "<=" | "==" | "!=" | ">" | "<"
    %import common.ESCAPED_STRING
    %import common.SIGNED_NUMBER
    %import common.WS
    %ignore WS
"""

STATISTICS = ("max", "min", "mean", "avg", "sum", "count", "first", "last", "percentile", "absent")
# OCI's default absence detection period.
DEFAULT_ABSENCE_DETECTION_SECONDS = 2 * 3600
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


class MqlError(ValueError):
    """The query is not valid MQL, or uses a part the emulator does not evaluate."""


def duration_seconds(text: str) -> int:
    """``1m`` / ``2h`` / ``1d`` → seconds."""
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]


@dataclass(frozen=True)
class DimensionFilter:
    name: str
    op: str  # "=" exact, "=~" fuzzy: "*" wildcard, "|" alternatives
    value: str

    def matches(self, actual: str | None) -> bool:
        if actual is None:
            return False
        if self.op == "=":
            return actual == self.value
        return any(fnmatch.fnmatchcase(actual, alternative) for alternative in self.value.split("|"))


@dataclass(frozen=True)
class Predicate:
    op: str  # one of CMP, "in", "not in"
    low: float
    high: float | None = None

    def holds(self, value: float) -> bool:
        if self.op == "in":
            return self.low <= value <= self.high  # type: ignore[operator]
        if self.op == "not in":
            return not self.low <= value <= self.high  # type: ignore[operator]
        return {
            ">": value > self.low,
            ">=": value >= self.low,
            "<": value < self.low,
            "<=": value <= self.low,
            "==": value == self.low,
            "!=": value != self.low,
        }[self.op]


@dataclass(frozen=True)
class Query:
    """A parsed query. ``group_by`` None keeps every stream apart, () is ``grouping()``."""

    text: str
    expression: str  # the query without its predicate: the key of alarm ``metricValues``
    metric: str
    interval_seconds: int
    filters: tuple[DimensionFilter, ...]
    group_by: tuple[str, ...] | None
    statistic: str
    statistic_arg: float | None
    predicate: Predicate | None

    @property
    def is_absence(self) -> bool:
        return self.statistic == "absent"

    @property
    def absence_detection_seconds(self) -> int:
        return int(self.statistic_arg or DEFAULT_ABSENCE_DETECTION_SECONDS)

    def condition(self, value: float) -> bool:
        """OCI reads each result as a boolean: the predicate, else non-zero means true."""
        return self.predicate.holds(value) if self.predicate else value != 0


@v_args(inline=True)
class _ToQuery(Transformer):
    def selector(self, metric: Token, interval: Token, dimensions: list | None = None) -> tuple:
        return str(metric), duration_seconds(str(interval)), tuple(dimensions or ())

    def dimensions(self, *items: DimensionFilter | None) -> list[DimensionFilter]:
        return [item for item in items if item is not None]

    def dimension(self, name: Token, op: Token, value: Token) -> DimensionFilter:
        return DimensionFilter(str(name), str(op), value[1:-1].replace('\\"', '"'))

    def call(self, name: Token, *args: object) -> tuple[str, tuple]:
        return str(name), tuple(arg for arg in args if arg is not None)

    def name_arg(self, token: Token) -> str:
        return str(token)

    def duration_arg(self, token: Token) -> int:
        return duration_seconds(str(token))

    def number_arg(self, token: Token) -> float:
        return float(token)

    def compare(self, op: Token, number: Token) -> Predicate:
        return Predicate(str(op), float(number))

    def in_range(self, low: Token, high: Token) -> Predicate:
        return Predicate("in", float(low), float(high))

    def not_in_range(self, low: Token, high: Token) -> Predicate:
        return Predicate("not in", float(low), float(high))


_PARSER = Lark(GRAMMAR, start="query", parser="lalr", propagate_positions=True)


def parse(text: str) -> Query:
    """Parse ``text``; raises MqlError with the reason for anything outside the subset."""
    try:
        tree = _PARSER.parse(text)
        parts = _ToQuery().transform(tree).children
    except (LarkError, VisitError) as exc:
        raise MqlError(f"Invalid MQL query {text!r}: {str(exc).splitlines()[0]}") from exc
    (metric, interval, filters), *rest = parts
    predicate = rest.pop() if rest and isinstance(rest[-1], Predicate) else None
    group_by, statistic, statistic_arg = _calls(text, rest)
    end = len(text) if predicate is None else _predicate_start(tree)
    return Query(
        text=text,
        expression=text[:end].rstrip(),
        metric=metric,
        interval_seconds=interval,
        filters=filters,
        group_by=group_by,
        statistic=statistic,
        statistic_arg=statistic_arg,
        predicate=predicate,
    )


def _calls(text: str, calls: list[tuple[str, tuple]]) -> tuple[tuple[str, ...] | None, str, float | None]:
    group_by: tuple[str, ...] | None = None
    statistic: str | None = None
    statistic_arg: float | None = None
    for name, args in calls:
        if statistic is not None:
            raise MqlError(f"Unsupported MQL in {text!r}: nothing may follow the statistic ({name}())")
        if name == "groupBy":
            if not args or not all(isinstance(arg, str) for arg in args):
                raise MqlError(f"Invalid MQL query {text!r}: groupBy() takes dimension names")
            group_by = tuple(args)  # type: ignore[arg-type]
        elif name == "grouping":
            if args:
                raise MqlError(f"Invalid MQL query {text!r}: grouping() takes no arguments")
            group_by = ()
        elif name in STATISTICS:
            statistic, statistic_arg = name, _statistic_arg(text, name, args)
        else:
            raise MqlError(f"Unsupported MQL in {text!r}: {name}() is not evaluated by the emulator")
    if statistic is None:
        raise MqlError(f"Invalid MQL query {text!r}: a statistic such as .max() is required")
    return group_by, statistic, statistic_arg


def _statistic_arg(text: str, name: str, args: tuple) -> float | None:
    if name == "percentile":
        if len(args) != 1 or isinstance(args[0], str) or not 0 < float(args[0]) < 1:
            raise MqlError(f"Invalid MQL query {text!r}: percentile(p) needs 0 < p < 1")
        return float(args[0])
    if name == "absent":
        if len(args) > 1 or (args and not isinstance(args[0], int)):
            raise MqlError(f"Invalid MQL query {text!r}: absent() takes an optional period such as 2h")
        if args and not 60 <= args[0] <= 3 * 86400:
            raise MqlError(f"Invalid MQL query {text!r}: the absence detection period must be 1m to 3d")
        return float(args[0]) if args else None
    if args:
        raise MqlError(f"Invalid MQL query {text!r}: {name}() takes no arguments")
    return None


def _predicate_start(tree) -> int:  # type: ignore[no-untyped-def]
    predicate = tree.children[-1]
    return predicate.meta.start_pos


_ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


def iso_duration_seconds(text: str) -> int:
    """``PT1M`` / ``PT1H30M`` / ``PT90S`` → seconds (the form of pendingDuration and friends)."""
    match = _ISO_DURATION.match(text or "")
    if not match or not any(match.groups()):
        raise MqlError(f"Invalid ISO 8601 duration {text!r}; expected e.g. PT5M")
    hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds
