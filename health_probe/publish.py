"""Posting a batch of datapoints with ``MonitoringClient.post_metric_data``.

The outcome decides what happens to the batch: SENT (drop it), RETRY (Monitoring unreachable,
throttled, 5xx or a token that needs refreshing: keep it in the buffer for the next round) or
REJECTED (a 4xx that will never succeed: drop it and say why, rather than block the buffer).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from itertools import groupby

import oci
from oci.monitoring.models import Datapoint, MetricDataDetails, PostMetricDataDetails

from health_probe.names import NAMES
from health_probe.points import Point

RETRYABLE_STATUS = frozenset({401, 409, 429})


class PostOutcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PostResult:
    outcome: PostOutcome
    reason: str
    failed_streams: int = 0


def metric_data(batch: tuple[Point, ...], compartment_id: str) -> list[MetricDataDetails]:
    """One MetricDataDetails per stream, its datapoints in time order (pure)."""
    ordered = sorted(batch, key=lambda point: (point.stream, point.time))
    return [
        MetricDataDetails(
            namespace=NAMES.namespace,
            compartment_id=compartment_id,
            name=metric,
            dimensions=dict(dimensions),
            datapoints=[Datapoint(timestamp=point.time, value=point.value) for point in points],
        )
        for (metric, dimensions), points in groupby(ordered, key=lambda point: point.stream)
    ]


def post_batch(client: oci.monitoring.MonitoringClient, batch: tuple[Point, ...], compartment_id: str) -> PostResult:
    """Post ``batch``; never raises for service or network trouble, it reports the outcome."""
    details = PostMetricDataDetails(metric_data=metric_data(batch, compartment_id), batch_atomicity="NON_ATOMIC")
    try:
        response = client.post_metric_data(details)
    except oci.exceptions.ServiceError as exc:
        outcome = PostOutcome.RETRY if exc.status in RETRYABLE_STATUS or exc.status >= 500 else PostOutcome.REJECTED
        return PostResult(outcome, f"{exc.status} {exc.code}")
    except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as exc:
        return PostResult(PostOutcome.RETRY, f"unreachable: {type(exc).__name__}")
    failed = response.data.failed_metrics_count or 0
    reason = "; ".join(item.message for item in response.data.failed_metrics or [])
    return PostResult(PostOutcome.SENT, reason or "ok", failed)
