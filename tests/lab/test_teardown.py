"""The session lab's teardown, last of the lab tests (this file sorts after every other lab
test): a second `up` is refused while one runs, and `down` leaves nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab import control, network
from lab.plan import Plan
from lab.state import LabState
from tests.support.booted_lab import leftovers

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def test_a_second_up_is_refused(fast_path_lab: LabState) -> None:
    with pytest.raises(control.LabError, match="already running"):
        control.up("fast_path", plan=fast_path_lab.plan)


def test_down_leaves_nothing_behind(fast_path_lab: LabState) -> None:
    plan: Plan = fast_path_lab.plan
    pids = [
        int(p)
        for ns in plan.netns_names
        for p in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
    ]
    emulator_pid = fast_path_lab.emulator["pid"]
    assert pids and emulator_pid

    control.down(plan)

    assert network.existing_netns(plan) == []
    assert plan.control_if not in subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert "198.18." not in subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    survivors = [pid for pid in [*pids, emulator_pid] if _running(pid)]
    assert survivors == []
    assert not LabState.file(plan).exists()
    assert leftovers(plan) == []  # no machine, overlay mount or server on the lab's address


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
