"""IAM on the Ipv6 and route-table operations, through the real SDK signers: UpdateIpv6 needs
IPV6_UPDATE and, to move, VNIC_UNASSIGN / VNIC_ASSIGN (as UpdatePrivateIp does); creating and
deleting need `manage ipv6s`; route tables `inspect route-tables`. And the policies terraform
deploys (terraform/modules/controller, bound by multi.json) keep being enforced on multi.json."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from ocisim import Emulator
from tests.support.iam import clients, node_signer
from tests.support.topology import MULTI_TOPOLOGY, Multi, two_node

POLICY_DIR = "tests/emulator/fixtures/ipv6-policy"


def refused(call: Callable[[], Any]) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (404, "NotAuthorizedOrNotFound")


def denied_permissions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.fields["permission"] for r in caplog.records if r.getMessage() == "authorization denied"]


def move6(net: Any, ipv6_id: str, vnic_id: str, etag: str | None = None) -> Any:
    return net.update_ipv6(ipv6_id, oci.core.models.UpdateIpv6Details(vnic_id=vnic_id), if_match=etag)


def start(tmp_path: Path, iam: dict[str, Any] | None = None) -> Emulator:
    topology = two_node(MULTI_TOPOLOGY)
    if iam is not None:
        topology["iam"] = iam
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(topology))
    return Emulator.start(topology=path, state=None)


@pytest.fixture
def policy_emulator(tmp_path: Path, multi: Multi) -> Iterator[Emulator]:
    """multi.json under the test policies of tests/emulator/fixtures/ipv6-policy."""
    topology = two_node(MULTI_TOPOLOGY)
    bindings = {
        "var.compartment_ocid": multi.compartment,
        "var.tenancy_ocid": topology["tenancy"]["id"],
        "oci_functions_function.failover.id": topology["functions"][0]["id"],
        "var.node_a_instance_id": multi.instances["node-a"],
    }
    with start(tmp_path, {"enabled": True, "terraform_dir": POLICY_DIR, "bindings": bindings}) as emu:
        yield emu


def function_net(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in emu.resource_principal_env(emu.functions["vip-failover"], tmp_path / "rp").items():
        monkeypatch.setenv(name, value)
    net, _ = clients(emu, oci.auth.signers.get_resource_principals_signer())
    return net


def test_the_function_reads_and_moves_the_ipv6_vip_and_reads_route_tables(
    policy_emulator: Emulator, multi: Multi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = function_net(policy_emulator, tmp_path, monkeypatch)
    etag = net.get_ipv6(multi.vip6).headers["etag"]
    assert [i.id for i in net.list_ipv6s(vnic_id=multi.vnics["node-a"]).data] == [multi.vip6]

    move6(net, multi.vip6, multi.vnics["node-c"], etag)

    assert net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-c"]
    assert net.get_route_table(multi.route_table).data.route_rules[0].network_entity_id == multi.private_ips["vip-2"]
    assert [t.id for t in net.list_route_tables(multi.compartment).data] == [multi.route_table]
    [entry] = policy_emulator.audit()
    assert (entry["operation"], entry["principal"]["kind"]) == ("UpdateIpv6", "resource")


def test_use_ipv6s_does_not_create_or_delete_addresses(
    policy_emulator: Emulator,
    multi: Multi,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = function_net(policy_emulator, tmp_path, monkeypatch)
    caplog.set_level(logging.WARNING, logger="ocisim")

    refused(lambda: net.create_ipv6(oci.core.models.CreateIpv6Details(vnic_id=multi.vnics["node-b"])))
    refused(lambda: net.delete_ipv6(multi.vip6))

    assert denied_permissions(caplog) == ["IPV6_CREATE", "IPV6_DELETE"]
    assert policy_emulator.audit() == []


def test_use_ipv6s_without_use_vnics_renames_but_cannot_move(
    policy_emulator: Emulator, multi: Multi, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    net, _ = clients(policy_emulator, node_signer(policy_emulator, "node-a", monkeypatch))
    caplog.set_level(logging.WARNING, logger="ocisim")

    net.update_ipv6(multi.vip6, oci.core.models.UpdateIpv6Details(display_name="vip6-renamed"))
    refused(lambda: move6(net, multi.vip6, multi.vnics["node-b"]))
    refused(lambda: net.get_route_table(multi.route_table))

    assert net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-a"]
    assert denied_permissions(caplog) == ["VNIC_UNASSIGN", "ROUTE_TABLE_READ"]
    assert [e["operation"] for e in policy_emulator.audit()] == ["UpdateIpv6"]


def test_the_deployed_policies_still_hold_on_multi(
    tmp_path: Path, multi: Multi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """terraform/modules/controller as multi.json binds it: the function moves vip-2 (and the route
    follows); a node's instance principal moves nothing, IPv4 or IPv6."""
    with start(tmp_path) as emu:
        assert emu.topology["iam"]["terraform_dir"] == "terraform/modules/controller"
        net = function_net(emu, tmp_path, monkeypatch)
        etag = net.get_private_ip(multi.private_ips["vip-2"]).headers["etag"]
        net.update_private_ip(
            multi.private_ips["vip-2"],
            oci.core.models.UpdatePrivateIpDetails(vnic_id=multi.vnics["node-b"]),
            if_match=etag,
        )
        assert net.get_private_ip(multi.private_ips["vip-2"]).data.vnic_id == multi.vnics["node-b"]

        node, _ = clients(emu, node_signer(emu, "node-c", monkeypatch))
        refused(lambda: move6(node, multi.vip6, multi.vnics["node-c"]))
        refused(
            lambda: node.update_private_ip(
                multi.private_ips["vip"], oci.core.models.UpdatePrivateIpDetails(vnic_id=multi.vnics["node-c"])
            )
        )
        assert [e["operation"] for e in emu.audit()] == ["UpdatePrivateIp"]
