"""The unsigned `/_admin/` endpoint: faults, latency, audit, clock, state, for local clients.

Why HTTP as well as the Python API: the lab, the demo and the bench run the emulator as a
separate process (`python -m ocisim serve`) and still need to inject faults and follow the
audit log. Every handler here is a thin adapter over the same backend objects the Python API
uses.

    GET    /_admin/faults                 pending faults and latency
    POST   /_admin/faults                 {"operation", "status"?, "code"?, "count"?, "delay"?, "drop"?}
    DELETE /_admin/faults                 clear faults, latency back to defaults
    POST   /_admin/latency                {"operation", "seconds"}
    GET    /_admin/audit?after=SEQ&wait=SECONDS   entries after SEQ (long-poll up to 60 s)
    GET    /_admin/clock                  {"now", "epoch", "scale"}
    POST   /_admin/clock                  {"scale"?, "advance"?}
    GET    /_admin/state                  topology and every service's state (no keys)
    PUT    /_admin/nodes/NAME             {"healthy": bool}: a simulated node's health (ocisim.nodes)
"""

from __future__ import annotations

from typing import Any

from ocisim.errors import InvalidParameter
from ocisim.faults import make_fault
from ocisim.service import Call, Reply, Route

MAX_WAIT_SECONDS = 60.0


def _object(call: Call) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise InvalidParameter("Expected a JSON object")
    return body


def get_faults(call: Call) -> Reply:
    return Reply(call.backend.faults.to_json())


def post_fault(call: Call) -> Reply:
    body = _object(call)
    try:
        fault = make_fault(
            body["operation"],
            status=body.get("status"),
            code=body.get("code"),
            count=body.get("count", 1),
            delay=float(body.get("delay", 0.0)),
            drop=body.get("drop", False),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"Invalid fault: {exc}") from exc
    call.backend.faults.inject(fault)
    return Reply(fault.to_json())


def delete_faults(call: Call) -> Reply:
    call.backend.faults.clear()
    return Reply(call.backend.faults.to_json())


def post_latency(call: Call) -> Reply:
    body = _object(call)
    try:
        call.backend.faults.set_latency(body["operation"], float(body["seconds"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"Invalid latency: {exc}") from exc
    return Reply(call.backend.faults.to_json())


async def get_audit(call: Call) -> Reply:
    try:
        after = int(call.query.get("after", 0))
        wait = min(float(call.query.get("wait", 0)), MAX_WAIT_SECONDS)
    except ValueError as exc:
        raise InvalidParameter("after must be an integer and wait a number") from exc
    return Reply(await call.backend.audit_log.wait_after(after, wait))


def clock_json(call: Call) -> dict[str, Any]:
    clock = call.backend.clock
    return {"now": clock.iso_now(), "epoch": clock.now(), "scale": clock.scale}


def get_clock(call: Call) -> Reply:
    return Reply(clock_json(call))


def post_clock(call: Call) -> Reply:
    body = _object(call)
    try:
        if "scale" in body:
            call.backend.clock.set_scale(float(body["scale"]))
        if "advance" in body:
            call.backend.clock.advance(float(body["advance"]))
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"Invalid clock change: {exc}") from exc
    return Reply(clock_json(call))


def get_state(call: Call) -> Reply:
    state = call.backend.to_json()
    return Reply({"topology": state["topology"], "services": state["services"]})


ROUTES = [
    Route("GET", "/_admin/faults", "AdminGetFaults", get_faults, auth="admin"),
    Route("POST", "/_admin/faults", "AdminInjectFault", post_fault, auth="admin"),
    Route("DELETE", "/_admin/faults", "AdminClearFaults", delete_faults, auth="admin"),
    Route("POST", "/_admin/latency", "AdminSetLatency", post_latency, auth="admin"),
    Route("GET", "/_admin/audit", "AdminGetAudit", get_audit, auth="admin"),
    Route("GET", "/_admin/clock", "AdminGetClock", get_clock, auth="admin"),
    Route("POST", "/_admin/clock", "AdminSetClock", post_clock, auth="admin"),
    Route("GET", "/_admin/state", "AdminGetState", get_state, auth="admin"),
]
