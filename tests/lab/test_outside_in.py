"""The outside-in probe in the real lab, on the session's booted lab: the emulator's Health Checks
monitor probes the floating IP from the client namespace, as terraform's option deploys it; a
fault only the outside view sees (the fabric drops the clients' traffic to the VIP, the nodes and
the function still see everything) fires the outside-in alarm, which reaches the function through
Notifications; the function re-checks, finds nothing it may repair and refuses loudly; healing
brings FIRING_TO_OK, which changes nothing.

The alarm evaluates one-minute data with terraform's two-minute pending duration: the emulator's
clock runs 60 times faster during the test (emulated time never goes back, so it stays ahead
afterwards: the node agents' wall-clock datapoints are then minutes old, well inside what
Monitoring accepts)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from lab import cloud, control, trial
from lab.outside_in import ALARM_ID
from lab.state import LabState

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

CLOCK_SCALE = 60.0
# Real seconds for the alarm to fire or clear at CLOCK_SCALE: a few emulated minutes, with room.
ALARM_WAIT_SECONDS = 90.0
# Emulated seconds of a serving VIP before the fault: the alarm is OK by then (it may have fired
# while the nodes booted), whatever ran before.
SETTLE_EMULATED_SECONDS = 240.0


def set_clock_scale(endpoint: str, scale: float) -> None:
    requests.post(f"{endpoint}/_admin/clock", json={"scale": scale}, timeout=5).raise_for_status()


def emulated_now(endpoint: str) -> float:
    return float(requests.get(f"{endpoint}/_admin/clock", timeout=5).json()["epoch"])


def outside_in_deliveries(endpoint: str, since: float) -> list[dict[str, Any]]:
    """Notifications' deliveries of outside-in alarm messages evaluated at `since` or later, oldest first."""
    state = requests.get(f"{endpoint}/_admin/state", timeout=10).json()
    return [
        d
        for d in state["services"]["notifications"]["deliveries"]
        if isinstance(d["request"], dict)
        and any(m.get("id") == ALARM_ID for m in d["request"].get("alarmMetaData", []))
        and d["request"].get("timestampEpochMillis", 0) >= since * 1000
    ]


def next_delivery(endpoint: str, since: float, kind: str) -> dict[str, Any]:
    """The first delivery of an outside-in message of type `kind` evaluated after `since`, waited for (bounded)."""
    deadline = time.monotonic() + ALARM_WAIT_SECONDS
    while True:
        found = [d for d in outside_in_deliveries(endpoint, since) if d["request"]["type"] == kind]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no outside-in {kind} reached the function in {ALARM_WAIT_SECONDS:.0f} s"
        time.sleep(0.5)


def writes_after(state: LabState, seq: int) -> list[dict[str, Any]]:
    return [e for e in cloud.audit(state.emulator["endpoint"], after=seq) if e["operation"] == "UpdatePrivateIp"]


def test_clients_cut_off_fire_the_outside_in_alarm_and_the_function_refuses_then_heal_clears(
    fast_path_lab: LabState,
) -> None:
    state, plan, endpoint = fast_path_lab, fast_path_lab.plan, fast_path_lab.emulator["endpoint"]
    control.heal(plan)
    serving = trial.wait_steady(plan)
    holder = cloud.vip_holder(state.emulator, state.facts)
    assert holder == serving.name
    seq = max((e["seq"] for e in cloud.audit(endpoint)), default=0)
    set_clock_scale(endpoint, CLOCK_SCALE)
    try:
        time.sleep(SETTLE_EMULATED_SECONDS / CLOCK_SCALE)
        assert "Hello from" in control.client_get(plan)
        started = emulated_now(endpoint)
        control.fault(holder, "outside-blocked", plan)
        assert control.client_get(plan) == "", "the client still reaches the VIP"
        assert all(control.endpoint_answers(node) for node in plan.nodes), "the function must still see both nodes"

        fired = next_delivery(endpoint, started, "OK_TO_FIRING")

        assert fired["status"] == 200, fired["response"]
        answer = fired["response"]  # the function's JSON answer, cut at 2000 characters by the log
        assert '"decision": "refused"' in answer and '"code": "outside_unreachable"' in answer, answer
        assert "clients cannot reach the VIP but every check holds" in answer
        assert writes_after(state, seq) == []
        assert cloud.vip_holder(state.emulator, state.facts) == holder

        healed = emulated_now(endpoint)
        control.heal(plan)
        cleared = next_delivery(endpoint, healed, "FIRING_TO_OK")

        assert cleared["status"] == 200
        assert '"decision": "no_change"' in cleared["response"] and "clients reach the VIP again" in cleared["response"]
        assert writes_after(state, seq) == []
        assert holder in control.client_get(plan)
    finally:
        set_clock_scale(endpoint, 1.0)
        control.heal(plan)
