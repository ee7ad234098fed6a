"""The lab tests run on the session's booted lab (tests/support/booted_lab.py): both nodes booted from
terraform's cloud-init once, shared with the lab chaos subset."""

from __future__ import annotations

import pytest

from lab.state import LabState
from tests.support.booted_lab import BootedLab


@pytest.fixture
def fast_path_lab(booted_lab: BootedLab) -> LabState:
    return booted_lab.state
