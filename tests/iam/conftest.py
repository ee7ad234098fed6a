"""Fixtures for the IAM tests (helpers in tests/support/iam.py): emulators with IAM on, and the
function's resource principal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from ocisim import Emulator
from tests.support.iam import REFUSED_HEALTH_URL, Ids, iam_topology, start
from tests.support.paths import REPO


@pytest.fixture
def ids() -> Ids:
    t = iam_topology()
    vnics = {i["displayName"]: i["vnics"][0]["id"] for i in t["instances"]}
    return Ids(
        compartment=t["compartments"][0]["id"],
        vip=t["privateIps"][0]["id"],
        vnic_a=vnics["node-a"],
        vnic_b=vnics["node-b"],
        vnic_c=vnics["node-c"],
        instance_a=t["instances"][0]["id"],
        function=t["functions"][0]["id"],
    )


@pytest.fixture
def iam_emulator(tmp_path: Path) -> Iterator[Emulator]:
    with start(tmp_path) as emu:
        yield emu


@pytest.fixture
def iam_function_emulator(tmp_path: Path) -> Iterator[Emulator]:
    """With this repository's function attached under fdk (its own resource principal); node-a's
    health port refuses (down), node-b is the emulator's simulated node (healthy)."""
    nodes = json.loads(iam_topology()["functions"][0]["config"]["NODES"])
    for node in nodes:
        if node["name"] == "node-a":
            node["health_url"] = REFUSED_HEALTH_URL
    config = {"NODES": json.dumps(nodes), "PROBE_TIMEOUT_SECONDS": "0.3"}
    with start(tmp_path, function_dir=REPO, function_config=config) as emu:
        yield emu


@pytest.fixture
def function_signer(iam_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The failover function's resource principal, as the Functions runtime hands it over."""
    for name, value in iam_emulator.resource_principal_env(
        iam_emulator.functions["vip-failover"], tmp_path / "rp"
    ).items():
        monkeypatch.setenv(name, value)
    return oci.auth.signers.get_resource_principals_signer()
