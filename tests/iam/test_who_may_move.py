"""Who may cause which move, proven through the emulator's IAM (the policies terraform deploys)
and the real SDK: a node's instance principal cannot cause a manual or forced move by any route,
and a member of the operators' group can (README, "Security")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from ocisim import Emulator
from ocisim.auth import fingerprint, new_private_key, private_pem
from tests.support.iam import Ids, clients, iam_topology, node_signer
from tests.support.paths import REPO

OPERATOR_USER = "ocid1.user.oc1..aaaaaaaaoperatorinthegroupforthefailovertests0000000000000000"
FORCED = json.dumps({"action": "failover", "to": "node-b", "force": True})


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """IAM on, the function attached (both deployments), and one user in the operators' group.
    Both nodes' health: the emulator's simulated nodes; node-b is set down, so a move to it can
    only be forced."""
    topology = iam_topology()
    group = topology["iam"]["bindings"]["var.operators_group_ocid"]
    topology["iam"]["group_members"] = {group: [OPERATOR_USER]}
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(topology))
    with Emulator.start(
        topology=path, state=None, function_dir=REPO, function_config={"PROBE_TIMEOUT_SECONDS": "0.5"}
    ) as started:
        started.set_node_health("node-b", False)
        yield started


def operator_config(emu: Emulator, tmp_path: Path) -> dict[str, Any]:
    """An API key for the operator user, registered with the emulator as OCI registers one."""
    key = new_private_key()
    emu.add_api_key(OPERATOR_USER, key.public_key())
    key_file = tmp_path / "operator.pem"
    key_file.write_text(private_pem(key))
    return {
        "user": OPERATOR_USER,
        "fingerprint": fingerprint(key.public_key()),
        "key_file": str(key_file),
        "tenancy": emu.tenancy_id,
        "region": emu.region,
    }


def writes(emu: Emulator) -> list[dict[str, Any]]:
    return [e for e in emu.audit() if e["operation"] == "UpdatePrivateIp"]


def invoker(emu: Emulator, **kwargs: Any) -> Any:
    config = kwargs.pop("config", {"region": emu.region})
    return oci.functions.FunctionsInvokeClient(config, service_endpoint=emu.endpoint, timeout=(5, 60), **kwargs)


def test_a_node_cannot_cause_a_manual_or_forced_move_by_any_route(
    emu: Emulator, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    signer = node_signer(emu, "node-a", monkeypatch)
    client = invoker(emu, signer=signer)
    # The events function, which the node may invoke, refuses the manual move in its answer.
    for body in (FORCED, json.dumps({"action": "failover"}), json.dumps({"action": "failback", "force": True})):
        answer = json.loads(client.invoke_function(emu.functions["vip-failover"], invoke_function_body=body).data.text)
        assert (answer["ok"], answer["error"], answer["decision"]) == (False, "not_permitted", "refused"), answer
    # The operators' function is refused by IAM before it runs.
    with pytest.raises(oci.exceptions.ServiceError) as denied:
        client.invoke_function(emu.functions["vip-failover-operator"], invoke_function_body=FORCED)
    assert (denied.value.status, denied.value.code) == (404, "NotAuthorizedOrNotFound")
    # And the Core API directly: no UpdatePrivateIp for a node.
    net, _ = clients(emu, signer)
    with pytest.raises(oci.exceptions.ServiceError) as direct:
        net.update_private_ip(ids.vip, oci.core.models.UpdatePrivateIpDetails(vnic_id=ids.vnic_b))
    assert direct.value.status == 404
    assert writes(emu) == []
    # What the fast path needs still works: status.
    status = json.loads(
        client.invoke_function(emu.functions["vip-failover"], invoke_function_body='{"action": "status"}').data.text
    )
    assert status["decision"] == "status"


def test_an_operator_can_force_a_move_through_the_operators_function(emu: Emulator, tmp_path: Path) -> None:
    client = invoker(emu, config=operator_config(emu, tmp_path))
    refused = json.loads(
        client.invoke_function(
            emu.functions["vip-failover-operator"],
            invoke_function_body=json.dumps({"action": "failover", "to": "node-b"}),
        ).data.text
    )
    assert refused["decision"] == "refused" and "node-b is down" in refused["reason"]
    forced = json.loads(
        client.invoke_function(emu.functions["vip-failover-operator"], invoke_function_body=FORCED).data.text
    )
    assert (forced["decision"], forced["to"], forced["forced"]) == ("moved", "node-b", True), forced
    [write] = writes(emu)
    assert write["principal"]["id"] == emu.functions["vip-failover-operator"]


def test_the_operator_is_restricted_to_the_groups_grants(emu: Emulator, ids: Ids, tmp_path: Path) -> None:
    """The group's statements are what the operator holds: the VIP's calls, not the instances."""
    config = operator_config(emu, tmp_path)
    net = oci.core.VirtualNetworkClient(config, service_endpoint=emu.endpoint)
    compute = oci.core.ComputeClient(config, service_endpoint=emu.endpoint)
    etag = net.get_private_ip(ids.vip).headers["etag"]
    net.update_private_ip(ids.vip, oci.core.models.UpdatePrivateIpDetails(vnic_id=ids.vnic_b), if_match=etag)
    assert net.get_private_ip(ids.vip).data.vnic_id == ids.vnic_b
    with pytest.raises(oci.exceptions.ServiceError) as denied:
        compute.get_instance(ids.instance_a)
    assert denied.value.status == 404
