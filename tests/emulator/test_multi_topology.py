"""ocisim/topologies/multi.json served as a user serves it (`python -m ocisim serve ... --function-dir .`):
three nodes, two IPv4 VIPs with reserved public IPs, one IPv6 VIP, a route rule to vip-2 whose next hop
follows vip-2, and the functions configured for all of them."""

from __future__ import annotations

import json
from pathlib import Path

import oci
import requests

from tests.support.clients import move
from tests.support.emulator_process import client, serve, stop
from tests.support.paths import REPO
from tests.support.topology import MULTI_TOPOLOGY, Multi


def test_multi_serves_three_nodes_two_vips_with_public_ips_one_ipv6_and_a_route_following_vip_2(
    tmp_path: Path, multi: Multi
) -> None:
    with serve(
        "--topology",
        str(MULTI_TOPOLOGY),
        "--state",
        str(tmp_path / "state.json"),
        "--port",
        "0",
        "--function-dir",
        str(REPO),
    ) as (process, ready):
        net = client(ready)
        config = oci.config.from_file(ready["oci_config_file"], ready["oci_profile"])
        compute = oci.core.ComputeClient(config, service_endpoint=ready["endpoint"])
        functions = oci.functions.FunctionsManagementClient(config, service_endpoint=ready["endpoint"])

        attachments = compute.list_vnic_attachments(ready["compartment_id"]).data
        names = sorted(compute.get_instance(a.instance_id).data.display_name for a in attachments)
        assert names == ["node-a", "node-b", "node-c"]
        assert sorted(compute.get_instance(a.instance_id).data.fault_domain for a in attachments) == [
            "FAULT-DOMAIN-1",
            "FAULT-DOMAIN-2",
            "FAULT-DOMAIN-3",
        ]

        for name, public in (("vip", "203.0.113.10"), ("vip-2", "203.0.113.11")):
            private_ip_id = multi.private_ips[name]
            assert net.get_private_ip(private_ip_id).data.vnic_id == multi.vnics["node-a"]
            details = oci.core.models.GetPublicIpByPrivateIpIdDetails(private_ip_id=private_ip_id)
            assert net.get_public_ip_by_private_ip_id(details).data.ip_address == public == multi.public_ips[name]

        [vip6] = net.list_ipv6s(subnet_id=multi.subnet).data
        assert (vip6.id, vip6.ip_address, vip6.vnic_id) == (multi.vip6, "fd00:10:0:1::4", multi.vnics["node-a"])

        [rule] = net.get_route_table(multi.route_table).data.route_rules
        assert rule.network_entity_id == multi.private_ips["vip-2"]
        move(net, multi.private_ips["vip-2"], multi.vnics["node-b"])
        hops = requests.get(f"{ready['endpoint']}/_sim/route-tables/{multi.route_table}/next-hops", timeout=5).json()
        assert [(h["destination"], h["instanceName"]) for h in hops] == [("10.0.1.0/24", "node-b")]

        config_of = functions.get_function(ready["functions"]["vip-failover"]).data.config
        assert config_of["VIP_PRIVATE_IP_IDS"].split(",") == [multi.private_ips["vip"], multi.private_ips["vip-2"]]
        assert config_of["VIP_IPV6_IDS"] == multi.vip6
        assert json.loads(config_of["VIP_GROUPS"]) == [
            [multi.private_ips["vip"], multi.private_ips["vip-2"]],
            [multi.vip6],
        ]
        nodes = json.loads(config_of["NODES"])
        assert [(n["name"], n["vnic_id"], n["priority"]) for n in nodes] == [
            (name, multi.vnics[name], priority) for name, priority in (("node-a", 100), ("node-b", 90), ("node-c", 80))
        ]
        assert set(ready["functions"]) == {"vip-failover", "vip-failover-operator"}

        stdout, _stderr, took = stop(process)
    assert process.returncode == 0 and took < 5 and stdout == ""
