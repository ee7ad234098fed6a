"""Acting on one VIP group: decide once, write every VIP that is not on the target with if-match
(one move id for all of them), read each back with GetPrivateIp (a move's own response is not
the final object), and decide again when a write loses an etag race.

A 412 means another invocation moved the IP between our read and our write: look again and
decide again. A group read from memory (``VipState.remembered``: the node agent's direct fast
path keeps its last read) is written on that read, its etag guarding it, but any other decision
is taken again on a fresh read. No write starts with less than ``MIN_WRITE_SECONDS`` left, so
the function never writes after it can no longer answer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from . import answer, log
from .config import Config, Node
from .decide import Action, Decision, View, decide
from .events import AlarmEvent, Event
from .network import ApiError, Deadline, EtagMismatch, Network, VipState
from .observe import Observation, group_view, node_name, observe
from .runtime import Runtime
from .tags import LastMove, read_last_move, with_move

# Two concurrent writers settle in one round; three rounds bound pathological cases.
MAX_ROUNDS = 3
# A write needs a round trip and its read-back another: with less left, nothing is written.
MIN_WRITE_SECONDS = 1.0
# Probe results older than this (OCI reads were slow) are re-verified before a write: a node
# that died while we waited must not receive the VIP.
OBSERVATION_MAX_AGE_SECONDS = 2.0


def settle_group(
    event: Event,
    states: list[VipState],
    observation: Observation,
    rt: Runtime,
    dry_run: bool,
    budget: Deadline,
    public_ips: tuple[str, ...] | None,
) -> tuple[list[dict[str, Any]], Observation]:
    """Decide once for the group and act; re-read and decide again when a write loses an etag race."""
    config = rt.config
    done: dict[str, dict[str, Any]] = {}
    reverified = False
    rounds = 0
    while rounds < MAX_ROUNDS:
        view = group_view(states, observation.health_for(states), rt, public_ips, observation.keepalived)
        decision = decide(event, view, config)
        answer.log_decision(event, states, view, decision, dry_run)
        fresh = _fresh(states, rt, budget) if _unguarded(states, decision, dry_run, config) else None
        if fresh is not None:
            states = fresh
            continue
        if decision.action is not Action.MOVE or dry_run:
            outcome = "would_move" if decision.action is Action.MOVE else None
            return _merge(done, [_result_for(s, view, decision, outcome, config) for s in states]), observation
        if not reverified and _stale(decision, observation):
            # The reads took long: what the probes saw may no longer hold. Look again, then decide again.
            observation, reverified = _reverify(rt, budget, observation), True
            continue
        late = _too_late(decision, budget)
        if late is not None:
            return _merge(done, [_result_for(s, view, late, "failed", config) for s in states]), observation
        rounds += 1
        target = config.node(decision.target or "")
        assert target is not None
        written = _write_group(event, states, view, decision, target, rt, budget)
        done.update(written.results)
        if not written.raced:
            return _merge(done, [_result_for(s, view, decision, "no_change", config) for s in states]), observation
        states = written.states
    gave_up = Decision(
        Action.REFUSE,
        None,
        f"lost {MAX_ROUNDS} etag races in a row (another writer keeps changing "
        "this VIP): nothing more was done; the next event decides again",
    )
    log.error("gave_up", reason=gave_up.reason)
    view = group_view(states, observation.health_for(states), rt)
    return _merge(done, [_result_for(s, view, gave_up, "failed", config) for s in states]), observation


def _unguarded(states: list[VipState], decision: Decision, dry_run: bool, config: Config) -> bool:
    """Whether the decision would rest on a remembered read no write checks: nothing written at
    all, or a VIP left alone because it seemed to be on the target already (pure)."""
    if decision.action is not Action.MOVE or dry_run:
        return any(s.remembered for s in states)
    target = config.node(decision.target or "")
    return any(s.remembered and target is not None and s.vnic_id == target.vnic_id for s in states)


def _fresh(states: list[VipState], rt: Runtime, budget: Deadline) -> list[VipState] | None:
    """The group read again; None when a read fails (then the decision made on the remembered
    read stands: it writes nothing)."""
    try:
        return [rt.network.read(state.private_ip_id, budget) for state in states]
    except ApiError as exc:
        log.error(
            "cannot_verify",
            **exc.log_fields(),
            reason="could not read the VIP again to confirm a decision made on a remembered read",
        )
        return None


def _stale(decision: Decision, observation: Observation) -> bool:
    """Whether the probes are too old to move on (a forced move does not wait for them)."""
    return not decision.forced and time.monotonic() - observation.at > OBSERVATION_MAX_AGE_SECONDS


def _reverify(rt: Runtime, budget: Deadline, stale: Observation) -> Observation:
    age = time.monotonic() - stale.at
    observation = observe(rt, budget)
    log.info(
        "reverified",
        age_s=round(age, 2),
        health={k: v.value for k, v in observation.health.items()},
        reason=f"probe results were {age:.1f}s old (limit {OBSERVATION_MAX_AGE_SECONDS:g}s) before a write",
    )
    return observation


def _too_late(decision: Decision, budget: Deadline) -> Decision | None:
    """The refusal when too little time is left to write and read back; None while there is."""
    if budget.remaining() >= MIN_WRITE_SECONDS:
        return None
    late = Decision(
        Action.REFUSE,
        decision.target,
        f"{decision.reason}; but only {budget.remaining():.1f}s "
        "were left before the deadline, too little to write and read back: nothing written",
    )
    log.error("no_time_to_write", reason=late.reason)
    return late


def _result_for(state: VipState, view: View, decision: Decision, outcome: str | None, config: Config) -> dict[str, Any]:
    return answer.result(state, node_name(config, state.vnic_id), view, decision, outcome)


def _merge(done: dict[str, dict[str, Any]], rest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results of VIPs written in any round win over what a later round said about them."""
    return [done.get(r["private_ip_id"], r) for r in rest]


@dataclass
class _Written:
    results: dict[str, dict[str, Any]]
    raced: bool
    states: list[VipState]


def _write_group(
    event: Event, states: list[VipState], view: View, decision: Decision, target: Node, rt: Runtime, budget: Deadline
) -> _Written:
    """Write every VIP of the group that is not on ``target`` (one move id for all of them)."""
    config = rt.config
    move = LastMove(
        at=view.now,
        from_node=view.holder,
        to_node=target.name,
        reason=decision.reason,
        event_key=event.key if isinstance(event, AlarmEvent) else None,
        move_id=uuid.uuid4().hex[:16],
    )
    results: dict[str, dict[str, Any]] = {}
    raced = False
    fresh: list[VipState] = []
    for state in states:
        if state.vnic_id == target.vnic_id:
            fresh.append(state)
            continue
        on = node_name(config, state.vnic_id)
        try:
            request_id = rt.network.move(state, target.vnic_id, with_move(state.freeform_tags, move), budget)
        except EtagMismatch:
            log.info(
                "etag_mismatch",
                vip=state.private_ip_id,
                reason="the private IP changed since it was read; reading again",
            )
            try:
                again = rt.network.read(state.private_ip_id, budget)
            except ApiError as exc:
                results[state.private_ip_id] = answer.result(
                    state, on, view, decision, "failed", error=f"lost an etag race, then could not re-read: {exc}"
                )
                fresh.append(state)
                continue
            fresh.append(again)
            mine = read_last_move(again.freeform_tags, None).last
            if mine is not None and mine.move_id == move.move_id and again.vnic_id == target.vnic_id:
                results[state.private_ip_id] = answer.result(
                    state, on, view, decision, "moved"
                )  # a retry of ours had landed
            else:
                raced = True
            continue
        except ApiError as exc:
            log.error(
                "write_failed",
                vip=state.private_ip_id,
                **exc.log_fields(),
            )
            results[state.private_ip_id] = answer.result(
                state, on, view, decision, "failed", error=str(exc), request_id=exc.opc_request_id
            )
            fresh.append(state)
            continue
        results[state.private_ip_id], now = _verify(state, on, view, decision, target, request_id, rt.network, budget)
        fresh.append(now)
    return _Written(results, raced, fresh)


def _verify(
    state: VipState,
    on: str | None,
    view: View,
    decision: Decision,
    target: Node,
    request_id: str | None,
    network: Network,
    budget: Deadline,
) -> tuple[dict[str, Any], VipState]:
    """Read back with GetPrivateIp: the move's own response body and etag are not the final object.
    Returns the VIP's result and the state to decide on next (what the read-back found)."""
    try:
        after = network.read(state.private_ip_id, budget)
    except ApiError as exc:
        return answer.result(
            state,
            on,
            view,
            decision,
            "unverified",
            error=f"moved but could not read back: {exc}",
            request_id=request_id,
        ), state
    if after.vnic_id != target.vnic_id:
        log.error("verify_failed", vip=state.private_ip_id, expected=target.vnic_id, found=after.vnic_id)
        return answer.result(
            state,
            on,
            view,
            decision,
            "failed",
            error=f"read back found the VIP on {after.vnic_id}, not {target.name}",
            request_id=request_id,
        ), after
    log.info(
        "moved",
        vip=state.private_ip_id,
        ip_address=state.ip_address,
        **{"from": on, "to": target.name},
        opc_request_id=request_id,
    )
    return answer.result(state, on, view, decision, "moved", request_id=request_id), after
