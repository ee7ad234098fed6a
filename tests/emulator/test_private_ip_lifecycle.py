"""CreatePrivateIp and DeletePrivateIp with OCI's rules, through VirtualNetworkClient."""

from __future__ import annotations

import oci
import pytest

from ocisim import Emulator
from tests.support.topology import Topology


def create(net: oci.core.VirtualNetworkClient, vnic_id: str, address: str | None = None) -> oci.core.models.PrivateIp:
    return net.create_private_ip(oci.core.models.CreatePrivateIpDetails(vnic_id=vnic_id, ip_address=address)).data


def refused(call, *args) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        call(*args)
    return caught.value


def test_without_an_address_the_lowest_free_one_is_taken(net, topo: Topology) -> None:
    first = create(net, topo.vnic_b)
    second = create(net, topo.vnic_b)

    # 10.0.0.1 is the virtual router's, .2-.4 are taken
    assert (first.ip_address, second.ip_address) == ("10.0.0.5", "10.0.0.6")
    assert (first.is_primary, first.subnet_id, first.vnic_id) == (False, topo.subnet_id, topo.vnic_b)
    assert net.get_private_ip(first.id).data.ip_address == "10.0.0.5"


@pytest.mark.parametrize(
    ("address", "status", "code"),
    [
        ("10.0.0.200", 400, "InvalidParameter"),  # outside 10.0.0.0/25
        ("10.0.0.0", 400, "InvalidParameter"),  # the network address
        ("10.0.0.1", 400, "InvalidParameter"),  # the virtual router
        ("10.0.0.127", 400, "InvalidParameter"),  # the broadcast address
        ("not-an-ip", 400, "InvalidParameter"),
        ("10.0.0.4", 409, "Conflict"),  # the VIP, already assigned
    ],
)
def test_an_address_outside_the_subnet_reserved_or_taken_is_refused(
    emulator: Emulator, net, topo: Topology, address: str, status: int, code: str
) -> None:
    error = refused(create, net, topo.vnic_b, address)

    assert (error.status, error.code) == (status, code)
    assert sorted(p.ip_address for p in net.list_private_ips(vnic_id=topo.vnic_b).data) == ["10.0.0.3"]
    assert emulator.audit() == []


def test_an_unknown_vnic_in_the_body_is_400_related_resource(net, topo: Topology) -> None:
    error = refused(create, net, topo.vnic_b[:-4] + "zzzz", "10.0.0.30")
    assert (error.status, error.code) == (400, "RelatedResourceNotAuthorizedOrNotFound")


def test_a_vnic_holds_at_most_32_secondary_ips(net, topo: Topology) -> None:
    for _ in range(32):
        create(net, topo.vnic_b)

    error = refused(create, net, topo.vnic_b)

    assert (error.status, error.code) == (400, "LimitExceeded")
    assert len(net.list_private_ips(vnic_id=topo.vnic_b, limit=100).data) == 33  # the primary + 32
    error = refused(net.update_private_ip, topo.vip_id, oci.core.models.UpdatePrivateIpDetails(vnic_id=topo.vnic_b))
    assert (error.status, error.code) == (400, "LimitExceeded")


def test_delete_frees_the_address_and_leaves_the_reserved_public_ip_available(
    emulator: Emulator, net, topo: Topology
) -> None:
    etag = net.get_private_ip(topo.vip_id).headers["etag"]

    net.delete_private_ip(topo.vip_id, if_match=etag)

    assert refused(net.get_private_ip, topo.vip_id).status == 404
    public = net.get_public_ip(topo.public_ip_id).data
    assert (public.lifecycle_state, public.private_ip_id, public.assigned_entity_id) == ("AVAILABLE", None, None)
    assert create(net, topo.vnic_b, topo.vip_address).ip_address == topo.vip_address
    [deleted, created] = emulator.audit()
    assert (deleted["operation"], deleted["after"], deleted["before"]["ipAddress"]) == (
        "DeletePrivateIp",
        None,
        topo.vip_address,
    )
    assert created["operation"] == "CreatePrivateIp"


def test_delete_refuses_a_primary_ip_and_a_stale_etag(emulator: Emulator, net, topo: Topology) -> None:
    error = refused(net.delete_private_ip, topo.primary_a)
    assert (error.status, error.code) == (400, "InvalidParameter")

    error = refused(lambda: net.delete_private_ip(topo.vip_id, if_match="stale"))

    assert (error.status, error.code) == (412, "NoEtagMatch")
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_a
    assert emulator.audit() == []


def test_get_vnic_attachment_and_the_full_instance(compute, topo: Topology) -> None:
    [attachment] = compute.list_vnic_attachments(
        compartment_id=compute.get_instance(topo.instance_a).data.compartment_id, instance_id=topo.instance_a
    ).data

    got = compute.get_vnic_attachment(attachment.id)

    assert (got.data.vnic_id, got.data.lifecycle_state) == (topo.vnic_a, "ATTACHED") and got.headers["etag"]
    instance = compute.get_instance(topo.instance_a).data
    assert instance.source_details.source_type == "image" and instance.image_id == instance.source_details.image_id
    assert instance.shape_config.ocpus == 1.0 and instance.launch_mode == "PARAVIRTUALIZED"
