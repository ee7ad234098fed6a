"""Clients and resource ids for the emulator tests, taken the way a user takes them.

The ids come from the topology file the emulator was seeded with; every call goes through the
real `oci` SDK clients signed with the config file the emulator wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import oci
import pytest

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY


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


def read_topology(path: Any = DEFAULT_TOPOLOGY) -> Topology:
    data = json.loads(open(path).read())
    a, b = data["instances"]
    return Topology(
        vip_id=data["privateIps"][0]["id"], vip_address=data["privateIps"][0]["ipAddress"],
        vnic_a=a["vnics"][0]["id"], vnic_b=b["vnics"][0]["id"],
        primary_a=a["vnics"][0]["privateIp"]["id"], subnet_id=data["subnets"][0]["id"],
        instance_a=a["id"], instance_b=b["id"], public_ip_id=data["publicIps"][0]["id"],
        public_ip_address=data["publicIps"][0]["ipAddress"], function_id=data["functions"][0]["id"])


@pytest.fixture(scope="session")
def topo() -> Topology:
    return read_topology()


@pytest.fixture
def config(emulator: Emulator) -> dict[str, Any]:
    return oci.config.from_file(emulator.oci_config_file, emulator.oci_profile)


@pytest.fixture
def net(emulator: Emulator, config: dict[str, Any]) -> oci.core.VirtualNetworkClient:
    return oci.core.VirtualNetworkClient(config, service_endpoint=emulator.endpoint)


@pytest.fixture
def compute(emulator: Emulator, config: dict[str, Any]) -> oci.core.ComputeClient:
    return oci.core.ComputeClient(config, service_endpoint=emulator.endpoint)


def add_node_in_another_subnet(data: dict[str, Any], template: dict[str, Any], replacements: dict[str, str],
                               **subnet: Any) -> dict[str, Any]:
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


def move(net: oci.core.VirtualNetworkClient, private_ip_id: str, vnic_id: str,
         etag: str | None = None) -> oci.response.Response:
    return net.update_private_ip(private_ip_id,
                                 oci.core.models.UpdatePrivateIpDetails(vnic_id=vnic_id),
                                 if_match=etag)


MULTI_TOPOLOGY = DEFAULT_TOPOLOGY.with_name("multi.json")


@dataclass(frozen=True)
class Multi:
    """ocisim/topologies/multi.json by name: three nodes, vip + vip-2 (IPv4), vip6, one route table."""

    compartment: str
    vcn: str
    subnet: str
    vnics: dict[str, str]      # node name -> VNIC OCID
    instances: dict[str, str]  # node name -> instance OCID
    private_ips: dict[str, str]  # VIP name -> private IP OCID
    public_ips: dict[str, str]   # VIP name -> its reserved public IP's address
    vip6: str
    vip6_address: str
    route_table: str


def read_multi(path: Any = MULTI_TOPOLOGY) -> Multi:
    data = json.loads(open(path).read())
    by_private = {p["privateIpId"]: p["ipAddress"] for p in data["publicIps"]}
    [vip6] = data["ipv6s"]
    [table] = data["routeTables"]
    return Multi(
        compartment=data["compartments"][0]["id"], vcn=data["vcns"][0]["id"], subnet=data["subnets"][0]["id"],
        vnics={i["displayName"]: i["vnics"][0]["id"] for i in data["instances"]},
        instances={i["displayName"]: i["id"] for i in data["instances"]},
        private_ips={p["displayName"]: p["id"] for p in data["privateIps"]},
        public_ips={p["displayName"]: by_private[p["id"]] for p in data["privateIps"]},
        vip6=vip6["id"], vip6_address=vip6["ipAddress"], route_table=table["id"])


@pytest.fixture(scope="session")
def multi() -> Multi:
    return read_multi()


@pytest.fixture
def multi_emulator() -> Iterator[Emulator]:
    """The multi topology, in memory, IAM as its topology says (API-key calls are not restricted)."""
    with Emulator.start(topology=MULTI_TOPOLOGY, state=None) as emu:
        yield emu


@pytest.fixture
def multi_net(multi_emulator: Emulator) -> oci.core.VirtualNetworkClient:
    config = oci.config.from_file(multi_emulator.oci_config_file, multi_emulator.oci_profile)
    return oci.core.VirtualNetworkClient(config, service_endpoint=multi_emulator.endpoint)
