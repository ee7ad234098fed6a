"""The real lab: short fast-path failovers (one trial each); its teardown is tests/lab/test_teardown.py."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from typing import Any

import pytest

from lab import cloud, control, network, trial
from lab.plan import PYTHON, REPO
from lab.shell import in_netns
from lab.state import LabState

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

# The fast path's target: fault (or heal) -> the client answered by the right node.
FAST_PATH_BUDGET_S = 2.0


def writes(state: LabState, after: int) -> list[dict[str, Any]]:
    """UpdatePrivateIp calls the emulator applied (audited) after audit entry `after`: a 412
    that lost a race between two notices is a request, not a write."""
    return [e for e in cloud.audit(state.emulator["endpoint"], after=after) if e["operation"] == "UpdatePrivateIp"]


def last_audit_seq(state: LabState) -> int:
    return max((e["seq"] for e in cloud.audit(state.emulator["endpoint"])), default=0)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_haproxy_stopped_fails_over_through_the_function(fast_path_lab: LabState) -> None:
    plan = fast_path_lab.plan
    assert "Hello from node-a" in control.client_get(plan)

    seq = last_audit_seq(fast_path_lab)
    result = trial.run_trial(fast_path_lab, "haproxy-stop", timeout=20)

    assert result.from_node == "node-a"
    assert result.failover_s is not None, "the client never got an answer from node-b"
    assert cloud.vip_holder(fast_path_lab.emulator, fast_path_lab.facts) == "node-b"
    assert result.api_calls.get("InvokeFunction", 0) >= 1
    # node-a's FAULT notice and node-b's MASTER notice may both ask; one write.
    assert len(writes(fast_path_lab, seq)) == 1


def test_keepalived_stopped_on_the_holder_fails_over_within_the_fast_path_budget(fast_path_lab: LabState) -> None:
    """haproxy keeps answering on the holder, but keepalived dropped the alias: the node's endpoint
    says it no longer serves, so the function moves the IP (it used to keep it there)."""
    plan = fast_path_lab.plan
    control.heal(plan)
    trial.wait_steady(plan)
    seq = last_audit_seq(fast_path_lab)

    result = trial.run_trial(fast_path_lab, "keepalived-stop", timeout=10)

    assert result.failover_s is not None, f"the client never got an answer from {result.to_node}"
    assert result.failover_s < FAST_PATH_BUDGET_S
    (write,) = writes(fast_path_lab, seq)
    assert write["after"]["vnicId"] == fast_path_lab.facts.vnic_ids[result.to_node]
    assert epoch(write["time"]) - result.fault_time < FAST_PATH_BUDGET_S
    assert cloud.vip_holder(fast_path_lab.emulator, fast_path_lab.facts) == result.to_node
    assert network.alias_holders(plan) == [result.to_node]
    print(
        f"\nkeepalived-stop: client answered by {result.to_node} after {result.failover_s:.3f} s, "
        f"IP moved after {epoch(write['time']) - result.fault_time:.3f} s, {result.failed_requests} failed requests"
    )


def test_keepalived_killed_hands_the_ip_to_the_managed_peer_and_the_heal_moves_nothing(
    fast_path_lab: LabState,
) -> None:
    """SIGKILL leaves the holder's alias, so it keeps serving, but nothing there would notice the
    next fault. The peer becomes MASTER after VRRP's master-down interval and its notice makes
    the function hand the IP over (a planned move, code holder_unmanaged) while the client stays
    served. The heal restarts keepalived on the old holder as BACKUP: nothing moves again."""
    plan = fast_path_lab.plan
    control.heal(plan)
    victim = trial.wait_steady(plan)
    peer = plan.peer(victim)
    seq = last_audit_seq(fast_path_lab)
    client = subprocess.Popen(
        in_netns(
            plan.client_netns,
            str(PYTHON),
            "-m",
            "lab.client",
            plan.vip,
            "--rate",
            "50",
            "--duration",
            "10",
            "--until",
            peer.name,
        ),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(trial.BASELINE_SECONDS)
    killed_at = control.fault(victim.name, "keepalived-kill", plan)["time"]
    out, _ = client.communicate(timeout=30)
    control.wait_for(lambda: not control.notify_running(plan), 30, f"{peer.name}'s notify_master to finish")

    answers = sorted((json.loads(line) for line in out.splitlines() if line.strip()), key=lambda a: a["sent"])
    served = [a["done"] for a in answers if a["node"]]
    first_peer = min(a["done"] for a in answers if a["node"] == peer.name)
    longest_gap = max(later - earlier for earlier, later in zip(served, served[1:], strict=False))
    failed = sum(1 for a in answers if a["error"])
    assert longest_gap < FAST_PATH_BUDGET_S, f"the client went {longest_gap:.2f} s without an answer"
    (write,) = writes(fast_path_lab, seq)
    assert write["after"]["vnicId"] == fast_path_lab.facts.vnic_ids[peer.name]
    assert cloud.vip_holder(fast_path_lab.emulator, fast_path_lab.facts) == peer.name

    control.heal(plan)
    control.wait_for(lambda: network.alias_holders(plan) == [peer.name], 20, f"{victim.name} to drop its alias")
    control.wait_for(lambda: not control.notify_running(plan), 30, f"{victim.name}'s BACKUP notice to finish")
    assert len(writes(fast_path_lab, seq)) == 1, "the heal moved the IP again"
    assert cloud.vip_holder(fast_path_lab.emulator, fast_path_lab.facts) == peer.name
    assert network.vip_route_holder(plan) == peer
    print(
        f"\nkeepalived-kill: {peer.name} answered {first_peer - killed_at:.3f} s after the kill; "
        f"longest time without an answer {longest_gap:.3f} s; {failed} of {len(answers)} requests failed"
    )
