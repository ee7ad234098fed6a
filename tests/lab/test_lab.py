"""The real lab: one short fast-path failover, and a teardown that leaves nothing behind."""
from __future__ import annotations

import subprocess

import pytest

from lab import cloud, control, network, trial
from lab.plan import Plan
from lab.state import LabState

pytestmark = pytest.mark.lab


def test_haproxy_stopped_fails_over_through_the_function(fast_path_lab: LabState) -> None:
    plan = fast_path_lab.plan
    assert "Hello from node-a" in control.client_get(plan)

    result = trial.run_trial(fast_path_lab, "haproxy-stop", timeout=20)

    assert result.from_node == "node-a"
    assert result.failover_s is not None, "the client never got an answer from node-b"
    assert cloud.vip_holder(fast_path_lab.emulator, fast_path_lab.facts) == "node-b"
    assert result.api_calls.get("InvokeFunction", 0) >= 1
    assert result.api_calls.get("UpdatePrivateIp") == 1


def test_a_second_up_is_refused(fast_path_lab: LabState) -> None:
    with pytest.raises(control.LabError, match="already running"):
        control.up("fast_path", plan=fast_path_lab.plan)


def test_down_leaves_nothing_behind(fast_path_lab: LabState) -> None:
    plan: Plan = fast_path_lab.plan
    pids = [int(p) for ns in plan.netns_names
            for p in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()]
    emulator_pid = fast_path_lab.emulator["pid"]
    assert pids and emulator_pid

    control.down(plan)

    assert network.existing_netns(plan) == []
    assert plan.control_if not in subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert "198.18." not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    survivors = [pid for pid in [*pids, emulator_pid] if _running(pid)]
    assert survivors == []
    assert not LabState.file(plan).exists()


def _running(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
