"""Pure parts of the lab: the topology it gives the emulator, the layout, and the measurements."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from lab import cloud
from lab.fabric import holder_vnic
from lab.network import setup_commands
from lab.outside_in import ALARM_ID, MONITOR_ID, terraform_settings
from lab.plan import Plan
from lab.trial import count_api_calls, summarise

PLAN = Plan(Path("/nonexistent"))
TOPOLOGY = json.loads(cloud.TOPOLOGY.read_text())


def test_lab_topology_points_the_function_at_the_lab_nodes_only() -> None:
    lab = cloud.lab_topology(PLAN, TOPOLOGY)
    nodes = json.loads(lab["functions"][0]["config"]["NODES"])
    # The node agent's endpoint (can serve the floating IP), not haproxy's monitor-uri on 8404.
    assert [n["health_url"] for n in nodes] == ["http://198.18.0.2:8405/healthz", "http://198.18.0.3:8405/healthz"]
    # The cloud-side data (10.0.0.x) is unchanged: the emulator still speaks the topology's addresses.
    assert lab["privateIps"] == TOPOLOGY["privateIps"]
    # Outside the lab the function probes the emulator's simulated nodes, never a topology address.
    assert json.loads(TOPOLOGY["functions"][0]["config"]["NODES"])[0]["health_url"].startswith("${emulator_endpoint}/")


def test_facts_map_each_node_to_its_vnic() -> None:
    facts = cloud.facts(TOPOLOGY)
    vip = next(p for p in TOPOLOGY["privateIps"] if p["id"] == facts.vip_private_ip_id)
    assert vip["ipAddress"] == "10.0.0.4"
    assert vip["vnicId"] == facts.vnic_ids["node-a"] != facts.vnic_ids["node-b"]


def test_every_lab_address_is_in_the_benchmarking_range() -> None:
    lab = ipaddress.ip_network("198.18.0.0/15")
    for command in setup_commands(PLAN):
        for word in command:
            try:
                network = ipaddress.ip_network(word, strict=False)
            except ValueError:
                continue
            assert network.subnet_of(lab), command


def test_only_moves_of_the_floating_ip_route_the_fabric() -> None:
    vip = "ocid1.privateip.vip"
    assert holder_vnic({"resource_id": vip, "after": {"vnicId": "vnic-b"}}, vip) == "vnic-b"
    assert holder_vnic({"resource_id": "ocid1.privateip.other", "after": {"vnicId": "vnic-b"}}, vip) is None
    assert holder_vnic({"resource_id": vip, "after": None}, vip) is None


def test_failover_time_is_fault_to_first_answer_from_the_other_node() -> None:
    answers = [
        {"sent": 9.9, "done": 10.0, "node": "node-a", "error": None},
        {"sent": 10.1, "done": 10.2, "node": None, "error": "ConnectionRefusedError"},
        {"sent": 10.5, "done": 11.4, "node": "node-b", "error": None},
        {"sent": 10.9, "done": 11.0, "node": "node-b", "error": None},
    ]
    assert summarise(answers, 10.05, "node-b") == (pytest.approx(0.95), 1)
    assert summarise(answers[:2], 10.05, "node-b") == (None, 1)


def test_api_calls_leave_out_the_lab_and_the_telemetry() -> None:
    entries = [
        {"event": "request", "operation": "UpdatePrivateIp", "principal": "fn"},
        {"event": "request", "operation": "AdminGetAudit", "principal": "ocisim-admin"},
        {"event": "request", "operation": "PostMetricData", "principal": "node", "path": "/20180401/metrics"},
        {"event": "audit", "operation": "UpdatePrivateIp"},
    ]
    assert count_api_calls(entries) == {"UpdatePrivateIp": 1}


def test_lab_topology_has_terraforms_outside_in_monitor_probing_the_vip_from_the_client() -> None:
    lab = cloud.lab_topology(PLAN, TOPOLOGY)
    [monitor] = lab["healthChecks"]["httpMonitors"]
    assert lab["healthChecks"]["vantageNetns"] == PLAN.client_netns
    assert (monitor["id"], monitor["targets"], monitor["port"]) == (MONITOR_ID, [PLAN.vip], 80)
    alarm = next(a for a in lab["alarms"] if a["id"] == ALARM_ID)
    assert alarm["query"] == terraform_settings()["query_format"] % MONITOR_ID
    assert alarm["destinations"] == [TOPOLOGY["topics"][0]["topicId"]]
    for function in lab["functions"]:
        assert ALARM_ID in function["config"]["ALARM_IDS"].split(",")
