"""The lab fixture: a real lab (namespaces, haproxy, keepalived, emulator, function) per module.

Skipped, with the reason, only where network namespaces cannot be created (not root, or a
sandbox without CAP_SYS_ADMIN); anything else that stops the lab from coming up is a failure.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab import control
from lab.network import netns_unavailable
from lab.state import LabState


@pytest.fixture(scope="module")
def fast_path_lab() -> Iterator[LabState]:
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    plan = control.default_plan()
    control.up("fast_path", agents=False, plan=plan)
    try:
        yield LabState.load(plan)
    finally:
        control.down(plan)
