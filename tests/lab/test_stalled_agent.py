"""A holder whose node agent is stalled (SIGSTOP) for about a second while the function probes it:
the node's kernel still accepts the connection inside the probe's 0.02 s connect timeout (the
agent's listen backlog), the agent answers once resumed, inside the 2 s read timeout, and the
function reads the holder healthy: the peer's MASTER notice moves nothing. (With a read timeout
shorter than the stall, the same run reads the holder unknown: "no complete answer".)"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import oci
import pytest

from lab import cloud, control, machines, trial
from lab.plan import Node, Plan
from lab.state import LabState

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

AGENT_UNIT = "vip-failover-probe"
# Fifty times the default connect timeout, and as long as the initial RTO after which a lost SYN
# would be sent again; well inside the 2 s read timeout.
STALL_SECONDS = 1.0


def agent_pid(plan: Plan, node: Node) -> str:
    """The node agent's main PID inside the node (systemd's view of its unit)."""
    pid = machines.run_in(plan, node, "systemctl", "show", "--property=MainPID", "--value", AGENT_UNIT).stdout.strip()
    assert pid not in ("", "0"), f"{AGENT_UNIT} does not run on {node.name}"
    return pid


def signal_agent(plan: Plan, node: Node, pid: str, name: str) -> None:
    machines.run_in(plan, node, "kill", f"-{name}", pid)


def agent_state(plan: Plan, node: Node, pid: str) -> str:
    """The agent's process state letter inside the node (T: stopped)."""
    return machines.run_in(plan, node, "ps", "-o", "state=", "-p", pid).stdout.strip()


def moves_after(state: LabState, seq: int) -> list[dict[str, Any]]:
    """UpdatePrivateIp calls the emulator applied after audit entry `seq`."""
    return [e for e in cloud.audit(state.emulator["endpoint"], after=seq) if e["operation"] == "UpdatePrivateIp"]


def invoke(state: LabState, body: dict[str, Any]) -> dict[str, Any]:
    """The events function invoked with the operator's API key, as `fn invoke` would."""
    emulator = state.emulator
    config = oci.config.from_file(emulator["oci_config_file"], emulator["oci_profile"])
    client = oci.functions.FunctionsInvokeClient(config, service_endpoint=emulator["endpoint"])
    function_id = emulator["functions"][state.facts.function_name]
    answer = client.invoke_function(function_id, invoke_function_body=json.dumps(body))
    return dict(json.loads(answer.data.content))


def test_a_holder_with_a_stalled_agent_is_read_healthy_and_keeps_the_ip(fast_path_lab: LabState) -> None:
    plan = fast_path_lab.plan
    holder = trial.resync(fast_path_lab)
    peer = plan.peer(holder)
    invoke(fast_path_lab, {"action": "status"})  # a warm container: the probe starts while the agent is stopped
    seq = max((e["seq"] for e in cloud.audit(fast_path_lab.emulator["endpoint"])), default=0)
    pid = agent_pid(plan, holder)

    signal_agent(plan, holder, pid, "STOP")
    resume = threading.Timer(STALL_SECONDS, signal_agent, (plan, holder, pid, "CONT"))
    try:
        assert agent_state(plan, holder, pid) == "T"
        resume.start()
        started = time.monotonic()
        answer = invoke(fast_path_lab, {"source": "keepalived", "node": peer.name, "state": "MASTER"})
        took = time.monotonic() - started
    finally:
        resume.cancel()
        resume.join()
        signal_agent(plan, holder, pid, "CONT")

    assert answer["health"][holder.name] == {"health": "healthy", "detail": "HTTP 200"}, answer["health"]
    assert (answer["decision"], answer["action"], answer["to"]) == ("no_change", "stay", holder.name), answer
    assert answer["reason"] == (
        f"{peer.name} became MASTER but holder {holder.name} is healthy: VIP stays (split brain arbitration)"
    )
    # The function waited for the stopped agent's answer (a warm call otherwise takes milliseconds).
    assert took >= STALL_SECONDS / 2
    assert moves_after(fast_path_lab, seq) == []
    assert cloud.vip_holder(fast_path_lab.emulator, fast_path_lab.facts) == holder.name
    assert agent_state(plan, holder, pid) != "T"
    assert holder.name in control.client_get(plan)
    print(f"\nstalled agent: the function answered {took:.3f} s after the notice, {answer['elapsed_ms']} ms inside")
