"""The baselines sign as they do on OCI: the seed's script and ocivip's `oci` command move the
floating IP with a node's instance principal (the emulator's metadata service and federation
endpoint, by environment), under the grant each documents as the bench grants it, and are
refused under the deployed policies alone. Real SDK and real CLI over HTTP to the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest

from lab import bench, cloud, methods
from lab.plan import REPO
from ocisim import Emulator
from tests.support.topology import VIP_ID, VNICS, two_node

VIP_ADDRESS = "10.0.0.4"
OCI_CLI = Path(sys.executable).parent / "oci"


def start(tmp_path: Path, method: str | None) -> Emulator:
    """The two-node emulator with the IAM of `method`'s bench lab (None: the deployed policies)."""
    setup = bench.lab_setup(method).emulator if method else cloud.DEFAULT_SETUP
    iam_dir = tmp_path / "iam"
    cloud.iam_module(two_node(), setup, iam_dir)
    topology = tmp_path / "topology.json"
    topology.write_text(json.dumps(cloud.with_setup(two_node(), setup, iam_dir)))
    return Emulator.start(topology=topology)


@pytest.fixture
def granted(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Emulator]:
    with start(tmp_path, request.param) as emu:
        yield emu


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Emulator]:
    with start(tmp_path, None) as emu:
        yield emu


def node_b(emu: Emulator, home: Path) -> dict[str, str]:
    """node-b's environment as /etc/default/vip-failover gives it on a lab node."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "OCI_METADATA_BASE_URL": f"{emu.endpoint}/imds/node-b/opc/v2",
        "OCI_FEDERATION_ENDPOINT": f"{emu.endpoint}/v1/x509",
        "OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True",
    }


def move(method: str, emu: Emulator, home: Path) -> subprocess.CompletedProcess[str]:
    """`method`'s notify on node-b: the seed's script, or ocivip's command."""
    env = node_b(emu, home)
    if method == "seed_script":
        command = [sys.executable, "-m", "lab.seed_notify", emu.endpoint, VIP_ID, VNICS["node-b"]]
    else:
        arguments = methods.oci_cli_arguments(
            emu.endpoint, env["OCI_FEDERATION_ENDPOINT"], VNICS["node-b"], VIP_ADDRESS
        )
        command = [str(OCI_CLI), *arguments]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def holder(emu: Emulator) -> str:
    net = oci.core.VirtualNetworkClient(emu.oci_config(), service_endpoint=emu.endpoint)
    return str(net.get_private_ip(VIP_ID).data.vnic_id)


def moves(emu: Emulator) -> list[dict[str, object]]:
    """Who changed the floating IP (the emulator's audit)."""
    return [e["principal"] for e in emu.audit() if e["operation"] == "UpdatePrivateIp"]


@pytest.mark.parametrize("granted", ["seed_script", "oci_cli"], indirect=True)
def test_a_baseline_moves_the_ip_with_the_nodes_instance_principal_under_its_documented_grant(
    granted: Emulator, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    method = request.node.callspec.params["granted"]
    done = move(method, granted, tmp_path)
    assert done.returncode == 0, done.stderr
    assert holder(granted) == VNICS["node-b"]
    (mover,) = moves(granted)
    assert mover["kind"] == "instance" and mover["id"] == two_node()["instances"][1]["id"]


@pytest.mark.parametrize("method", ["seed_script", "oci_cli"])
def test_under_the_deployed_policies_alone_a_node_cannot_move_the_ip(
    deployed: Emulator, tmp_path: Path, method: str
) -> None:
    before = holder(deployed)
    done = move(method, deployed, tmp_path)
    assert done.returncode != 0
    assert "NotAuthorizedOrNotFound" in done.stdout + done.stderr
    assert holder(deployed) == before and moves(deployed) == []


def test_the_seed_script_refuses_to_run_without_the_emulators_endpoints(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lab.seed_notify", "http://127.0.0.1:9", VIP_ID, VNICS["node-b"]],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "OCI_METADATA_BASE_URL, OCI_FEDERATION_ENDPOINT not set" in done.stderr


def test_each_baselines_grant_is_the_one_it_documents() -> None:
    seed, cli = (methods.baseline_policy_tf(m) for m in ("seed_script", "oci_cli"))
    assert "to manage virtual-network-family ${local.compartment_scope}" in seed
    assert "to use virtual-network-family ${local.compartment_scope}" in cli
    assert methods.baseline_policy_tf("fast_path") == ""
