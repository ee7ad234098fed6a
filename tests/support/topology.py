"""The emulator's two-node topology file (ocisim/topologies/two-node.json), read the way a user
reads it: the resource ids the tests look for and the function configuration the topology holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocisim.emulator import DEFAULT_TOPOLOGY


def two_node(path: Path = DEFAULT_TOPOLOGY) -> dict[str, Any]:
    """A fresh copy of the topology document, for a test to read or change."""
    return json.loads(Path(path).read_text())


def function_settings(path: Path = DEFAULT_TOPOLOGY) -> dict[str, Any]:
    """The topology's failover function (its ``config`` is what OCI Functions hands func.py)."""
    return two_node(path)["functions"][0]


def function_nodes(path: Path = DEFAULT_TOPOLOGY) -> list[dict[str, Any]]:
    """The function configuration's NODES: name, vnic_id, health_url and priority of each node."""
    return json.loads(function_settings(path)["config"]["NODES"])


FUNCTION = function_settings()
VIP_ID = FUNCTION["config"]["VIP_PRIVATE_IP_IDS"]
VNICS = {n["name"]: n["vnic_id"] for n in function_nodes()}


@dataclass(frozen=True)
class Topology:
    vip_id: str
    vip_address: str
    vnic_a: str
    vnic_b: str
    primary_a: str
    subnet_id: str
    instance_a: str
    instance_b: str
    public_ip_id: str
    public_ip_address: str
    function_id: str


def read_topology(path: Path = DEFAULT_TOPOLOGY) -> Topology:
    data = two_node(path)
    a, b = data["instances"]
    return Topology(
        vip_id=data["privateIps"][0]["id"],
        vip_address=data["privateIps"][0]["ipAddress"],
        vnic_a=a["vnics"][0]["id"],
        vnic_b=b["vnics"][0]["id"],
        primary_a=a["vnics"][0]["privateIp"]["id"],
        subnet_id=data["subnets"][0]["id"],
        instance_a=a["id"],
        instance_b=b["id"],
        public_ip_id=data["publicIps"][0]["id"],
        public_ip_address=data["publicIps"][0]["ipAddress"],
        function_id=data["functions"][0]["id"],
    )


def add_node_in_another_subnet(
    data: dict[str, Any], template: dict[str, Any], replacements: dict[str, str], **subnet: Any
) -> dict[str, Any]:
    """Add to a topology a subnet like its first one (changed by `subnet`) holding a copy of the
    instance `template`, with `replacements` applied to its text; returns the new instance."""
    first = data["subnets"][0]
    other = {**first, "id": first["id"].replace("aaaaaaaa", "bbbbbbbb", 1), "displayName": "other", **subnet}
    text = json.dumps(template)
    for old, new in replacements.items():
        text = text.replace(old, new)
    node = json.loads(text)
    node["vnics"][0]["subnetId"] = other["id"]
    data["subnets"].append(other)
    data["instances"].append(node)
    return node


MULTI_TOPOLOGY = DEFAULT_TOPOLOGY.with_name("multi.json")


@dataclass(frozen=True)
class Multi:
    """ocisim/topologies/multi.json by name: three nodes, vip + vip-2 (IPv4), vip6, one route table."""

    compartment: str
    vcn: str
    subnet: str
    vnics: dict[str, str]  # node name -> VNIC OCID
    instances: dict[str, str]  # node name -> instance OCID
    private_ips: dict[str, str]  # VIP name -> private IP OCID
    public_ips: dict[str, str]  # VIP name -> its reserved public IP's address
    vip6: str
    vip6_address: str
    route_table: str


def read_multi(path: Path = MULTI_TOPOLOGY) -> Multi:
    data = two_node(path)
    by_private = {p["privateIpId"]: p["ipAddress"] for p in data["publicIps"]}
    [vip6] = data["ipv6s"]
    [table] = data["routeTables"]
    return Multi(
        compartment=data["compartments"][0]["id"],
        vcn=data["vcns"][0]["id"],
        subnet=data["subnets"][0]["id"],
        vnics={i["displayName"]: i["vnics"][0]["id"] for i in data["instances"]},
        instances={i["displayName"]: i["id"] for i in data["instances"]},
        private_ips={p["displayName"]: p["id"] for p in data["privateIps"]},
        public_ips={p["displayName"]: by_private[p["id"]] for p in data["privateIps"]},
        vip6=vip6["id"],
        vip6_address=vip6["ipAddress"],
        route_table=table["id"],
    )
