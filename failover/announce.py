"""Failover events: every decision that moves, fails to move, or refuses (or, while paused,
holds) a move is told to the people who run it, twice:

* a custom metric in ``EVENTS_NAMESPACE`` (``failover_moves`` with ``outcome`` moved / failed /
  unverified, or ``failover_refused``; dimensions ``vip``, ``from``, ``to``), posted with
  PostMetricData to the telemetry-ingestion endpoint, for dashboards and alarms of their own;
* a message on the events topic (``EVENTS_TOPIC_ID``): a title a person reads in an email
  subject, and a JSON body (from, to, why, who asked, elapsed) a script reads.

Both are best effort and come after the write: they run in their own threads with short
timeouts and no retries, the invocation waits for them at most ``MAX_WAIT_SECONDS`` (less when
its budget is shorter), and any failure is logged, never raised. An event can be lost; a move
is never delayed by one before it is written, nor failed by one after.

``event_for`` is pure and decides from the function's answer, so any refusal the decision table
returns (``Action.REFUSE``, answered ``refused``) is announced without more code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import log

# Not the agents' namespace: the function may write its own events but never forge a node's health.
EVENTS_NAMESPACE = "vip_failover_events"
MOVES_METRIC = "failover_moves"
REFUSED_METRIC = "failover_refused"
# Per call: a second to connect, two to answer; the invocation waits this long for both at most.
EVENT_TIMEOUT = (1.0, 2.0)
MAX_WAIT_SECONDS = 3.0
_KIND = {"moved": "moved", "partial": "moved", "failed": "failed", "unverified": "unverified", "refused": "refused"}


@dataclass(frozen=True)
class FailoverEvent:
    """One announced decision about a VIP group."""

    kind: str  # moved | failed | unverified | refused
    vip: str  # the group's first address (the VIP people know)
    vips: tuple[str, ...]  # every private IP OCID the decision was about
    from_node: str | None
    to_node: str | None
    why: str
    asked_by: str  # the event's source: "alarm OK_TO_FIRING", "keepalived node-b MASTER", "manual failover"
    elapsed_ms: int
    at: float  # epoch seconds
    # Every address of the decision (IPv4 and IPv6), and after a partial move which VIPs moved
    # and which did not (the next event completes the group).
    addresses: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()
    not_moved: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        arrow = f"{self.from_node or '?'} -> {self.to_node or '?'}"
        if self.kind == "moved" and self.not_moved:
            return f"VIP {self.vip} partly moved {arrow}: {len(self.not_moved)} of {len(self.vips)} VIPs did not move"
        if self.kind == "moved":
            return f"VIP {self.vip} moved {arrow}"
        if self.kind == "refused":
            return f"VIP {self.vip}: move {arrow} refused"
        return f"VIP {self.vip}: move {arrow} {self.kind}"

    def body(self) -> str:
        return json.dumps(
            {
                "event": self.kind,
                "vip": self.vip,
                "vips": list(self.vips),
                "addresses": list(self.addresses),
                "moved": list(self.moved),
                "not_moved": list(self.not_moved),
                "from": self.from_node,
                "to": self.to_node,
                "why": self.why,
                "asked_by": self.asked_by,
                "elapsed_ms": self.elapsed_ms,
                "at": self.at,
            }
        )

    def metric(self, compartment_id: str, timestamp: str) -> dict[str, Any]:
        """One MetricDataDetails (SDK field names): value 1 per event, summed by a dashboard."""
        dimensions = {"vip": self.vip, "from": self.from_node or "none", "to": self.to_node or "none"}
        if self.kind != "refused":
            dimensions["outcome"] = self.kind
        return {
            "namespace": EVENTS_NAMESPACE,
            "compartment_id": compartment_id,
            "name": REFUSED_METRIC if self.kind == "refused" else MOVES_METRIC,
            "dimensions": dimensions,
            "datapoints": [{"timestamp": timestamp, "value": 1.0}],
        }


def event_for(answer: Mapping[str, Any], now: float) -> FailoverEvent | None:
    """The event an answer calls for, or None (nothing moved or needed moving, or a dry run).
    A pause that held a move (``paused`` with a target) is a refusal: a needed move did not happen."""
    if answer.get("dry_run"):
        return None
    decision = answer.get("decision")
    kind = _KIND.get(str(decision))
    if decision == "paused" and answer.get("target"):
        kind = "refused"
    if kind is None:
        return None
    vips = answer.get("vips") or []
    return FailoverEvent(
        kind=kind,
        vip=str(answer.get("ip_address") or (vips[0]["private_ip_id"] if vips else "?")),
        vips=tuple(v["private_ip_id"] for v in vips),
        from_node=_first(vips, "from") or answer.get("from"),
        to_node=answer.get("target") or answer.get("to"),
        why=str(answer.get("reason", ""))[:2000],
        asked_by=str(answer.get("source", "")),
        elapsed_ms=int(answer.get("elapsed_ms", 0)),
        at=now,
        addresses=tuple(str(v["ip_address"]) for v in vips if v.get("ip_address")),
        moved=tuple(answer.get("moved") or ()),
        not_moved=tuple(answer.get("not_moved") or ()),
    )


def _first(vips: list[Mapping[str, Any]], key: str) -> str | None:
    return next((v[key] for v in vips if v.get(key)), None)


class Announcer:
    """Posts events with clients built on first use (after the first write, not at cold start)."""

    def __init__(
        self, topic_id: str | None, compartment_id: str | None, clients: Callable[[], tuple[Any, Any]]
    ) -> None:
        self.topic_id = topic_id
        self.compartment_id = compartment_id
        self._clients = clients
        self._built: tuple[Any, Any] | None = None

    def post(self, event: FailoverEvent, wait_s: float) -> None:
        """Send the metric and the message at once; return within ``wait_s`` whatever they do."""
        try:
            if self._built is None:
                self._built = self._clients()
            monitoring, ons = self._built
        except Exception as exc:
            log.warning("event_not_sent", kind=event.kind, reason=f"could not build clients: {type(exc).__name__}")
            return
        sends: list[tuple[str, Callable[[], Any]]] = []
        if self.compartment_id:
            sends.append(("metric", lambda: _post_metric(monitoring, event, self.compartment_id or "")))
        if self.topic_id:
            sends.append(("message", lambda: _publish(ons, event, self.topic_id or "")))
        threads = [threading.Thread(target=_guarded, args=(what, send, event), daemon=True) for what, send in sends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, min(MAX_WAIT_SECONDS, wait_s)))
        late = [what for (what, _), t in zip(sends, threads, strict=True) if t.is_alive()]
        if late:
            log.warning(
                "event_late", kind=event.kind, parts=late, reason=f"not done within {wait_s:.1f}s: not waited for"
            )


def _guarded(what: str, send: Callable[[], Any], event: FailoverEvent) -> None:
    try:
        send()
        log.info("event_sent", part=what, kind=event.kind, vip=event.vip, title=event.title)
    except Exception as exc:  # an event is best effort: log it, never fail the invocation
        status = getattr(exc, "status", None)
        log.warning("event_not_sent", part=what, kind=event.kind, status=status, reason=f"{type(exc).__name__}")


def _post_metric(monitoring: Any, event: FailoverEvent, compartment_id: str) -> None:
    import datetime as dt

    import oci.retry
    from oci.monitoring.models import MetricDataDetails, PostMetricDataDetails

    stamp = dt.datetime.fromtimestamp(event.at, dt.UTC).isoformat()
    raw = event.metric(compartment_id, stamp)
    details = PostMetricDataDetails(metric_data=[MetricDataDetails(**raw)])
    monitoring.post_metric_data(details, retry_strategy=oci.retry.NoneRetryStrategy())


def _publish(ons: Any, event: FailoverEvent, topic_id: str) -> None:
    import oci.retry
    from oci.ons.models import MessageDetails

    details = MessageDetails(title=event.title, body=event.body())
    ons.publish_message(topic_id, details, retry_strategy=oci.retry.NoneRetryStrategy())


def build_announcer(
    env: Mapping[str, str], topic_id: str | None, compartment_id: str | None, endpoint: str | None
) -> Announcer | None:
    """None when no events are configured (neither a topic nor a compartment for the metric)."""
    if not topic_id and not compartment_id:
        return None

    def clients() -> tuple[Any, Any]:
        from oci.monitoring import MonitoringClient
        from oci.ons import NotificationDataPlaneClient

        from .network import build_client

        monitoring = build_client(MonitoringClient, env, endpoint, EVENT_TIMEOUT)
        if not endpoint:  # PostMetricData goes to telemetry-ingestion, which the SDK does not pick itself
            base = monitoring.base_client
            base.endpoint = base.endpoint.replace("://telemetry.", "://telemetry-ingestion.", 1)
        return monitoring, build_client(NotificationDataPlaneClient, env, endpoint, EVENT_TIMEOUT)

    return Announcer(topic_id, compartment_id, clients)
