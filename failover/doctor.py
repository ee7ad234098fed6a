"""The doctor: will the floating IP fail over when it must? Every link of the chain, checked
without moving anything, as data.

Pure: ``checks`` turns the facts an adapter gathered (failover.survey: OCI reads, probes, the
agents' metrics) into one ``Check`` per link, in the order the chain runs, so the first one
that fails names the broken link. The links:

configuration → each VIP (exists and readable, secondary, on a configured node's VNIC, every
node's VNIC in its subnet, its reserved public IP attached, its last-move and pause tags sane,
not paused) → the credentials' right to move → each node (its health endpoint answers and names
itself, keepalived's alias where the VIP is and nowhere else, its agent's metrics fresh) → each
alarm (exists, enabled, queries the agents' namespace, delivers to a topic with an ACTIVE
subscription to a function).

A link the doctor cannot verify is ``unverified``, never ``ok``: OCI has no dry-run
UpdatePrivateIp, and reading the policies that allow it needs rights an operator rarely has, so
"may move" is reported as unverified with what was checked instead. An unverified link does not
fail the doctor (it would then fail on every healthy deployment), but it is listed apart, and
the table marks it ``??``, so nobody mistakes it for a verified one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .config import Config, vip_family
from .decide import Health
from .probe import ProbeResult
from .tags import read_last_move, read_pause

# The namespace the node agents post to (health_probe/metrics.json, tested to agree).
AGENT_NAMESPACE = "vip_failover"
AGENT_METRIC = "target_up"
# The agents post every few seconds and the alarms look at one minute: older is silence.
METRICS_MAX_AGE_SECONDS = 180.0


class State(StrEnum):
    OK = "ok"
    BROKEN = "broken"
    UNVERIFIED = "unverified"


@dataclass(frozen=True)
class Check:
    name: str
    state: State
    detail: str

    @property
    def ok(self) -> bool:
        return self.state is not State.BROKEN


@dataclass(frozen=True)
class VipFacts:
    private_ip_id: str
    error: str | None = None  # could not read it (the detail of the API error)
    ip_address: str = ""
    vnic_id: str = ""
    subnet_id: str = ""
    is_primary: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    public_ip: str | None = None
    public_ip_error: str | None = None


@dataclass(frozen=True)
class NodeFacts:
    name: str
    probe: ProbeResult
    subnet_id: str | None = None
    vnic_error: str | None = None
    metrics_at: float | None = None  # newest datapoint of the node's agent metric (epoch)
    metrics_error: str | None = None


@dataclass(frozen=True)
class SubscriptionFacts:
    topic_id: str
    protocol: str
    endpoint: str
    state: str


@dataclass(frozen=True)
class AlarmFacts:
    alarm_id: str
    error: str | None = None
    display_name: str = ""
    lifecycle_state: str = ""
    is_enabled: bool = False
    namespace: str = ""
    destinations: tuple[str, ...] = ()
    subscriptions: tuple[SubscriptionFacts, ...] = ()
    subscriptions_error: str | None = None


@dataclass(frozen=True)
class Facts:
    now: float
    vips: tuple[VipFacts, ...]
    nodes: tuple[NodeFacts, ...]
    alarms: tuple[AlarmFacts, ...]


def checks(config: Config, facts: Facts) -> tuple[Check, ...]:
    """Every link, in chain order."""
    out = [
        Check(
            "configuration",
            State.OK,
            f"{len(config.vip_ids)} VIP(s) in {len(config.vip_groups)} group(s), {len(config.nodes)} nodes",
        )
    ]
    holder: str | None = None
    for vip in facts.vips:
        vip_checks, on = _vip(config, facts, vip)
        out += vip_checks
        holder = holder or on
    out.append(_may_move(facts))
    for node in facts.nodes:
        out += _node(node, holder, facts)
    if not facts.alarms:
        out.append(
            Check("alarms", State.BROKEN, "ALARM_IDS names no alarm: nothing calls the function when a node dies")
        )
    for alarm in facts.alarms:
        out += _alarm(alarm)
    return tuple(out)


def config_failure(reason: str) -> tuple[Check, ...]:
    return (Check("configuration", State.BROKEN, reason),)


def _vip(config: Config, facts: Facts, vip: VipFacts) -> tuple[list[Check], str | None]:
    name = f"vip {vip.ip_address or vip.private_ip_id}"
    if vip.error:
        return [Check(f"{name}: readable", State.BROKEN, vip.error)], None
    ipv6 = vip_family(vip.private_ip_id) == "ipv6"
    out = [Check(f"{name}: readable", State.OK, f"{'GetIpv6' if ipv6 else 'GetPrivateIp'} {vip.private_ip_id}")]
    if vip.is_primary:
        out.append(Check(f"{name}: secondary", State.BROKEN, "a VNIC's primary private IP cannot move"))
    else:
        out.append(Check(f"{name}: secondary", State.OK, "a secondary private IP"))
    node = config.node_by_vnic(vip.vnic_id)
    if node is None:
        out.append(Check(f"{name}: on a node", State.BROKEN, f"on VNIC {vip.vnic_id}, which is no configured node"))
    else:
        out.append(Check(f"{name}: on a node", State.OK, f"on {node.name}"))
    wrong = [
        f"{n.name} ({n.vnic_error or n.subnet_id})" for n in facts.nodes if n.vnic_error or n.subnet_id != vip.subnet_id
    ]
    if wrong:
        out.append(
            Check(f"{name}: subnet", State.BROKEN, f"not in the VIP's subnet {vip.subnet_id}: {', '.join(wrong)}")
        )
    else:
        out.append(Check(f"{name}: subnet", State.OK, f"every node's VNIC is in {vip.subnet_id}"))
    if vip.public_ip:
        out.append(Check(f"{name}: public IP", State.OK, f"{vip.public_ip} attached"))
    elif not ipv6:  # IPv6 has no public-IP object: nothing to attach
        why = vip.public_ip_error or "no public IP is attached to this private IP"
        out.append(Check(f"{name}: public IP", State.BROKEN, why))
    out.append(_tags(name, vip, facts.now))
    return out, node.name if node else None


def _tags(name: str, vip: VipFacts, now: float) -> Check:
    last, pause = read_last_move(vip.tags, now), read_pause(vip.tags, now)
    problems = [p for p in (last.problem, pause.problem) if p]
    if problems:
        return Check(f"{name}: tags", State.BROKEN, f"ignored by the function: {'; '.join(problems)}")
    if pause.pause is not None:
        until = dt.datetime.fromtimestamp(pause.pause.until, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Check(
            f"{name}: tags",
            State.BROKEN,
            f"paused until {until} ({pause.pause.reason}): automatic moves are held; `resume` ends it",
        )
    if last.last is None:
        return Check(f"{name}: tags", State.OK, "no move recorded, no pause")
    age = now - last.last.at
    return Check(
        f"{name}: tags",
        State.OK,
        f"last move {last.last.from_node or '?'}->{last.last.to_node} {age:.0f}s ago; no pause",
    )


def _may_move(facts: Facts) -> Check:
    readable = [v for v in facts.vips if not v.error]
    if not readable:
        return Check("credentials: may move", State.BROKEN, "the credentials in use cannot even read the VIP")
    return Check(
        "credentials: may move",
        State.UNVERIFIED,
        "read verified (GetPrivateIp, GetVnic); UpdatePrivateIp has no dry run, and the policies that "
        "grant it were not read: see docs/iam.md for the statements it needs",
    )


def _node(node: NodeFacts, holder: str | None, facts: Facts) -> list[Check]:
    out = []
    name = f"node {node.name}"
    probe = node.probe
    if probe.health is Health.HEALTHY:
        out.append(Check(f"{name}: health endpoint", State.OK, f"serving ({probe.detail})"))
    else:
        out.append(Check(f"{name}: health endpoint", State.BROKEN, f"{probe.health.value}: {probe.detail}"))
    out.append(_keepalived(name, node, holder))
    if node.metrics_error:
        out.append(Check(f"{name}: metrics", State.BROKEN, f"could not read its agent's metrics: {node.metrics_error}"))
    elif node.metrics_at is None:
        out.append(Check(f"{name}: metrics", State.BROKEN, f"no {AGENT_METRIC} datapoint about it in 10 minutes"))
    elif facts.now - node.metrics_at > METRICS_MAX_AGE_SECONDS:
        age = facts.now - node.metrics_at
        out.append(Check(f"{name}: metrics", State.BROKEN, f"newest {AGENT_METRIC} is {age:.0f}s old: agents silent"))
    else:
        # Summaries are stamped by their one-minute window, which may end after ``now``.
        age = max(0.0, facts.now - node.metrics_at)
        when = "in the last minute" if age <= 60 else f"{age:.0f}s ago"
        out.append(Check(f"{name}: metrics", State.OK, f"its agent's {AGENT_METRIC} arrived {when}"))
    return out


def _keepalived(name: str, node: NodeFacts, holder: str | None) -> Check:
    """keepalived as the agent reports it: the alias on the VIP's holder, and on no other node."""
    report = node.probe.report
    aliases = report.get("vip_alias") if report else None
    if not isinstance(aliases, dict) or not aliases:
        return Check(f"{name}: keepalived", State.UNVERIFIED, "its health answer does not report the alias")
    held = sorted(ip for ip, on in aliases.items() if on is True)
    missing = sorted(ip for ip, on in aliases.items() if on is not True)
    if node.name == holder and missing:
        return Check(
            f"{name}: keepalived",
            State.BROKEN,
            f"holds the VIP in OCI but keepalived has no alias for {', '.join(missing)}",
        )
    if node.name != holder and held:
        return Check(
            f"{name}: keepalived",
            State.BROKEN,
            f"keepalived holds {', '.join(held)} here but OCI routes it to {holder or 'another VNIC'}",
        )
    return Check(f"{name}: keepalived", State.OK, "MASTER (alias held)" if held else "BACKUP (no alias)")


def _alarm(alarm: AlarmFacts) -> list[Check]:
    name = f"alarm {alarm.display_name or alarm.alarm_id}"
    if alarm.error:
        return [Check(name, State.BROKEN, alarm.error)]
    problems = []
    if alarm.lifecycle_state != "ACTIVE":
        problems.append(f"lifecycle {alarm.lifecycle_state}")
    if not alarm.is_enabled:
        problems.append("disabled")
    if alarm.namespace != AGENT_NAMESPACE:
        problems.append(f"queries namespace {alarm.namespace!r}, the agents post to {AGENT_NAMESPACE!r}")
    out = [Check(name, State.BROKEN, "; ".join(problems)) if problems else Check(name, State.OK, "enabled, ACTIVE")]
    out.append(_delivery(name, alarm))
    return out


def _delivery(name: str, alarm: AlarmFacts) -> Check:
    if alarm.subscriptions_error:
        return Check(f"{name}: delivery", State.BROKEN, f"could not list subscriptions: {alarm.subscriptions_error}")
    topics = [d for d in alarm.destinations if d.startswith("ocid1.onstopic.")]
    if not topics:
        return Check(f"{name}: delivery", State.BROKEN, "delivers to no Notifications topic")
    live = [
        s
        for s in alarm.subscriptions
        if s.topic_id in topics and s.protocol == "ORACLE_FUNCTIONS" and s.state == "ACTIVE"
    ]
    if not live:
        seen = ", ".join(f"{s.protocol} {s.state}" for s in alarm.subscriptions if s.topic_id in topics) or "none"
        return Check(
            f"{name}: delivery",
            State.BROKEN,
            f"no ACTIVE subscription of a function to its topic (subscriptions: {seen})",
        )
    return Check(f"{name}: delivery", State.OK, f"topic -> function {live[0].endpoint} (ACTIVE)")


def report(found: Sequence[Check]) -> dict[str, Any]:
    """The JSON object of ``doctor --json`` and of {"action": "doctor"}."""
    broken = next((c for c in found if c.state is State.BROKEN), None)
    return {
        "ok": broken is None,
        "broken": broken.name if broken else None,
        "unverified": [c.name for c in found if c.state is State.UNVERIFIED],
        "checks": [{"name": c.name, "ok": c.ok, "state": c.state.value, "detail": c.detail} for c in found],
    }


_MARK = {State.OK.value: "ok", State.BROKEN.value: "FAIL", State.UNVERIFIED.value: "??"}


def table(summary: Mapping[str, Any]) -> str:
    """For people: one line per link (of a ``report``), the verdict last."""
    found = summary["checks"]
    width = max((len(c["name"]) for c in found), default=0)
    lines = [f"{_MARK[c['state']]:<4}  {c['name']:<{width}}  {c['detail']}" for c in found]
    if summary["ok"]:
        unverified = len(summary["unverified"])
        lines.append("chain holds" + (f" ({unverified} link(s) could not be verified: ??)" if unverified else ""))
    else:
        lines.append(f"BROKEN: {summary['broken']}")
    return "\n".join(lines)
