"""The booted lab, once per test session, shared by tests/lab and the lab chaos subset.

Before the lab comes up for good, `python -m lab up` is interrupted (SIGTERM) while node-a
boots, and `lab up` is run once with a snapshot whose requirements-node.txt names a package
that does not exist: the first node's bootstrap fails. What each left behind, and what `up`
said about the failure, is kept for the tests to judge. Skipped, with the reason, only where
network namespaces cannot be created.

The lab runs terraform's fast_path_mode "function", named here: its tests watch the agent
invoke the function (tests/lab/test_lab.py, the chaos subset reads the function's answers) and
the baselines refused under the deployed policies without the nodes' move grants of "direct",
the default, which tests/lab/test_up_fast_path_direct.py boots a lab of its own for.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab import control, machines, network
from lab.network import netns_unavailable
from lab.plan import PYTHON, REPO, Plan
from lab.processes import pid_from
from lab.shell import LabError
from lab.state import LabState

MISSING_PACKAGE = "no-such-package-for-the-lab-test"
BROKEN_REQUIREMENTS = f"requests==2.34.2\n{MISSING_PACKAGE}==0.0.1\n"


@dataclass(frozen=True)
class BootedLab:
    state: LabState
    up: dict[str, Any]  # the JSON `lab up` printed
    up_seconds: float
    failed_up: str  # what `lab up` raised for the broken node
    failed_up_seconds: float
    left_after_failed_up: list[str]
    left_after_interrupted_up: list[str]
    interrupted_up_exit: int


def invoking_principals(entries: list[dict[str, Any]]) -> list[str]:
    """Who called InvokeFunction, per call, in a trial's emulator log (TrialResult.emulator_log)."""
    return [
        str(e.get("principal"))
        for e in entries
        if e.get("event") == "request" and e.get("operation") == "InvokeFunction"
    ]


def leftovers(plan: Plan) -> list[str]:
    """Everything of a lab still there: namespaces, mounts, machines, the lab's listeners."""
    left = [f"netns {ns}" for ns in network.existing_netns(plan)]
    prefix = str(plan.run_dir.resolve()) + "/"
    left += [
        f"mount {line.split()[1]}"
        for line in Path("/proc/mounts").read_text().splitlines()
        if line.split()[1].startswith(prefix)
    ]
    left += [f"machine {node.name}" for node in plan.nodes if pid_from(plan.path(node, "nspawn.pid"), "systemd-nspawn")]
    left += [f"overlay {node.name}" for node in plan.nodes if plan.path(node, "overlay").exists()]
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, timeout=10).stdout
    left += [f"listener {line.split()[3]}" for line in listening.splitlines() if plan.control_ip in line]
    return left


def interrupted_up(plan: Plan, limit: float = 300.0) -> int:
    """`python -m lab up` in a process of its own, sent SIGTERM once node-a's machine runs (so
    namespaces, emulator, servers, overlays and a machine exist); its exit status."""
    up = subprocess.Popen(
        [str(PYTHON), "-m", "lab", "up"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + limit
        while not machines.running(plan, plan.nodes[0]):
            if time.monotonic() > deadline or up.poll() is not None:
                raise AssertionError(f"lab up never got to booting node-a (exit {up.poll()})")
            time.sleep(0.2)
        up.send_signal(signal.SIGTERM)
        return up.wait(timeout=120)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(timeout=30)


@pytest.fixture(scope="session")
def booted_lab() -> Iterator[BootedLab]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    plan = control.default_plan()
    exit_code = interrupted_up(plan)
    left_interrupted = leftovers(plan)
    control.down(plan)
    started = time.monotonic()
    try:
        control.up(
            plan=plan, source_overrides={"requirements-node.txt": BROKEN_REQUIREMENTS}, fast_path_mode="function"
        )
    except LabError as exc:
        failed_up = str(exc)
    else:
        control.down(plan)
        failed_up = ""
    failed_seconds = time.monotonic() - started
    left = leftovers(plan)
    control.down(plan)  # whatever the failed up left, the real lab must start clean
    started = time.monotonic()
    info = control.up(plan=plan, fast_path_mode="function")
    try:
        yield BootedLab(
            LabState.load(plan),
            info,
            time.monotonic() - started,
            failed_up,
            failed_seconds,
            left,
            left_interrupted,
            exit_code,
        )
    finally:
        control.down(plan)
