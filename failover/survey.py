"""The doctor's imperative shell: read everything the chain depends on, move nothing.

Only reads: GetPrivateIp, GetVnic, GetPublicIpByPrivateIpId (Core), GetAlarm and
SummarizeMetricsData (Monitoring), ListSubscriptions (Notifications), and one GET of every
node's health endpoint. Each OCI call is bounded by the invocation's budget as the function's
own are (failover.network.bounded_call); one that fails becomes the detail of its check, never
an exception, so a broken link is reported, not crashed on. The Monitoring and Notifications
clients are built only here, so the function's cold start never pays for them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from . import doctor, log
from .config import Config, ConfigError
from .doctor import (
    AGENT_METRIC,
    AGENT_NAMESPACE,
    AlarmFacts,
    Facts,
    NodeFacts,
    SubscriptionFacts,
    VipFacts,
)
from .network import (
    CALL_TIMEOUT,
    ApiError,
    Deadline,
    Network,
    bounded_call,
    build_client,
)

# How far back the freshness check looks for the agents' datapoints.
METRICS_WINDOW_SECONDS = 600.0


class Readers:
    """The Monitoring and Notifications clients the doctor reads with."""

    def __init__(self, env: Mapping[str, str], endpoint: str | None) -> None:
        from oci.monitoring import MonitoringClient
        from oci.ons import NotificationDataPlaneClient

        self.monitoring = build_client(MonitoringClient, env, endpoint, CALL_TIMEOUT)
        self.ons = build_client(NotificationDataPlaneClient, env, endpoint, CALL_TIMEOUT)


def examine(
    config: Config, network: Network, readers: Readers, prober: Any, budget: Deadline, now: float | None = None
) -> dict[str, Any]:
    """The doctor's report (failover.doctor.report) for this deployment."""
    facts = gather(config, network, readers, prober, budget, time.time() if now is None else now)
    found = doctor.checks(config, facts)
    summary = doctor.report(found)
    log.info(
        "doctor",
        ok=summary["ok"],
        broken=summary["broken"],
        unverified=summary["unverified"],
        reason=next((c.detail for c in found if not c.ok), "every link holds"),
    )
    return summary


def config_report(exc: ConfigError) -> dict[str, Any]:
    return doctor.report(doctor.config_failure(str(exc)))


def gather(config: Config, network: Network, readers: Readers, prober: Any, budget: Deadline, now: float) -> Facts:
    probes = prober(config.nodes, config.probe_timeout_seconds, config.probe_connect_timeout_seconds)
    vips = tuple(_vip(network, vip, budget) for vip in config.vip_ids)
    alarms = tuple(_alarm(readers, alarm_id, budget) for alarm_id in sorted(config.alarm_ids))
    compartment = config.compartment_id or next((a[1] for a in alarms if a[1]), None)
    nodes = tuple(_node(network, readers, node, probes[node.name], compartment, budget, now) for node in config.nodes)
    return Facts(now=now, vips=vips, nodes=nodes, alarms=tuple(a[0] for a in alarms))


def _vip(network: Network, vip: str, budget: Deadline) -> VipFacts:
    try:
        state = network.read(vip, budget)
    except ApiError as exc:
        return VipFacts(private_ip_id=vip, error=str(exc))
    public, public_error = None, None
    try:
        public = network.public_ip(vip, budget)
    except ApiError as exc:
        public_error = str(exc)
    return VipFacts(
        private_ip_id=vip,
        ip_address=state.ip_address,
        vnic_id=state.vnic_id,
        subnet_id=state.subnet_id,
        is_primary=state.is_primary,
        tags=dict(state.freeform_tags),
        public_ip=public,
        public_ip_error=public_error,
    )


def _node(
    network: Network,
    readers: Readers,
    node: Any,
    probe: Any,
    compartment: str | None,
    budget: Deadline,
    now: float,
) -> NodeFacts:
    subnet, vnic_error = None, None
    try:
        subnet = network.vnic_subnet(node.vnic_id, budget)
    except ApiError as exc:
        vnic_error = str(exc)
    metrics_at, metrics_error = None, None
    if compartment is None:
        metrics_error = "no COMPARTMENT_ID and no readable alarm to say where the agents post"
    else:
        try:
            metrics_at = _newest_datapoint(readers, compartment, node.name, budget, now)
        except ApiError as exc:
            metrics_error = str(exc)
    return NodeFacts(node.name, probe, subnet, vnic_error, metrics_at, metrics_error)


def _newest_datapoint(readers: Readers, compartment: str, node: str, budget: Deadline, now: float) -> float | None:
    from oci.monitoring.models import SummarizeMetricsDataDetails

    details = SummarizeMetricsDataDetails(
        namespace=AGENT_NAMESPACE,
        query=f'{AGENT_METRIC}[1m]{{node = "{node}"}}.count()',
        start_time=dt.datetime.fromtimestamp(now - METRICS_WINDOW_SECONDS, dt.UTC),
        end_time=dt.datetime.fromtimestamp(now + 60, dt.UTC),
    )
    response = bounded_call(
        readers.monitoring,
        "SummarizeMetricsData",
        budget,
        readers.monitoring.summarize_metrics_data,
        compartment,
        details,
    )
    stamps = [p.timestamp.timestamp() for d in response.data for p in d.aggregated_datapoints if p.value]
    return max(stamps, default=None)


def _alarm(readers: Readers, alarm_id: str, budget: Deadline) -> tuple[AlarmFacts, str | None]:
    """The alarm's facts and the compartment its metrics are in."""
    try:
        alarm = bounded_call(readers.monitoring, "GetAlarm", budget, readers.monitoring.get_alarm, alarm_id).data
    except ApiError as exc:
        return AlarmFacts(alarm_id=alarm_id, error=str(exc)), None
    topics = [d for d in (alarm.destinations or []) if d.startswith("ocid1.onstopic.")]
    subscriptions: list[SubscriptionFacts] = []
    error = None
    for topic in topics:
        try:
            listed = bounded_call(
                readers.ons,
                "ListSubscriptions",
                budget,
                readers.ons.list_subscriptions,
                alarm.compartment_id,
                topic_id=topic,
            ).data
        except ApiError as exc:
            error = str(exc)
            break
        subscriptions += [SubscriptionFacts(s.topic_id, s.protocol, s.endpoint, s.lifecycle_state) for s in listed]
    facts = AlarmFacts(
        alarm_id=alarm_id,
        display_name=alarm.display_name or "",
        lifecycle_state=alarm.lifecycle_state or "",
        is_enabled=bool(alarm.is_enabled),
        namespace=alarm.namespace or "",
        destinations=tuple(alarm.destinations or ()),
        subscriptions=tuple(subscriptions),
        subscriptions_error=error,
    )
    return facts, alarm.metric_compartment_id
