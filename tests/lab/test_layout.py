"""Pure parts of the lab's layout beyond one IPv4 VIP on two nodes: the topology with more nodes,
the plan derived from a topology, what the fabric is told to do, and what the trials measure."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from lab import bench, cloud, topology, trial
from lab.fabric import holder_vnic, next_hop_vnic
from lab.network import setup_commands, vcn_rules
from lab.plan import LAB_V4, LAB_V6, Plan, load_plan, plan_for

TWO_NODE = json.loads(topology.topology_file("two-node").read_text())
MULTI = json.loads(topology.topology_file("multi").read_text())


def addresses(commands: list[list[str]]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for command in commands:
        for word in command:
            for part in word.replace(",", " ").replace("{", " ").replace("}", " ").split():
                try:
                    found.append(ipaddress.ip_network(part, strict=False))
                except ValueError:
                    continue
    return found


def test_the_default_layout_is_the_two_node_topologys() -> None:
    assert plan_for(Path("/run"), TWO_NODE, "two-node") == Plan(Path("/run"))


def test_three_nodes_on_the_two_node_topology_derive_a_third_instance_vnic_and_node_entry() -> None:
    three = topology.with_nodes(TWO_NODE, 3)
    names = [i["displayName"] for i in three["instances"]]
    assert names == ["node-a", "node-b", "node-c"]
    node_c = three["instances"][2]
    addresses_in_use = [v["privateIp"]["ipAddress"] for i in three["instances"] for v in i["vnics"]]
    addresses_in_use += [p["ipAddress"] for p in three["privateIps"]]
    assert len(set(addresses_in_use)) == len(addresses_in_use)  # node-c does not take the VIP's address
    assert len({i["id"] for i in three["instances"]}) == 3 and node_c["faultDomain"] == "FAULT-DOMAIN-3"
    for function in three["functions"]:
        nodes = json.loads(function["config"]["NODES"])
        assert [(n["name"], n["priority"]) for n in nodes] == [("node-a", 100), ("node-b", 90), ("node-c", 80)]
        assert nodes[2]["vnic_id"] == node_c["vnics"][0]["id"]
    bindings = three["iam"]["bindings"]
    assert bindings["local.node_names"] == names
    assert bindings['var.nodes["node-c"].instance_id'] == node_c["id"]
    assert TWO_NODE["instances"][2:] == []  # the file's topology itself is left alone

    plan = plan_for(Path("/run"), three, "two-node")
    assert [n.name for n in plan.nodes] == names
    assert plan.netns_names[-3:] == ("node-a", "node-b", "node-c")
    assert plan.peer(plan.node("node-a")).name == "node-b"  # the next priority takes over
    assert plan.peer(plan.node("node-b")).name == "node-a"


@pytest.mark.parametrize("count", [1, 10])
def test_fewer_nodes_than_the_topology_has_or_too_many_are_refused(count: int) -> None:
    with pytest.raises(ValueError, match="--nodes"):
        topology.with_nodes(TWO_NODE, count)


def test_the_saved_layout_is_what_later_commands_load(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, MULTI, "multi")
    assert load_plan(tmp_path) == Plan(tmp_path)  # nothing saved: the default
    plan.save()
    assert load_plan(tmp_path) == plan


def test_the_multi_layout_has_three_nodes_two_ipv4_vips_an_ipv6_vip_and_the_route_target_path() -> None:
    plan = plan_for(Path("/run"), MULTI, "multi")
    assert [(n.name, n.priority) for n in plan.nodes] == [("node-a", 100), ("node-b", 90), ("node-c", 80)]
    assert [(v.name, v.family) for v in plan.vips] == [("vip", 4), ("vip-2", 4), ("vip6", 6)]
    assert plan.vip == plan.vips[0].address
    for vip in plan.vips:
        assert ipaddress.ip_address(vip.address) in (LAB_V4 if vip.family == 4 else LAB_V6)
    assert all(n.ip6 and n.skip_source_dest_check for n in plan.nodes)
    assert plan.transit is not None and plan.transit.target == "vip-2"
    assert plan.transit.cloud_destination == "10.0.1.0/24"
    assert not ipaddress.ip_network(plan.transit.destination).overlaps(ipaddress.ip_network("198.18.1.0/24"))
    facts = cloud.facts(MULTI)
    assert set(facts.vip_ids) == {"vip", "vip-2", "vip6"} and facts.vip_ids["vip6"].startswith("ocid1.ipv6.")
    assert facts.route_table_id


@pytest.mark.parametrize("name", ["two-node", "multi"])
def test_every_address_the_lab_configures_is_a_lab_address(name: str) -> None:
    plan = plan_for(Path("/run"), json.loads(topology.topology_file(name).read_text()), name)
    found = [a for a in addresses(setup_commands(plan)) if not a.is_link_local]
    assert found
    for network in found:
        assert network.subnet_of(LAB_V4) if network.version == 4 else network.subnet_of(LAB_V6), network


def test_the_fabric_checks_source_and_destination_except_on_vnics_that_skip_it() -> None:
    two = Plan(Path("/run"))
    rules = [" ".join(c) for c in vcn_rules(two)]
    assert any("iifname to-node-a ip saddr != { 198.18.0.2, 198.18.0.4 } drop" in r for r in rules)
    assert any("oifname to-node-b ip daddr != { 198.18.0.3, 198.18.0.4 } drop" in r for r in rules)
    multi = plan_for(Path("/run"), MULTI, "multi")
    rules = [" ".join(c) for c in vcn_rules(multi)]
    assert not any("saddr !=" in r or "daddr !=" in r for r in rules)  # appliances: they forward
    assert sum("counter" in r for r in rules) == len(multi.nodes)  # what each node forwarded


def test_the_route_target_path_counts_from_the_first_answer_once_routed_through_the_new_holder() -> None:
    answers = [
        {"sent": 10.0, "done": 10.01, "node": "behind", "error": None},
        {"sent": 10.2, "done": 11.2, "node": None, "error": "TimeoutError"},
        {"sent": 11.0, "done": 11.5, "node": "behind", "error": None},  # sent before the route moved
        {"sent": 11.6, "done": 11.62, "node": "behind", "error": None},
    ]
    assert trial.summarise_path(answers, 10.1, 11.5) == (pytest.approx(1.52), 1)
    assert trial.summarise_path(answers, 10.1, None) == (None, 1)


def test_a_trial_targets_what_the_lab_has() -> None:
    two, multi = Plan(Path("/run")), plan_for(Path("/run"), MULTI, "multi")
    node_b = multi.node("node-b")
    command = trial.client_command(multi, "vip6", node_b, 5, 50)
    assert command[:4] == ["ip", "netns", "exec", multi.client_netns]
    assert multi.vips[2].address in command and command[-2:] == ["--until", "node-b"]
    assert multi.transit is not None
    command = trial.client_command(multi, "route-target", node_b, 5, 50)
    assert command[3] == multi.transit.client_netns and multi.transit.server_ip in command and "--until" not in command
    for target in ("vip6", "route-target"):
        with pytest.raises(trial.LabError, match="--topology multi"):
            trial.client_command(two, target, two.nodes[1], 5, 50)


def test_a_bench_run_of_some_methods_replaces_only_their_entries() -> None:
    previous = {"floor": {"p50": 0.6, "measured_at": "then"}, "fast_path": {"p50": 2.1, "measured_at": "then"}}
    now = {"fast_path_ipv6": {"p50": 1.9, "measured_at": "now"}, "fast_path": {"p50": 2.0, "measured_at": "now"}}
    assert bench.merged(previous, now) == {
        "floor": {"p50": 0.6, "measured_at": "then"},
        "fast_path_ipv6": {"p50": 1.9, "measured_at": "now"},
        "fast_path": {"p50": 2.0, "measured_at": "now"},
    }


def test_the_fabric_follows_ipv6_moves_and_the_route_rules_next_hop() -> None:
    six = "ocid1.ipv6.oc1.iad.vip6"
    assert holder_vnic({"resource_id": six, "operation": "UpdateIpv6", "after": {"vnicId": "vnic-c"}}, six) == "vnic-c"
    hops = [{"destination": "10.0.1.0/24", "vnicId": "vnic-b"}, {"destination": "10.0.9.0/24", "vnicId": None}]
    assert next_hop_vnic(hops, "10.0.1.0/24") == "vnic-b"
    assert next_hop_vnic(hops, "10.0.2.0/24") is None


def test_with_three_nodes_the_trial_follows_whichever_node_answers_after_the_fault() -> None:
    victim = Plan(Path("/run")).nodes[0]
    answers = [
        {"sent": 9.9, "done": 10.0, "node": "node-a", "error": None},
        {"sent": 10.1, "done": 10.2, "node": "node-a", "error": None},  # the alias lingers a moment
        {"sent": 10.3, "done": 11.3, "node": None, "error": "TimeoutError"},
        {"sent": 11.5, "done": 11.6, "node": "node-c", "error": None},
    ]
    assert trial.next_holder(answers, 10.05, victim) == "node-c"
    assert trial.next_holder(answers[:3], 10.05, victim) is None
