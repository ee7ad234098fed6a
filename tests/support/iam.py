"""Helpers for the IAM tests: the two-node topology with IAM switched on (the policies in
terraform/modules/controller/iam.tf, bound to the topology's OCIDs), plus node-c, an instance in the same subnet but
another compartment that no deployed policy covers, and a second function in the compartment.
Principals are the real SDK signers: the function's resource principal (RPST files) and a
node's instance principal (IMDS + X.509 federation)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import oci
import pytest

from ocisim import Emulator
from tests.support.topology import two_node

OTHER_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaaothercompartmentnotcoveredbyanypolicy000000000"
OTHER_FUNCTION = "ocid1.fnfunc.oc1.iad.aaaaaaaaotherfunctioninthesamecompartment0000000000000000"
# Nothing listens on the discard port: the function's health probes are refused at once, on loopback.
REFUSED_HEALTH_URL = "http://127.0.0.1:9/healthz"


def iam_topology() -> dict[str, Any]:
    """two-node.json with its IAM section enabled, node-c elsewhere, and a second function."""
    topology = two_node()
    topology["iam"]["enabled"] = True
    node_c = json.loads(
        json.dumps(topology["instances"][1])
        .replace("node-b", "node-c")
        .replace("10.0.0.3", "10.0.0.5")
        .replace("aaaaaaaav", "aaaaaaac")
    )
    node_c["compartmentId"] = OTHER_COMPARTMENT
    node_c["vnics"][0]["macAddress"] = "02:00:17:00:00:05"
    topology["compartments"].append({"id": OTHER_COMPARTMENT, "name": "elsewhere"})
    topology["instances"].append(node_c)
    topology["functions"].append(dict(topology["functions"][0], name="other-function", id=OTHER_FUNCTION))
    return topology


@dataclass(frozen=True)
class Ids:
    compartment: str
    vip: str
    vnic_a: str
    vnic_b: str
    vnic_c: str
    instance_a: str
    function: str


def start(tmp_path: Path, **options: Any) -> Emulator:
    """Written to a temp dir: the relative terraform_dir still means the repository's terraform/."""
    path = tmp_path / "iam-topology.json"
    path.write_text(json.dumps(iam_topology()))
    return Emulator.start(topology=path, state=None, **options)


def node_signer(emu: Emulator, node: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`node`'s instance principal through the emulator's metadata service and federation."""
    monkeypatch.setenv("OCI_METADATA_BASE_URL", f"{emu.endpoint}/imds/{node}/opc/v2")
    return oci.auth.signers.InstancePrincipalsSecurityTokenSigner(federation_endpoint=f"{emu.endpoint}/v1/x509")


def clients(emu: Emulator, signer: Any) -> tuple[Any, Any]:
    """VirtualNetworkClient and ComputeClient signed by `signer`, on the emulator."""
    config = {"region": emu.region}
    return (
        oci.core.VirtualNetworkClient(config, signer=signer, service_endpoint=emu.endpoint),
        oci.core.ComputeClient(config, signer=signer, service_endpoint=emu.endpoint),
    )
