"""The imperative shell: parse → observe → decide → act → verify → answer.

Every outcome, including bad input, API trouble and bugs, comes back as a JSON-able answer,
never an exception: fdk turns an exception into a plain-text 502 and Notifications would retry
it for two hours. Each VIP is handled on its own (read, decide, write with if-match, read back),
so with several VIPs the answer says exactly which moved.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from . import log
from .config import Config, ConfigError, Node
from .decide import Action, Decision, Health, View, cooldown_left, decide
from .events import AlarmEvent, Command, Event, EventError, KeepalivedNotice, parse_event, unknown_nodes
from .network import ApiError, Deadline, EtagMismatch, Network, VipState, build_network
from .probe import ProbeResult, probe_nodes
from .tags import LastMove, last_move, with_move

# A 412 means another invocation moved the IP between our read and our write: look again and
# decide again. Two concurrent writers settle in one round; three rounds bound pathological cases.
MAX_ROUNDS = 3

# (nodes, read timeout, connect timeout) -> result per node name.
Prober = Callable[[Sequence[Node], float, float], Mapping[str, ProbeResult]]


@dataclass
class Runtime:
    """What one container keeps between invocations: validated config and built clients."""

    config: Config
    network: Network
    prober: Prober = probe_nodes
    clock: Callable[[], float] = time.time


_cache: dict[tuple, Runtime] = {}
_ENV_KEYS = (
    "VIP_PRIVATE_IP_IDS", "NODES", "FAILBACK_POLICY", "COOLDOWN_SECONDS", "PROBE_TIMEOUT_SECONDS",
    "PROBE_CONNECT_TIMEOUT_SECONDS", "DRY_RUN",
    "RETRY_DEADLINE_SECONDS", "OCI_SERVICE_ENDPOINT", "OCI_RESOURCE_PRINCIPAL_VERSION", "OCI_CONFIG_FILE",
    "OCI_CONFIG_PROFILE",
)


def runtime_for(env: Mapping[str, str]) -> Runtime:
    """The container's runtime, built on first use (clients are built once, not per call)."""
    key = tuple(env.get(k) for k in _ENV_KEYS)
    if key not in _cache:
        config = Config.from_env(env)
        _cache[key] = Runtime(config=config, network=build_network(env, config.service_endpoint))
    return _cache[key]


def invoke(body: bytes | None, env: Mapping[str, str], call_id: str | None = None) -> dict[str, Any]:
    """Entry point for func.py and the CLI: always returns an answer dict."""
    started = time.monotonic()
    token = log.bind(call_id=call_id) if call_id else None
    try:
        try:
            runtime = runtime_for(env)
        except ConfigError as exc:
            log.error("config_error", key=exc.key, reason=str(exc))
            return _failure("config_error", f"function configuration: {exc}", started)
        except Exception as exc:  # e.g. missing or unreadable OCI credentials
            log.error("setup_error", reason=f"{type(exc).__name__}: {exc}")
            return _failure("setup_error", f"could not build OCI clients: {type(exc).__name__}: {exc}", started)
        return handle(body, runtime, started)
    except Exception as exc:  # a bug: answer it rather than crash the container's request
        log.error("internal_error", reason=f"{type(exc).__name__}: {exc}")
        return _failure("internal_error", f"internal error ({type(exc).__name__}); nothing was moved after it", started)
    finally:
        if token is not None:
            log.unbind(token)


def handle(body: bytes | None, rt: Runtime, started: float | None = None) -> dict[str, Any]:
    started = time.monotonic() if started is None else started
    config = rt.config
    try:
        event = parse_event(body)
        unknown = unknown_nodes(event, (n.name for n in config.nodes))
        if unknown:
            raise EventError(f"unknown node {unknown[0]!r}; configured nodes: {', '.join(n.name for n in config.nodes)}")
    except EventError as exc:
        log.warning("bad_request", reason=str(exc))
        return _failure("bad_request", str(exc), started)
    dry_run = config.dry_run or (isinstance(event, Command) and event.dry_run)
    deadline = Deadline(config.retry_deadline_seconds)
    # The probes and the VIP reads are independent reads: run them at once, so an invocation
    # waits for the slower of the two, not their sum. Nothing is decided before both are in.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="probes")
    probing = pool.submit(rt.prober, config.nodes, config.probe_timeout_seconds, config.probe_connect_timeout_seconds)
    pool.shutdown(wait=False)  # the probes are bounded by their timeouts; never wait on them to fail fast
    try:
        states = [rt.network.read(vip, deadline) for vip in config.vip_private_ip_ids]
    except ApiError as exc:
        log.error("cannot_verify", operation=exc.operation, status=exc.status, code=exc.code, opc_request_id=exc.opc_request_id)
        reason = f"could not read the VIP ({exc}): nothing moved"
        if exc.status == 404:
            reason = f"private IP not found or not authorized ({exc.code}); check VIP_PRIVATE_IP_IDS: nothing moved"
        return _failure("cannot_verify", reason, started, dry_run=dry_run)
    primary = [s.private_ip_id for s in states if s.is_primary]
    if primary:
        return _failure("config_error", f"VIP_PRIVATE_IP_IDS: {primary[0]} is a VNIC's primary private IP and cannot move", started)
    probes = probing.result()
    health = {name: result.health for name, result in probes.items()}
    results = [_one(event, state, health, rt, dry_run, deadline) for state in states]
    for result in results:
        result["public_ip"] = _public_ip(rt.network, result["private_ip_id"], deadline)
    return _answer(event, results, probes, dry_run, started, rt, states)


def _one(event: Event, state: VipState, health: Mapping[str, Health], rt: Runtime, dry_run: bool, deadline: Deadline) -> dict[str, Any]:
    """Decide and act for one VIP; re-read and decide again when a write loses an etag race."""
    config = rt.config
    decision = Decision(Action.REFUSE, None, "not decided")
    for _ in range(MAX_ROUNDS):
        holder = config.node_by_vnic(state.vnic_id)
        view = View(holder=holder.name if holder else None, health=health, last_move=last_move(state.freeform_tags), now=rt.clock())
        decision = decide(event, view, config)
        _log_decision(event, state, view, decision, dry_run)
        if decision.action is not Action.MOVE or dry_run:
            return _result(state, view, decision, "would_move" if decision.action is Action.MOVE else None)
        target = config.node(decision.target or "")
        assert target is not None
        move = LastMove(at=view.now, from_node=view.holder, to_node=target.name, reason=decision.reason,
                        event_key=event.key if isinstance(event, AlarmEvent) else None, move_id=uuid.uuid4().hex[:16])
        try:
            request_id = rt.network.move(state, target.vnic_id, with_move(state.freeform_tags, move), deadline)
        except EtagMismatch:
            log.info("etag_mismatch", vip=state.private_ip_id, reason="the private IP changed since it was read; reading again")
            try:
                state = rt.network.read(state.private_ip_id, deadline)
            except ApiError as exc:
                return _result(state, view, decision, "failed", error=f"lost an etag race, then could not re-read: {exc}")
            mine = last_move(state.freeform_tags)
            if mine is None or mine.move_id != move.move_id:
                continue
            request_id = None  # a retried write whose first attempt had landed: it was ours
        except ApiError as exc:
            log.error("write_failed", vip=state.private_ip_id, operation=exc.operation, status=exc.status, code=exc.code, opc_request_id=exc.opc_request_id)
            return _result(state, view, decision, "failed", error=str(exc), request_id=exc.opc_request_id)
        return _verify(state, view, decision, target, request_id, rt.network, deadline)
    return _result(state, view, Decision(Action.REFUSE, decision.target, f"lost {MAX_ROUNDS} etag races in a row: gave up"), None)


def _verify(state: VipState, view: View, decision: Decision, target: Node, request_id: str | None, network: Network, deadline: Deadline) -> dict[str, Any]:
    try:
        after = network.read(state.private_ip_id, deadline)
    except ApiError as exc:
        return _result(state, view, decision, "unverified", error=f"moved but could not read back: {exc}", request_id=request_id)
    if after.vnic_id != target.vnic_id:
        log.error("verify_failed", vip=state.private_ip_id, expected=target.vnic_id, found=after.vnic_id)
        return _result(state, view, decision, "failed", error=f"read back found the VIP on {after.vnic_id}, not {target.name}", request_id=request_id)
    log.info("moved", vip=state.private_ip_id, ip_address=state.ip_address, **{"from": view.holder, "to": target.name}, opc_request_id=request_id)
    return _result(state, view, decision, "moved", request_id=request_id)


_OUTCOME = {Action.STAY: "no_change", Action.REFUSE: "refused", Action.REPORT: "status", Action.MOVE: "moved"}


def _result(state: VipState, view: View, decision: Decision, outcome: str | None, *, error: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    moving = decision.action is Action.MOVE
    result: dict[str, Any] = {
        "private_ip_id": state.private_ip_id,
        "ip_address": state.ip_address,
        "decision": outcome or _OUTCOME[decision.action],
        "action": decision.action.value,
        "reason": decision.reason + (f" | {error}" if error else ""),
        "from": view.holder,
        "to": decision.target if moving and outcome != "failed" else view.holder,
        "target": decision.target,
        "forced": decision.forced,
        "opc_request_id": request_id,
        "last_move": _last_move_view(view),
    }
    return result


def _last_move_view(view: View) -> dict[str, Any] | None:
    last = view.last_move
    if last is None:
        return None
    return {"at": last.at, "from": last.from_node, "to": last.to_node, "reason": last.reason, "age_s": round(view.now - last.at, 1)}


def _public_ip(network: Network, private_ip_id: str, deadline: Deadline) -> str | None:
    try:
        return network.public_ip(private_ip_id, deadline)
    except ApiError as exc:
        log.warning("public_ip_unknown", vip=private_ip_id, code=exc.code, status=exc.status)
        return None


def _log_decision(event: Event, state: VipState, view: View, decision: Decision, dry_run: bool) -> None:
    fields = dict(
        source=_source(event), vip=state.private_ip_id, ip_address=state.ip_address, holder=view.holder,
        action=decision.action.value, target=decision.target, reason=decision.reason, dry_run=dry_run,
        forced=decision.forced, health={k: v.value for k, v in view.health.items()},
    )
    if isinstance(event, AlarmEvent):
        fields["alarm"] = {"type": event.type, "key": event.key}
    if decision.forced:
        log.warning("decision", **fields, alert="FORCED MOVE: target health check and cooldown skipped by operator")
    else:
        log.info("decision", **fields)


def _source(event: Event) -> str:
    if isinstance(event, AlarmEvent):
        return f"alarm {event.type}"
    if isinstance(event, KeepalivedNotice):
        return f"keepalived {event.node} {event.state}"
    return f"manual {event.action}"


def _uniform(results: list[dict[str, Any]], key: str) -> Any:
    values = {repr(r[key]) for r in results}
    return results[0][key] if len(values) == 1 else None


def _answer(event: Event, results: list[dict[str, Any]], probes: Mapping[str, ProbeResult], dry_run: bool, started: float, rt: Runtime, states: list[VipState]) -> dict[str, Any]:
    decisions = {r["decision"] for r in results}
    if len(decisions) == 1:
        decision = decisions.pop()
    elif "moved" in decisions:
        decision = "partial"
    else:
        decision = "mixed"
    reasons = [r["reason"] for r in results]
    answer: dict[str, Any] = {
        "ok": decision not in ("failed", "partial", "unverified"),
        "source": _source(event),
        "action": _uniform(results, "action") or "mixed",
        "decision": decision,
        "reason": reasons[0] if len(set(reasons)) == 1 else "; ".join(f"{r['ip_address']}: {r['reason']}" for r in results),
        "from": _uniform(results, "from"),
        "to": _uniform(results, "to"),
        "target": _uniform(results, "target"),
        "ip_address": results[0]["ip_address"],
        "public_ip": results[0]["public_ip"],
        "dry_run": dry_run,
        "forced": any(r["forced"] for r in results),
        "health": {name: {"health": p.health.value, "detail": p.detail} for name, p in probes.items()},
        "unverified": sorted(name for name, p in probes.items() if p.health is Health.UNKNOWN),
        "moved": [r["private_ip_id"] for r in results if r["decision"] == "moved"],
        "vips": results,
        "opc_request_ids": [r["opc_request_id"] for r in results if r["opc_request_id"]],
        "elapsed_ms": _elapsed(started),
    }
    if isinstance(event, Command) and event.action == "status":
        views = [View(None, {}, last_move(s.freeform_tags), rt.clock()) for s in states]
        answer["cooldown_left_s"] = round(max(cooldown_left(v, rt.config) for v in views), 1)
        answer["failback_policy"] = rt.config.failback_policy
    log.info("answer", decision=answer["decision"], action=answer["action"], reason=answer["reason"],
             **{"from": answer["from"], "to": answer["to"]}, dry_run=dry_run, elapsed_ms=answer["elapsed_ms"],
             opc_request_ids=answer["opc_request_ids"])
    return answer


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _failure(error: str, reason: str, started: float, *, dry_run: bool = False) -> dict[str, Any]:
    return {
        "ok": False,
        "error": error,
        "action": "none",
        "decision": "error",
        "reason": reason,
        "dry_run": dry_run,
        "moved": [],
        "opc_request_ids": [],
        "elapsed_ms": _elapsed(started),
    }
