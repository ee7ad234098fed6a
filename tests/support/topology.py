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


def function_settings() -> dict[str, Any]:
    """The topology's failover function (its ``config`` is what OCI Functions hands func.py)."""
    return two_node()["functions"][0]


def function_nodes() -> list[dict[str, Any]]:
    """The function configuration's NODES: name, vnic_id, health_url and priority of each node."""
    return json.loads(function_settings()["config"]["NODES"])


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
