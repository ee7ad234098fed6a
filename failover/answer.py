"""Shaping what the function says: one result per VIP, one answer per invocation, and the
decision log lines. Pure apart from logging; the pipeline (pipeline.py) hands everything in.

Each VIP's result names its OCID (``private_ip_id``, an Ipv6's for an IPv6 VIP) and ``family``
(``ipv4``/``ipv6``). A partial result says exactly which VIPs moved and which did not (``moved``,
``not_moved``, ``vips[]``, also in the ``answer`` log line); ``ok``
is false whenever something that should have happened did not (a failed or unverified write,
a VIP that could not be read, a refused request).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from . import log
from .config import vip_family
from .decide import Action, Decision, Health, View
from .events import AlarmEvent, Event, KeepalivedNotice
from .network import VipState
from .probe import ProbeResult

_OUTCOME = {
    Action.STAY: "no_change",
    Action.REFUSE: "refused",
    Action.REPORT: "status",
    Action.MOVE: "moved",
    Action.PAUSE: "paused",
}
# Outcomes after which something the caller asked for, or the VIP needed, did not happen.
NOT_OK = ("failed", "partial", "unverified", "cannot_verify")


def result(
    state: VipState,
    on: str | None,
    view: View,
    decision: Decision,
    outcome: str | None,
    *,
    error: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """One VIP's part of the answer: ``on`` is the node it was read on. ``outcome`` None: what
    the decision's action implies."""
    arrived = outcome in ("moved", "would_move", "unverified")
    return {
        "private_ip_id": state.private_ip_id,
        "family": state.family,
        "ip_address": state.ip_address,
        "decision": outcome or _OUTCOME[decision.action],
        "action": decision.action.value,
        "reason": decision.reason + (f" | {error}" if error else ""),
        "from": on,
        "to": decision.target if arrived else on,
        "target": decision.target,
        "forced": decision.forced,
        "code": decision.code,
        "opc_request_id": request_id,
        "last_move": _last_move_view(view),
    }


def unreadable(private_ip_id: str, reason: str) -> dict[str, Any]:
    """A VIP of the group that could not be read: not decided on, not moved."""
    return {
        "private_ip_id": private_ip_id,
        "family": vip_family(private_ip_id),
        "ip_address": None,
        "decision": "cannot_verify",
        "action": "none",
        "reason": reason,
        "from": None,
        "to": None,
        "target": None,
        "forced": False,
        "code": None,
        "opc_request_id": None,
        "last_move": None,
    }


def _last_move_view(view: View) -> dict[str, Any] | None:
    last = view.last_move
    if last is None:
        return None
    return {
        "at": last.at,
        "from": last.from_node,
        "to": last.to_node,
        "reason": last.reason,
        "age_s": round(view.now - last.at, 1),
    }


def log_decision(event: Event, vips: list[VipState], view: View, decision: Decision, dry_run: bool) -> None:
    fields: dict[str, Any] = dict(
        source=source(event),
        vips=[s.private_ip_id for s in vips],
        holder=view.holder,
        action=decision.action.value,
        target=decision.target,
        reason=decision.reason,
        dry_run=dry_run,
        forced=decision.forced,
        health={k: v.value for k, v in view.health.items()},
    )
    if isinstance(event, AlarmEvent):
        fields["alarm"] = {"type": event.type, "key": event.key}
    if decision.forced:
        log.warning("decision", **fields, alert="FORCED MOVE: target health check and cooldown skipped by operator")
    elif decision.code and decision.action is Action.REFUSE:
        log.warning(
            "decision", **fields, code=decision.code, alert=f"REFUSED MOVE ({decision.code}): {decision.reason}"
        )
    else:
        log.info("decision", **fields, **({"code": decision.code} if decision.code else {}))


def source(event: Event) -> str:
    if isinstance(event, AlarmEvent):
        return f"alarm {event.type}"
    if isinstance(event, KeepalivedNotice):
        return f"keepalived {event.node} {event.state}"
    return f"manual {event.action}"


def _uniform(results: list[dict[str, Any]], key: str) -> Any:
    values = {repr(r[key]) for r in results}
    return results[0][key] if len(values) == 1 else None


def _overall(results: list[dict[str, Any]]) -> str:
    decisions = {r["decision"] for r in results}
    if len(decisions) == 1:
        return decisions.pop()
    if "moved" in decisions and decisions & set(NOT_OK):
        return "partial"
    if decisions <= {"moved", "no_change"}:
        return "moved"
    return "partial" if "moved" in decisions else "mixed"


def answer(
    event: Event,
    results: list[dict[str, Any]],
    probes: Mapping[str, ProbeResult],
    dry_run: bool,
    started: float,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    decision = _overall(results)
    first = next((r for r in results if r["ip_address"]), results[0])
    body: dict[str, Any] = {
        "ok": decision not in NOT_OK and not any(r["decision"] in NOT_OK for r in results),
        "source": source(event),
        "action": _uniform(results, "action") or "mixed",
        "decision": decision,
        "reason": _reason(results),
        "from": _uniform(results, "from"),
        "to": _uniform(results, "to"),
        "target": _uniform(results, "target"),
        "ip_address": first["ip_address"],
        "public_ip": first.get("public_ip"),
        "dry_run": dry_run,
        "forced": any(r["forced"] for r in results),
        "code": _uniform(results, "code"),
        "health": {name: {"health": p.health.value, "detail": p.detail} for name, p in probes.items()},
        "unverified": sorted(name for name, p in probes.items() if p.health is Health.UNKNOWN),
        **_what_moved(results),
        "vips": results,
        "elapsed_ms": elapsed(started),
        **(extra or {}),
    }
    log.info(
        "answer",
        decision=body["decision"],
        action=body["action"],
        code=body["code"],
        reason=body["reason"],
        **{"from": body["from"], "to": body["to"]},
        dry_run=dry_run,
        elapsed_ms=body["elapsed_ms"],
        moved=body["moved"],
        not_moved=body["not_moved"],
        opc_request_ids=body["opc_request_ids"],
    )
    return body


def _reason(results: list[dict[str, Any]]) -> str:
    reasons = [r["reason"] for r in results]
    if len(set(reasons)) == 1:
        return str(reasons[0])
    return "; ".join(f"{r['ip_address'] or r['private_ip_id']}: {r['reason']}" for r in results)


def _what_moved(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``moved``: the VIPs written and read back on the target; ``not_moved``: those that should
    have moved and did not (a failed write, an unreadable VIP); the next event retries them."""
    return {
        "moved": [r["private_ip_id"] for r in results if r["decision"] == "moved"],
        "not_moved": [r["private_ip_id"] for r in results if r["decision"] in ("failed", "cannot_verify")],
        "opc_request_ids": [r["opc_request_id"] for r in results if r["opc_request_id"]],
    }


def elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def failure(
    error: str, reason: str, started: float, *, dry_run: bool = False, decision: str = "error"
) -> dict[str, Any]:
    return {
        "ok": False,
        "error": error,
        "action": "none",
        "decision": decision,
        "reason": reason,
        "dry_run": dry_run,
        "moved": [],
        "opc_request_ids": [],
        "elapsed_ms": elapsed(started),
    }
