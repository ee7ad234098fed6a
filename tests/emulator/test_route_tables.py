"""Route tables through the real SDK, and the effective next hop of a rule whose target is a
private IP (the network-appliance pattern): it follows the IP's moves, as the admin API shows."""

from __future__ import annotations

import json
from pathlib import Path

import oci
import pytest
import requests

from ocisim import Emulator
from tests.emulator.test_core import service_error
from tests.support.clients import move
from tests.support.topology import MULTI_TOPOLOGY, Multi, two_node


def next_hops(emulator: Emulator, route_table: str) -> list[dict[str, object]]:
    answer = requests.get(f"{emulator.endpoint}/_sim/route-tables/{route_table}/next-hops", timeout=5)
    answer.raise_for_status()
    return answer.json()


def test_get_route_table_shows_the_rule_targeting_vip_2(multi_net, multi: Multi) -> None:
    got = multi_net.get_route_table(multi.route_table)

    assert isinstance(got.data, oci.core.models.RouteTable)
    assert (got.data.display_name, got.data.vcn_id, got.data.lifecycle_state) == (
        "via-appliance",
        multi.vcn,
        "AVAILABLE",
    )
    [rule] = got.data.route_rules
    assert (rule.destination, rule.destination_type, rule.network_entity_id) == (
        "10.0.1.0/24",
        "CIDR_BLOCK",
        multi.private_ips["vip-2"],
    )
    assert got.headers["etag"]


def test_list_route_tables_by_compartment_and_vcn(multi_net, multi: Multi) -> None:
    assert [t.id for t in multi_net.list_route_tables(multi.compartment).data] == [multi.route_table]
    assert [t.id for t in multi_net.list_route_tables(multi.compartment, vcn_id=multi.vcn).data] == [multi.route_table]
    assert multi_net.list_route_tables(multi.compartment, display_name="elsewhere").data == []
    error = service_error(multi_net.list_route_tables, multi.compartment, vcn_id=multi.vcn[:-4] + "zzzz")
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")


def test_an_unknown_route_table_is_404(multi_net, multi: Multi) -> None:
    error = service_error(multi_net.get_route_table, multi.route_table[:-4] + "zzzz")
    assert (error.status, error.code) == (404, "NotAuthorizedOrNotFound")


def test_the_next_hop_follows_the_target_private_ip_when_it_moves(
    multi_emulator: Emulator, multi_net, multi: Multi
) -> None:
    [hop] = next_hops(multi_emulator, multi.route_table)
    assert (hop["destination"], hop["privateIpId"], hop["ipAddress"]) == (
        "10.0.1.0/24",
        multi.private_ips["vip-2"],
        "10.0.0.5",
    )
    assert (hop["vnicId"], hop["instanceName"], hop["skipSourceDestCheck"]) == (multi.vnics["node-a"], "node-a", True)

    move(multi_net, multi.private_ips["vip-2"], multi.vnics["node-c"])

    [hop] = next_hops(multi_emulator, multi.route_table)
    assert (hop["vnicId"], hop["instanceId"], hop["instanceName"]) == (
        multi.vnics["node-c"],
        multi.instances["node-c"],
        "node-c",
    )
    # the table itself did not change: the route follows the IP
    assert (
        multi_net.get_route_table(multi.route_table).data.route_rules[0].network_entity_id == multi.private_ips["vip-2"]
    )


def test_next_hops_of_an_unknown_table_are_404(multi_emulator: Emulator, multi: Multi) -> None:
    answer = requests.get(f"{multi_emulator.endpoint}/_sim/route-tables/{multi.route_table}x/next-hops", timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (404, "NotAuthorizedOrNotFound")


def test_a_route_target_cannot_be_deleted(multi_emulator: Emulator, multi_net, multi: Multi) -> None:
    error = service_error(multi_net.delete_private_ip, multi.private_ips["vip-2"])
    assert (error.status, error.code) == (409, "Conflict")
    assert multi_net.get_private_ip(multi.private_ips["vip-2"]).data.vnic_id == multi.vnics["node-a"]


def test_vnics_show_skip_source_dest_check_from_the_topology(multi_net, net, multi: Multi, topo) -> None:
    assert all(multi_net.get_vnic(vnic).data.skip_source_dest_check for vnic in multi.vnics.values())
    assert net.get_vnic(topo.vnic_a).data.skip_source_dest_check is False


def test_the_subnet_carries_its_route_table(multi_emulator: Emulator, multi: Multi) -> None:
    state = requests.get(f"{multi_emulator.endpoint}/_admin/state", timeout=5).json()
    assert state["services"]["core"]["subnets"][multi.subnet]["routeTableId"] == multi.route_table


@pytest.mark.parametrize("breakage", ["target-checks-source", "unknown-target", "subnet-table-unknown"])
def test_a_topology_breaking_the_route_invariants_is_refused_at_start(tmp_path: Path, breakage: str) -> None:
    data = two_node(MULTI_TOPOLOGY)
    if breakage == "target-checks-source":  # OCI refuses a private-IP target on such a VNIC
        data["instances"][0]["vnics"][0]["skipSourceDestCheck"] = False
    elif breakage == "unknown-target":
        data["routeTables"][0]["routeRules"][0]["networkEntityId"] = "ocid1.privateip.oc1.iad.aaaaaaaanothere"
    else:
        data["subnets"][0]["routeTableId"] = "ocid1.routetable.oc1.iad.aaaaaaaanothere"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))

    with pytest.raises(ValueError, match="route table|routeTableId"):
        Emulator.start(topology=path)
