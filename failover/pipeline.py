"""One event through the pipeline: read the VIPs while the nodes are probed, decide and act per
VIP group (failover/moves.py), then answer and announce what happened.

The VIPs of a group (config.vip_groups) are decided once and moved to one node; a VIP that
could not be read is reported as such and left for the next event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import answer, log, report
from .announce import event_for
from .events import AlarmEvent, Command, Event, covered_groups
from .moves import settle_group
from .network import ApiError, Deadline, VipState
from .observe import Observation, Probing, attached_public_ips
from .runtime import Runtime


def run(event: Event, rt: Runtime, budget: Deadline, dry_run: bool, started: float) -> dict[str, Any]:
    probing = Probing(rt, budget)
    groups = covered_groups(event, rt.config.vip_groups)
    states, errors = _read_vips(rt, groups, budget)
    observation = probing.join()
    unusable = _unusable(states, errors, started, dry_run)
    if unusable is not None:
        return unusable
    results, observation = _act(event, rt, groups, states, errors, observation, dry_run, budget)
    report.add_public_ips(rt.network, results, budget)
    extra = report.status_extra(states, rt) if isinstance(event, Command) and event.action == "status" else None
    body = answer.answer(event, results, observation.probes, dry_run, started, extra)
    _announce(rt, body, budget)
    return body


def _read_vips(
    rt: Runtime, groups: Sequence[Sequence[str]], budget: Deadline
) -> tuple[dict[str, VipState], dict[str, ApiError]]:
    """Every VIP of the groups the event covers (a keepalived instance's notice: only its own)."""
    states: dict[str, VipState] = {}
    errors: dict[str, ApiError] = {}
    for vip in (v for group in groups for v in group):
        try:
            states[vip] = rt.network.recall(vip, budget)
        except ApiError as exc:
            log.error(
                "cannot_verify",
                vip=vip,
                **exc.log_fields(),
            )
            errors[vip] = exc
    return states, errors


def _unusable(
    states: dict[str, VipState], errors: dict[str, ApiError], started: float, dry_run: bool
) -> dict[str, Any] | None:
    """The answer when nothing can be decided: no VIP could be read, or one is a primary IP."""
    if not states:
        first = next(iter(errors.values()))
        reason = f"could not read the VIP ({first}): nothing moved"
        if first.status == 404:
            reason = f"private IP not found or not authorized ({first.code}); check VIP_PRIVATE_IP_IDS: nothing moved"
        return answer.failure("cannot_verify", reason, started, dry_run=dry_run)
    primary = [s.private_ip_id for s in states.values() if s.is_primary]
    if primary:
        return answer.failure(
            "config_error", f"VIP_PRIVATE_IP_IDS: {primary[0]} is a VNIC's primary private IP and cannot move", started
        )
    return None


def _act(
    event: Event,
    rt: Runtime,
    groups: Sequence[Sequence[str]],
    states: dict[str, VipState],
    errors: dict[str, ApiError],
    observation: Observation,
    dry_run: bool,
    budget: Deadline,
) -> tuple[list[dict[str, Any]], Observation]:
    """Every group decided and acted on; the observation the last decision was made on."""
    results: list[dict[str, Any]] = []
    for group in groups:
        readable = [states[v] for v in group if v in states]
        lost = [
            answer.unreadable(v, f"could not read this VIP ({errors[v]}): not moved; the next event retries it")
            for v in group
            if v in errors
        ]
        if readable:
            outside_in = isinstance(event, AlarmEvent) and event.is_outside_in(rt.config.alarm_ids)
            public_ips = attached_public_ips(rt.network, readable, budget) if outside_in else None
            group_results, observation = settle_group(event, readable, observation, rt, dry_run, budget, public_ips)
            results += group_results
        results += lost
    return results, observation


def _announce(rt: Runtime, body: dict[str, Any], budget: Deadline) -> None:
    """The failover event, after every write: it cannot delay one, and it is best effort."""
    if rt.announcer is None:
        return
    announced = event_for(body, rt.clock())
    if announced is None:
        return
    try:
        rt.announcer.post(announced, budget.remaining())
    except Exception as exc:  # an event is best effort: never the reason an answer fails
        log.warning("event_not_sent", kind=announced.kind, reason=f"{type(exc).__name__}: {exc}"[:200])
