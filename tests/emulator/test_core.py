"""Core networking behaviour through VirtualNetworkClient / ComputeClient, as OCI behaves."""

from __future__ import annotations

import json

import oci
import pytest

from ocisim import Emulator
from tests.support.clients import move
from tests.support.topology import Topology, add_node_in_another_subnet, two_node


def service_error(call, *args, **kwargs) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_move_changes_the_vnic_the_etag_and_is_audited(emulator: Emulator, net, topo: Topology) -> None:
    got = net.get_private_ip(topo.vip_id)
    assert got.data.vnic_id == topo.vnic_a and got.data.ip_address == "10.0.0.4"
    assert got.headers["etag"] and got.headers["opc-request-id"]

    moved = move(net, topo.vip_id, topo.vnic_b, got.headers["etag"])

    # As a recorded real move answers: no vnicId yet, an etag no GET shows; the GET is final.
    assert moved.status == 200 and moved.data.vnic_id is None
    after = net.get_private_ip(topo.vip_id)
    assert moved.headers["etag"] not in (got.headers["etag"], after.headers["etag"])
    assert after.data.vnic_id == topo.vnic_b
    [entry] = emulator.audit()
    assert entry["operation"] == "UpdatePrivateIp" and entry["resource_id"] == topo.vip_id
    assert (entry["before"]["vnicId"], entry["after"]["vnicId"]) == (topo.vnic_a, topo.vnic_b)
    assert entry["principal"]["kind"] == "user"
    assert entry["opc_request_id"] == moved.headers["opc-request-id"]


def test_stale_etag_is_refused_with_412_and_changes_nothing(emulator: Emulator, net, topo: Topology) -> None:
    stale = net.get_private_ip(topo.vip_id).headers["etag"]
    move(net, topo.vip_id, topo.vnic_b, stale)

    error = service_error(move, net, topo.vip_id, topo.vnic_a, stale)

    assert (error.status, error.code) == (412, "NoEtagMatch")
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_b
    assert len(emulator.audit()) == 1


def test_cross_subnet_move_is_refused(tmp_path, topo: Topology) -> None:
    """A third node in another subnet: the VIP may not go there (400 InvalidParameter)."""
    data = two_node()
    node_c = add_node_in_another_subnet(
        data,
        data["instances"][1],
        {"node-b": "node-c", "10.0.0.3": "10.0.0.130", "aaaaaaaa": "cccccccc"},
        cidrBlock="10.0.0.128/25",
    )
    path = tmp_path / "three-node.json"
    path.write_text(json.dumps(data))
    with Emulator.start(topology=path) as emu:
        net = oci.core.VirtualNetworkClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
        error = service_error(move, net, topo.vip_id, node_c["vnics"][0]["id"])
        assert (error.status, error.code) == (400, "InvalidParameter")
        assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_a
        assert emu.audit() == []


def test_primary_private_ip_cannot_be_moved(net, topo: Topology) -> None:
    error = service_error(move, net, topo.primary_a, topo.vnic_b)
    assert (error.status, error.code) == (400, "InvalidParameter")
    assert net.get_private_ip(topo.primary_a).data.vnic_id == topo.vnic_a


def test_unknown_ids_in_the_path_are_404_and_in_the_body_400_as_in_oci_error_table(net, topo: Topology) -> None:
    missing = topo.vip_id[:-4] + "zzzz"
    error = service_error(net.get_private_ip, missing)
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")

    error = service_error(move, net, topo.vip_id, topo.vnic_b[:-4] + "zzzz")

    assert (error.status, error.code) == (400, "RelatedResourceNotAuthorizedOrNotFound")
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_a


def test_reserved_public_ip_follows_its_private_ip(net, topo: Topology) -> None:
    by_private = oci.core.models.GetPublicIpByPrivateIpIdDetails(private_ip_id=topo.vip_id)
    before = net.get_public_ip_by_private_ip_id(by_private).data
    assert (before.id, before.lifetime, before.ip_address) == (topo.public_ip_id, "RESERVED", topo.public_ip_address)

    move(net, topo.vip_id, topo.vnic_b)

    after = net.get_public_ip_by_private_ip_id(by_private).data
    assert (after.id, after.private_ip_id, after.lifecycle_state) == (topo.public_ip_id, topo.vip_id, "ASSIGNED")
    by_address = oci.core.models.GetPublicIpByIpAddressDetails(ip_address=topo.public_ip_address)
    holder = net.get_private_ip(net.get_public_ip_by_ip_address(by_address).data.private_ip_id).data
    assert holder.vnic_id == topo.vnic_b
    assert net.get_public_ip(topo.public_ip_id).data.assigned_entity_id == topo.vip_id


def test_list_private_ips_by_vnic_and_by_subnet_and_address_with_pagination(net, topo: Topology) -> None:
    on_a = net.list_private_ips(vnic_id=topo.vnic_a).data
    assert sorted(p.ip_address for p in on_a) == ["10.0.0.2", "10.0.0.4"]
    [found] = net.list_private_ips(subnet_id=topo.subnet_id, ip_address="10.0.0.4").data
    assert found.id == topo.vip_id

    first = net.list_private_ips(subnet_id=topo.subnet_id, limit=1)
    assert len(first.data) == 1 and first.has_next_page
    everything = oci.pagination.list_call_get_all_results(net.list_private_ips, subnet_id=topo.subnet_id, limit=1)
    assert [p.ip_address for p in everything.data] == ["10.0.0.2", "10.0.0.3", "10.0.0.4"]

    error = service_error(net.list_private_ips)
    assert (error.status, error.code) == (400, "InvalidParameter")


def test_vnic_attachments_instance_and_vnic(emulator: Emulator, net, compute, topo: Topology) -> None:
    [attachment] = compute.list_vnic_attachments(emulator.compartment_id, instance_id=topo.instance_b).data
    assert (attachment.vnic_id, attachment.lifecycle_state) == (topo.vnic_b, "ATTACHED")
    assert len(compute.list_vnic_attachments(emulator.compartment_id).data) == 2

    instance = compute.get_instance(topo.instance_b).data
    assert (instance.display_name, instance.fault_domain, instance.lifecycle_state) == (
        "node-b",
        "FAULT-DOMAIN-2",
        "RUNNING",
    )

    vnic = net.get_vnic(topo.vnic_a).data
    assert (vnic.private_ip, vnic.is_primary, vnic.lifecycle_state) == ("10.0.0.2", True, "AVAILABLE")
    assert vnic.mac_address and vnic.subnet_id == topo.subnet_id
