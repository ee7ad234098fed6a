"""The imperative shell: parse → observe → decide → act → verify → answer.

Every outcome, including bad input, API trouble and bugs, comes back as a JSON-able answer,
never an exception: fdk turns an exception into a plain-text 502 and Notifications would retry
it for two hours. Time is bounded end to end: the OCI budget is ``RETRY_DEADLINE_SECONDS`` cut
to what fdk's deadline leaves minus ``ANSWER_MARGIN_SECONDS``, probes are cut to it too, and
no write starts with less than ``MIN_WRITE_SECONDS`` left, so the function always answers
before its own timeout and never writes after it can no longer answer.

The VIPs of a group (config.vip_groups) are decided once and moved to one node, each written
with if-match and read back with GetPrivateIp (a move's own response is not the final object).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import answer, log
from .announce import Announcer, build_announcer, event_for
from .config import ENV_KEYS, Config, ConfigError, Node
from .decide import Action, Decision, Health, View, cooldown_left, decide, permitted
from .events import AlarmEvent, Command, Event, EventError, covered_groups, parse_event, unknown_nodes
from .network import CREDENTIAL_KEYS, ApiError, Deadline, EtagMismatch, Network, VipState, build_network
from .probe import ABORT_GRACE_SECONDS, ProbeResult, health_for, probe_nodes
from .tags import LastMove, Pause, read_last_move, read_pause, with_move

# A 412 means another invocation moved the IP between our read and our write: look again and
# decide again. Two concurrent writers settle in one round; three rounds bound pathological cases.
MAX_ROUNDS = 3
# Kept back from fdk's deadline for shaping and sending the answer.
ANSWER_MARGIN_SECONDS = 1.0
# A write needs a round trip and its read-back another: with less left, nothing is written.
MIN_WRITE_SECONDS = 1.0
# Probe results older than this (OCI reads were slow) are re-verified before a write: a node
# that died while we waited must not receive the VIP.
OBSERVATION_MAX_AGE_SECONDS = 2.0
# fdk's own default when no deadline reaches it.
DEFAULT_FN_SECONDS = 30.0

# (nodes, whole-probe timeout, connect timeout) -> result per node name.
Prober = Callable[[Sequence[Node], float, float], Mapping[str, ProbeResult]]


@dataclass
class Runtime:
    """What one container keeps between invocations: validated config and built clients."""

    config: Config
    network: Network
    prober: Prober = probe_nodes
    clock: Callable[[], float] = time.time
    announcer: Announcer | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # what the clients were built from (the doctor's too)


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


_cache: dict[tuple, Runtime] = {}


def runtime_for(env: Mapping[str, str]) -> Runtime:
    """The container's runtime, built on first use (clients are built once, not per call)."""
    key = tuple(env.get(k) for k in ENV_KEYS + CREDENTIAL_KEYS)
    if key not in _cache:
        config = Config.from_env(env)
        endpoint = config.service_endpoint
        _cache[key] = Runtime(
            config=config,
            network=build_network(env, endpoint),
            announcer=build_announcer(env, config.events_topic_id, config.compartment_id, endpoint),
            env=dict(env),
        )
    return _cache[key]


def seconds_until(deadline: str | None, now: float) -> float:
    """Seconds from ``now`` (epoch) to fdk's ISO-8601 deadline (fdk's default when absent or garbled)."""
    if not deadline:
        return DEFAULT_FN_SECONDS
    try:
        at = dt.datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        log.warning("deadline_unreadable", deadline=deadline[:64], assumed_s=DEFAULT_FN_SECONDS)
        return DEFAULT_FN_SECONDS
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.timestamp() - now


def invoke(
    body: bytes | None, env: Mapping[str, str], call_id: str | None = None, deadline: str | None = None
) -> dict[str, Any]:
    """Entry point for func.py (``deadline``: fdk's ``ctx.Deadline()``) and the CLI: always an answer."""
    started = time.monotonic()
    time_left = seconds_until(deadline, time.time()) if deadline is not None else None
    token = log.bind(call_id=call_id) if call_id else None
    try:
        try:
            runtime = runtime_for(env)
        except ConfigError as exc:
            log.error("config_error", key=exc.key, reason=str(exc))
            return answer.failure("config_error", f"function configuration: {exc}", started)
        except Exception as exc:  # e.g. missing or unreadable OCI credentials
            log.error("setup_error", reason=f"{type(exc).__name__}: {exc}")
            return answer.failure("setup_error", f"could not build OCI clients: {type(exc).__name__}: {exc}", started)
        return handle(body, runtime, started, time_left)
    except Exception as exc:  # a bug: answer it rather than crash the container's request
        log.error("internal_error", reason=f"{type(exc).__name__}: {exc}")
        return answer.failure(
            "internal_error", f"internal error ({type(exc).__name__}); nothing was moved after it", started
        )
    finally:
        if token is not None:
            log.unbind(token)


def _parse(body: bytes | None, config: Config) -> Event:
    event = parse_event(body)
    unknown = unknown_nodes(event, (n.name for n in config.nodes))
    if unknown:
        raise EventError(f"unknown node {unknown[0]!r}; configured nodes: {', '.join(n.name for n in config.nodes)}")
    covered_groups(event, config.vip_groups)
    return event


def handle(
    body: bytes | None, rt: Runtime, started: float | None = None, time_left: float | None = None
) -> dict[str, Any]:
    """``time_left``: seconds until fdk's deadline when it was read (None: no function deadline)."""
    started = time.monotonic() if started is None else started
    config = rt.config
    try:
        event = _parse(body, config)
    except EventError as exc:
        log.warning("bad_request", reason=str(exc))
        return answer.failure("bad_request", str(exc), started)
    refusal = permitted(event, config.role)
    if refusal:
        log.warning("not_permitted", role=config.role, reason=refusal)
        return answer.failure("not_permitted", refusal, started, decision="refused")
    dry_run = config.dry_run or (isinstance(event, Command) and event.dry_run)
    budget_s = config.retry_deadline_seconds
    if time_left is not None:
        budget_s = min(budget_s, time_left - ANSWER_MARGIN_SECONDS - (time.monotonic() - started))
    if budget_s <= 0:
        log.error("deadline", reason="no time left before the function's deadline")
        return answer.failure(
            "deadline",
            "no time left before the function's deadline: nothing read, nothing moved",
            started,
            dry_run=dry_run,
        )
    budget = Deadline(budget_s)
    if isinstance(event, Command) and event.action == "doctor":
        return _doctor(rt, budget, started)
    return _run(event, rt, budget, dry_run, started)


def _doctor(rt: Runtime, budget: Deadline, started: float) -> dict[str, Any]:
    """The doctor's report as the answer (``action`` doctor): it reads, it never moves."""
    from .survey import Readers, examine

    try:
        readers = Readers(rt.env, rt.config.service_endpoint)
    except Exception as exc:
        return answer.failure("setup_error", f"could not build the doctor's clients: {type(exc).__name__}", started)
    report = examine(rt.config, rt.network, readers, rt.prober, budget, rt.clock())
    return {"action": "doctor", "decision": "report", **report, "elapsed_ms": answer.elapsed(started)}


def _observe(rt: Runtime, budget: Deadline) -> Observation:
    config = rt.config
    timeout = max(0.05, min(config.probe_timeout_seconds, budget.remaining() - ABORT_GRACE_SECONDS))
    probes = rt.prober(config.nodes, timeout, min(config.probe_connect_timeout_seconds, timeout))
    return Observation(probes, time.monotonic())


class _Probing:
    """The probes in their own thread while the VIPs are read: the invocation waits for the
    slower of the two, not their sum. Always joined before answering (bounded by the probe's
    own deadline), so no probe outlives the invocation."""

    def __init__(self, rt: Runtime, budget: Deadline) -> None:
        self._result: list[Observation] = []
        self._thread = threading.Thread(
            target=lambda: self._result.append(_observe(rt, budget)), name="probes", daemon=True
        )
        self._thread.start()

    def join(self) -> Observation:
        self._thread.join()
        return self._result[0] if self._result else Observation({}, time.monotonic())


def _run(event: Event, rt: Runtime, budget: Deadline, dry_run: bool, started: float) -> dict[str, Any]:
    config = rt.config
    probing = _Probing(rt, budget)
    states: dict[str, VipState] = {}
    errors: dict[str, ApiError] = {}
    groups = covered_groups(event, config.vip_groups)
    for vip in (v for group in groups for v in group):
        try:
            states[vip] = rt.network.read(vip, budget)
        except ApiError as exc:
            log.error(
                "cannot_verify",
                vip=vip,
                operation=exc.operation,
                status=exc.status,
                code=exc.code,
                opc_request_id=exc.opc_request_id,
            )
            errors[vip] = exc
    observation = probing.join()
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
    results: list[dict[str, Any]] = []
    for group in groups:
        readable = [states[v] for v in group if v in states]
        lost = [
            answer.unreadable(v, f"could not read this VIP ({errors[v]}): not moved; the next event retries it")
            for v in group
            if v in errors
        ]
        if readable:
            public_ips = _attached(rt.network, readable, budget) if _outside_in(event, config) else None
            group_results, observation = _group(event, readable, observation, rt, dry_run, budget, public_ips)
            results += group_results
        results += lost
    for r in results:
        r["public_ip"] = _public_ip(rt.network, r["private_ip_id"], budget) if r["ip_address"] else None
    extra = _status_extra(event, states, rt) if isinstance(event, Command) and event.action == "status" else None
    body = answer.answer(event, results, observation.probes, dry_run, started, extra)
    announced = event_for(body, rt.clock()) if rt.announcer is not None else None
    if rt.announcer is not None and announced is not None:
        try:
            rt.announcer.post(announced, budget.remaining())  # after every write: it cannot delay one
        except Exception as exc:  # an event is best effort: never the reason an answer fails
            log.warning("event_not_sent", kind=announced.kind, reason=f"{type(exc).__name__}: {exc}"[:200])
    return body


def _outside_in(event: Event, config: Config) -> bool:
    return isinstance(event, AlarmEvent) and event.is_outside_in(config.alarm_ids)


def _attached(network: Network, states: list[VipState], budget: Deadline) -> tuple[str, ...] | None:
    """The public IPs riding on the group's VIPs (the outside-in alarm asks whether the reserved
    public IP is still attached); None when that could not be read."""
    try:
        found = [network.public_ip(s.private_ip_id, budget) for s in states]
    except ApiError as exc:
        log.warning("public_ip_unknown", vip=[s.private_ip_id for s in states], code=exc.code, status=exc.status)
        return None
    return tuple(ip for ip in found if ip)


def _group_view(
    states: list[VipState], health: Mapping[str, Health], rt: Runtime, public_ips: tuple[str, ...] | None = None
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
    holder = _node_name(config, anchor.vnic_id)
    split = frozenset(_node_name(config, s.vnic_id) for s in states if s.vnic_id != anchor.vnic_id)
    return View(holder=holder, health=health, last_move=newest, now=now, split=split, paused=group_pause(states, now),
                public_ips=public_ips, carries_public_ip=any(s.family == "ipv4" for s in states))


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


def _node_name(config: Config, vnic_id: str) -> str | None:
    node = config.node_by_vnic(vnic_id)
    return node.name if node else None


def _group(
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
        view = _group_view(states, observation.health_for(states), rt, public_ips)
        decision = decide(event, view, config)
        answer.log_decision(event, states, view, decision, dry_run)
        if decision.action is not Action.MOVE or dry_run:
            outcome = "would_move" if decision.action is Action.MOVE else None
            return _merge(done, [_result_for(s, view, decision, outcome, config) for s in states]), observation
        if not decision.forced and not reverified and time.monotonic() - observation.at > OBSERVATION_MAX_AGE_SECONDS:
            # The reads took long: what the probes saw may no longer hold. Look again, then decide again.
            age = time.monotonic() - observation.at
            observation, reverified = _observe(rt, budget), True
            log.info(
                "reverified",
                age_s=round(age, 2),
                health={k: v.value for k, v in observation.health.items()},
                reason=f"probe results were {age:.1f}s old (limit {OBSERVATION_MAX_AGE_SECONDS:g}s) before a write",
            )
            continue
        if budget.remaining() < MIN_WRITE_SECONDS:
            late = Decision(
                Action.REFUSE,
                decision.target,
                f"{decision.reason}; but only {budget.remaining():.1f}s "
                "were left before the deadline, too little to write and read back: nothing written",
            )
            log.error("no_time_to_write", reason=late.reason)
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
    view = _group_view(states, observation.health_for(states), rt)
    return _merge(done, [_result_for(s, view, gave_up, "failed", config) for s in states]), observation


def _result_for(state: VipState, view: View, decision: Decision, outcome: str | None, config: Config) -> dict[str, Any]:
    return answer.result(state, _node_name(config, state.vnic_id), view, decision, outcome)


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
        on = _node_name(config, state.vnic_id)
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
                operation=exc.operation,
                status=exc.status,
                code=exc.code,
                opc_request_id=exc.opc_request_id,
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


def _public_ip(network: Network, private_ip_id: str, budget: Deadline) -> str | None:
    try:
        return network.public_ip(private_ip_id, budget)
    except ApiError as exc:
        log.warning("public_ip_unknown", vip=private_ip_id, code=exc.code, status=exc.status)
        return None


def _status_extra(event: Event, states: Mapping[str, VipState], rt: Runtime) -> dict[str, Any]:
    config = rt.config
    waits = []
    pauses = []
    for group in config.vip_groups:
        readable = [states[v] for v in group if v in states]
        if readable:
            view = _group_view(readable, {}, rt)
            waits.append(cooldown_left(view, config))
            if view.paused is not None:
                pauses.append({"until": view.paused.until, "reason": view.paused.reason})
    return {
        "cooldown_left_s": round(max(waits, default=0.0), 1),
        "paused": pauses[0] if pauses else None,
        "failback_policy": config.failback_policy,
        "role": config.role,
    }
