"""The Ipv6 API through the real SDK (VirtualNetworkClient, signed, over HTTP), on multi.json's
dual-stack subnet: reads, moves with if-match, creation and deletion, OCI's errors, faults."""

from __future__ import annotations

import json
from pathlib import Path

import oci
import pytest

from ocisim import Emulator
from tests.emulator.test_core import service_error
from tests.support.topology import MULTI_TOPOLOGY, Multi, add_node_in_another_subnet, two_node

NO_RETRY = oci.retry.NoneRetryStrategy()


def move6(net: oci.core.VirtualNetworkClient, ipv6_id: str, vnic_id: str, etag: str | None = None):
    return net.update_ipv6(
        ipv6_id, oci.core.models.UpdateIpv6Details(vnic_id=vnic_id), if_match=etag, retry_strategy=NO_RETRY
    )


def test_get_ipv6_answers_the_sdk_model_with_an_etag(multi_net, multi: Multi) -> None:
    got = multi_net.get_ipv6(multi.vip6)

    assert isinstance(got.data, oci.core.models.Ipv6)
    assert (got.data.ip_address, got.data.vnic_id, got.data.subnet_id) == (
        multi.vip6_address,
        multi.vnics["node-a"],
        multi.subnet,
    )
    assert (got.data.lifecycle_state, got.data.ip_state, got.data.lifetime) == ("AVAILABLE", "ASSIGNED", "EPHEMERAL")
    assert got.data.display_name == "vip6"
    assert got.headers["etag"] and got.headers["opc-request-id"]


def test_list_ipv6s_by_vnic_by_subnet_and_by_subnet_and_address(multi_net, multi: Multi) -> None:
    by_vnic = multi_net.list_ipv6s(vnic_id=multi.vnics["node-a"]).data
    by_subnet = multi_net.list_ipv6s(subnet_id=multi.subnet).data
    # the address in its long form still finds the one written compressed
    by_address = multi_net.list_ipv6s(subnet_id=multi.subnet, ip_address="fd00:10:0:1:0:0:0:4").data

    assert [i.id for i in by_vnic] == [i.id for i in by_subnet] == [i.id for i in by_address] == [multi.vip6]
    assert multi_net.list_ipv6s(vnic_id=multi.vnics["node-b"]).data == []
    assert multi_net.list_ipv6s(subnet_id=multi.subnet, ip_address="fd00:10:0:1::99").data == []


@pytest.mark.parametrize(
    "query", [{}, {"ip_address": "fd00:10:0:1::4"}, {"vnic_id": "VNIC", "ip_address": "fd00:10:0:1::4"}]
)
def test_list_ipv6s_needs_a_vnic_or_a_subnet_and_an_address_needs_the_subnet(
    multi_net, multi: Multi, query: dict[str, str]
) -> None:
    query = {k: multi.vnics["node-a"] if v == "VNIC" else v for k, v in query.items()}
    error = service_error(multi_net.list_ipv6s, **query)
    assert (error.status, error.code) == (400, "InvalidParameter")


def test_list_ipv6s_of_an_unknown_vnic_is_404(multi_net, multi: Multi) -> None:
    error = service_error(multi_net.list_ipv6s, vnic_id=multi.vnics["node-a"][:-4] + "zzzz")
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")


def test_a_move_changes_the_vnic_the_etag_and_the_vnics_addresses_and_is_audited(
    multi_emulator: Emulator, multi_net, multi: Multi
) -> None:
    before = multi_net.get_ipv6(multi.vip6)

    moved = move6(multi_net, multi.vip6, multi.vnics["node-b"], before.headers["etag"])

    after = multi_net.get_ipv6(multi.vip6)
    assert moved.data.vnic_id == after.data.vnic_id == multi.vnics["node-b"]
    assert after.headers["etag"] != before.headers["etag"]
    assert multi_net.get_vnic(multi.vnics["node-a"]).data.ipv6_addresses == []
    assert multi_net.get_vnic(multi.vnics["node-b"]).data.ipv6_addresses == [multi.vip6_address]
    [entry] = multi_emulator.audit()
    assert (entry["operation"], entry["resource_id"]) == ("UpdateIpv6", multi.vip6)
    assert (entry["before"]["vnicId"], entry["after"]["vnicId"]) == (multi.vnics["node-a"], multi.vnics["node-b"])


def test_a_stale_etag_is_412_and_changes_nothing(multi_emulator: Emulator, multi_net, multi: Multi) -> None:
    stale = multi_net.get_ipv6(multi.vip6).headers["etag"]
    move6(multi_net, multi.vip6, multi.vnics["node-b"], stale)

    error = service_error(move6, multi_net, multi.vip6, multi.vnics["node-c"], stale)

    assert (error.status, error.code) == (412, "NoEtagMatch")
    assert multi_net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-b"]
    assert len(multi_emulator.audit()) == 1


def test_renaming_and_tagging_keep_the_vnic_and_change_the_etag(multi_net, multi: Multi) -> None:
    etag = multi_net.get_ipv6(multi.vip6).headers["etag"]

    multi_net.update_ipv6(
        multi.vip6,
        oci.core.models.UpdateIpv6Details(display_name="vip6-renamed", freeform_tags={"role": "vip"}),
        if_match=etag,
    )

    got = multi_net.get_ipv6(multi.vip6)
    assert (got.data.display_name, got.data.freeform_tags) == ("vip6-renamed", {"role": "vip"})
    assert got.data.vnic_id == multi.vnics["node-a"] and got.headers["etag"] != etag


def test_an_unknown_vnic_in_the_body_is_400_related_resource(multi_net, multi: Multi) -> None:
    error = service_error(move6, multi_net, multi.vip6, multi.vnics["node-b"][:-4] + "zzzz")
    assert (error.status, error.code) == (400, "RelatedResourceNotAuthorizedOrNotFound")
    assert multi_net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-a"]


def test_a_move_to_a_vnic_in_another_subnet_is_refused(tmp_path: Path, multi: Multi) -> None:
    """node-d in a second dual-stack subnet of the VCN: the IPv6 VIP may not go there."""
    data = two_node(MULTI_TOPOLOGY)
    node_d = add_node_in_another_subnet(
        data,
        data["instances"][2],
        {"node-c": "node-d", "10.0.0.6": "10.0.0.130", "aaaaaaaanodec": "aaaaaaaanoded"},
        cidrBlock="10.0.0.128/25",
        virtualRouterIp="10.0.0.129",
        ipv6CidrBlocks=["fd00:10:0:2::/64"],
        ipv6VirtualRouterIp="fd00:10:0:2::1",
    )
    path = tmp_path / "four-node.json"
    path.write_text(json.dumps(data))
    with Emulator.start(topology=path) as emu:
        net = oci.core.VirtualNetworkClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
        error = service_error(move6, net, multi.vip6, node_d["vnics"][0]["id"])
        assert (error.status, error.code) == (400, "InvalidParameter")
        assert "cannot be moved" in error.message
        assert net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-a"]
        assert emu.audit() == []


def test_create_takes_a_free_address_of_the_prefix_and_delete_frees_it(
    multi_emulator: Emulator, multi_net, multi: Multi
) -> None:
    details = oci.core.models.CreateIpv6Details(vnic_id=multi.vnics["node-b"], display_name="extra")

    created = multi_net.create_ipv6(details).data

    assert created.id.startswith("ocid1.ipv6.oc1.iad.") and created.vnic_id == multi.vnics["node-b"]
    assert created.ip_address == "fd00:10:0:1::2"  # ::1 is the virtual router, ::4 is vip6
    assert created.subnet_id == multi.subnet and created.display_name == "extra"
    etag = multi_net.get_ipv6(created.id).headers["etag"]
    error = service_error(multi_net.delete_ipv6, created.id, if_match="stale")
    assert (error.status, error.code) == (412, "NoEtagMatch")

    assert multi_net.delete_ipv6(created.id, if_match=etag).status == 204

    error = service_error(multi_net.get_ipv6, created.id)
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")
    assert [e["operation"] for e in multi_emulator.audit()] == ["CreateIpv6", "DeleteIpv6"]


@pytest.mark.parametrize(
    ("address", "status", "code"),
    [
        ("fd00:10:0:1::4", 409, "Conflict"),  # vip6 holds it
        ("fd00:10:0:2::4", 400, "InvalidParameter"),  # outside the subnet's prefix
        ("fd00:10:0:1::1", 400, "InvalidParameter"),  # the virtual router's
        ("10.0.0.9", 400, "InvalidParameter"),  # not IPv6
    ],
)
def test_create_refuses_an_address_taken_outside_the_prefix_or_reserved(
    multi_emulator: Emulator, multi_net, multi: Multi, address: str, status: int, code: str
) -> None:
    details = oci.core.models.CreateIpv6Details(vnic_id=multi.vnics["node-b"], ip_address=address)
    error = service_error(multi_net.create_ipv6, details)
    assert (error.status, error.code) == (status, code)
    assert multi_net.list_ipv6s(subnet_id=multi.subnet).data[0].id == multi.vip6
    assert multi_emulator.audit() == []


def test_create_on_an_ipv4_only_subnet_is_refused(emulator: Emulator, net, topo) -> None:
    error = service_error(net.create_ipv6, oci.core.models.CreateIpv6Details(vnic_id=topo.vnic_b))
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert "not dual-stack" in error.message


@pytest.mark.parametrize(
    "details",
    [
        {"vnicId": 7},
        {"lifetime": "RESERVED"},
        {"routeTableId": "ocid1.routetable.oc1.iad.aaaa"},
        {"colour": "blue"},
    ],
)
def test_update_refuses_malformed_or_not_emulated_fields(
    multi_emulator: Emulator, multi_net, multi: Multi, details: dict[str, object]
) -> None:
    """The SDK sends a plain dict as it is: a body no model would build."""
    error = service_error(multi_net.update_ipv6, multi.vip6, details)

    assert (error.status, error.code) == (400, "InvalidParameter")
    assert multi_emulator.audit() == []


def test_injected_faults_apply_to_the_ipv6_routes(multi_emulator: Emulator, multi_net, multi: Multi) -> None:
    multi_emulator.inject_fault("UpdateIpv6", status=429)

    error = service_error(move6, multi_net, multi.vip6, multi.vnics["node-b"])

    assert (error.status, error.code) == (429, "TooManyRequests")
    assert multi_net.get_ipv6(multi.vip6).data.vnic_id == multi.vnics["node-a"]
    assert move6(multi_net, multi.vip6, multi.vnics["node-b"]).data.vnic_id == multi.vnics["node-b"]


def test_a_move_survives_a_restart(tmp_path: Path, multi: Multi) -> None:
    state = tmp_path / "state.json"
    with Emulator.start(topology=MULTI_TOPOLOGY, state=state) as emu:
        net = oci.core.VirtualNetworkClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
        move6(net, multi.vip6, multi.vnics["node-c"])
        etag = net.get_ipv6(multi.vip6).headers["etag"]
    with Emulator.start(topology=MULTI_TOPOLOGY, state=state) as emu:
        net = oci.core.VirtualNetworkClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
        got = net.get_ipv6(multi.vip6)
        assert (got.data.vnic_id, got.headers["etag"]) == (multi.vnics["node-c"], etag)
