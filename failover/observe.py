"""Looking before deciding: the nodes' health (probed while the VIPs are read) and a VIP group's
view (holder, last move, pause) from the tags on its private IPs."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import log
from .config import Config
from .decide import Health, View
from .network import ApiError, Deadline, Network, VipState
from .probe import ABORT_GRACE_SECONDS, ProbeResult, health_for, keepalived_of
from .runtime import Runtime
from .tags import Pause, read_last_move, read_pause


@dataclass(frozen=True)
class Observation:
    """Probe results and when they were in (monotonic)."""

    probes: Mapping[str, ProbeResult]
    at: float

    @property
    def health(self) -> dict[str, Health]:
        return {name: result.health for name, result in self.probes.items()}

    def health_for(self, states: Sequence[VipState]) -> dict[str, Health]:
        """Each node's health for this VIP group's address families (probe.health_for)."""
        families = {s.family for s in states}
        return {name: health_for(result, families) for name, result in self.probes.items()}

    @property
    def keepalived(self) -> dict[str, bool]:
        """Whether each node's keepalived runs, for the nodes whose agent said (probe.keepalived_of)."""
        said = {name: keepalived_of(result) for name, result in self.probes.items()}
        return {name: running for name, running in said.items() if running is not None}


def observe(rt: Runtime, budget: Deadline) -> Observation:
    """Probe every node, cut to what the budget leaves."""
    config = rt.config
    timeout = max(0.05, min(config.probe_timeout_seconds, budget.remaining() - ABORT_GRACE_SECONDS))
    probes = rt.prober(config.nodes, timeout, min(config.probe_connect_timeout_seconds, timeout))
    return Observation(probes, time.monotonic())


class Probing:
    """The probes in their own thread while the VIPs are read: the invocation waits for the
    slower of the two, not their sum. Always joined before answering (bounded by the probe's
    own deadline), so no probe outlives the invocation."""

    def __init__(self, rt: Runtime, budget: Deadline) -> None:
        self._result: list[Observation] = []
        self._thread = threading.Thread(
            target=lambda: self._result.append(observe(rt, budget)), name="probes", daemon=True
        )
        self._thread.start()

    def join(self) -> Observation:
        self._thread.join()
        return self._result[0] if self._result else Observation({}, time.monotonic())


def group_view(
    states: list[VipState],
    health: Mapping[str, Health],
    rt: Runtime,
    public_ips: tuple[str, ...] | None = None,
    keepalived: Mapping[str, bool] | None = None,
) -> View:
    """The group's holder is where its newest recorded move put it (after a partial move: the
    node the rest must join), else where its first VIP is; its cooldown is that move's."""
    now = rt.clock()
    config = rt.config
    reads = []
    for state in states:
        read = read_last_move(state.freeform_tags, now)
        if read.problem:
            log.warning("last_move_tag_ignored", vip=state.private_ip_id, reason=read.problem)
        reads.append((state, read.last))
    recorded = [(s, last) for s, last in reads if last is not None]
    anchor, newest = max(recorded, key=lambda pair: pair[1].at) if recorded else (states[0], None)
    holder = node_name(config, anchor.vnic_id)
    split = frozenset(node_name(config, s.vnic_id) for s in states if s.vnic_id != anchor.vnic_id)
    return View(
        holder=holder,
        health=health,
        last_move=newest,
        now=now,
        split=split,
        paused=group_pause(states, now),
        public_ips=public_ips,
        carries_public_ip=any(s.family == "ipv4" for s in states),
        keepalived=keepalived or {},
    )


def group_pause(states: Sequence[VipState], now: float) -> Pause | None:
    """The group's pause: one paused VIP holds the group (the pause that lasts longest wins),
    so a pause half-written by an interrupted ``pause`` command still holds."""
    pauses = []
    for state in states:
        read = read_pause(state.freeform_tags, now)
        if read.problem:
            log.warning("pause_tag_ignored", vip=state.private_ip_id, reason=read.problem)
        if read.pause is not None:
            pauses.append(read.pause)
    return max(pauses, key=lambda p: p.until, default=None)


def node_name(config: Config, vnic_id: str) -> str | None:
    node = config.node_by_vnic(vnic_id)
    return node.name if node else None


def attached_public_ips(network: Network, states: list[VipState], budget: Deadline) -> tuple[str, ...] | None:
    """The public IPs riding on the group's VIPs (the outside-in alarm asks whether the reserved
    public IP is still attached); None when that could not be read."""
    try:
        found = [network.public_ip(s.private_ip_id, budget) for s in states]
    except ApiError as exc:
        log.warning("public_ip_unknown", vip=[s.private_ip_id for s in states], code=exc.code, status=exc.status)
        return None
    return tuple(ip for ip in found if ip)
