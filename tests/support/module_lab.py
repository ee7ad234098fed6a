"""A lab of a test module's own (`lab up` with the module's options), for the modules that
need another layout than the session's lab; they sort after test_teardown.py, when the
session's lab is down."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lab import control
from lab.network import netns_unavailable
from lab.state import LabState


def own_lab(**up_options: Any) -> Iterator[tuple[LabState, dict[str, Any]]]:
    """Bring the lab up with `up_options`, yield its state and `up`'s JSON line, take it down;
    skipped, with the reason, where network namespaces cannot be created."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    control.down()  # whatever lab a run of single files left up: the lab is single-user
    info = control.up(**up_options)
    try:
        yield LabState.load(control.default_plan()), info
    finally:
        control.down()
