"""The lab fixture: a real lab (namespaces, haproxy, keepalived, emulator, function) per module.

Skipped, with the reason, only where network namespaces cannot be created (not root, or a
sandbox without CAP_SYS_ADMIN); anything else that stops the lab from coming up is a failure.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from lab import control
from lab.state import LabState


def namespaces_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "iproute2 is not installed (make lab-deps)"
    probe = f"lab-probe-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        return f"network namespaces cannot be created here: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
    return None


@pytest.fixture(scope="module")
def fast_path_lab() -> Iterator[LabState]:
    reason = namespaces_unavailable()
    if reason:
        pytest.skip(reason)
    plan = control.default_plan()
    control.up("fast_path", agents=False, plan=plan)
    try:
        yield LabState.load(plan)
    finally:
        control.down(plan)
