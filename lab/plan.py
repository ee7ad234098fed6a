"""The lab's fixed layout: names, addresses and the template variables for each node.

Pure data: nothing here touches the system. The layout mirrors the emulator's two-node topology
(10.0.0.x) one to one in the benchmarking range 198.18.0.0/15, the only addresses the lab uses:

    198.18.0.0/24  the nodes' subnet: node-a .2, node-b .3, the floating IP .4, fabric .1
    198.18.1.0/24  the client's subnet: client .2, fabric .1
    198.18.2.0/24  the control plane (root namespace: emulator, function): .2, fabric .1
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"

HTTP_PORT = 80
HEALTH_PORT = 8404  # haproxy's monitor-uri: keepalived's check and the agents' metrics
ENDPOINT_PORT = 8405  # the node agent's GET /healthz: "can serve the floating IP now"


@dataclass(frozen=True)
class Node:
    """One lab node: a namespace whose eth0 is cabled to the fabric, like a VNIC to the VCN."""

    name: str
    ip: str
    priority: int

    @property
    def netns(self) -> str:
        return self.name

    @property
    def fabric_if(self) -> str:
        """The fabric's end of this node's cable (Linux caps interface names at 15 bytes)."""
        return f"to-{self.name}"[:15]

    @property
    def health_url(self) -> str:
        """What the function probes (NODES health_url): the node agent's endpoint, which answers
        200 only while this node can serve the floating IP (haproxy up and the alias held)."""
        return f"http://{self.ip}:{ENDPOINT_PORT}/healthz"

    @property
    def haproxy_url(self) -> str:
        """haproxy's monitor-uri on this node: what the agents' probes report as metrics."""
        return f"http://{self.ip}:{HEALTH_PORT}/healthz"


@dataclass(frozen=True)
class Plan:
    """Where everything of one lab lives; `run_dir` holds configs, pid files and logs."""

    run_dir: Path
    nodes: tuple[Node, ...] = (
        Node("node-a", "198.18.0.2", 150),
        Node("node-b", "198.18.0.3", 100),
    )
    vip: str = "198.18.0.4"
    cloud_vip: str = "10.0.0.4"
    node_prefix_len: int = 24
    node_gateway: str = "198.18.0.1"
    fabric_netns: str = "fabric"
    client_netns: str = "client"
    client_ip: str = "198.18.1.2"
    client_gateway: str = "198.18.1.1"
    control_if: str = "lab-cp"
    control_ip: str = "198.18.2.2"
    control_gateway: str = "198.18.2.1"
    lab_prefixes: tuple[str, ...] = ("198.18.0.0/24", "198.18.1.0/24")
    virtual_router_id: int = 51
    advert_int: float = 0.2
    netns_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = (self.fabric_netns, self.client_netns, *(n.netns for n in self.nodes))
        object.__setattr__(self, "netns_names", names)
        lab = ipaddress.ip_network("198.18.0.0/15")
        for address in (self.vip, self.client_ip, self.control_ip, *(n.ip for n in self.nodes)):
            if ipaddress.ip_address(address) not in lab:
                raise ValueError(f"{address}: the lab uses only addresses in {lab}")

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r}; the lab has {', '.join(n.name for n in self.nodes)}")

    def peer(self, node: Node) -> Node:
        return next(n for n in self.nodes if n != node)

    def path(self, node: Node | None, name: str) -> Path:
        return self.run_dir / (node.name if node else "lab") / name


def haproxy_vars(plan: Plan, node: Node) -> dict[str, str | int]:
    return {
        "node_name": node.name,
        "http_port": HTTP_PORT,
        "health_port": HEALTH_PORT,
        "pid_file": str(plan.path(node, "haproxy.pid")),
    }


def keepalived_vars(plan: Plan, node: Node, notify_master_command: str,
                    notify_release_command: str) -> dict[str, str | int | float]:
    return {
        "node_name": node.name,
        "interface": "eth0",
        "node_ip": node.ip,
        "peer_ip": plan.peer(node).ip,
        "vip": plan.vip,
        "vip_prefix_len": plan.node_prefix_len,
        "virtual_router_id": plan.virtual_router_id,
        "priority": node.priority,
        "advert_int": plan.advert_int,
        "health_url": f"http://127.0.0.1:{HEALTH_PORT}/healthz",
        "notify_master_command": notify_master_command,
        "notify_release_command": notify_release_command,
    }


@dataclass(frozen=True)
class Cloud:
    """What the node agent needs to know about the (emulated) cloud."""

    endpoint: str
    region: str
    compartment_id: str
    function_id: str
    oci_config_file: str
    instance_ids: dict[str, str]
    vip_private_ip_id: str
    auth: str = "config_file"


@dataclass(frozen=True)
class ConfigObject:
    """Where a node's node-agent.yaml lives in Object Storage."""

    namespace: str
    bucket: str

    def name(self, node: Node) -> str:
        return f"node-agent/{node.name}.yaml"


def node_agent_vars(plan: Plan, node: Node, cloud: Cloud) -> dict[str, str | int | float]:
    peer = plan.peer(node)
    return {
        "node_name": node.name,
        "instance_id": cloud.instance_ids[node.name],
        "peer_name": peer.name,
        "peer_instance_id": cloud.instance_ids[peer.name],
        "vip_private_ip_id": cloud.vip_private_ip_id,
        "compartment_id": cloud.compartment_id,
        "region": cloud.region,
        "auth": cloud.auth,
        "oci_config_file": cloud.oci_config_file if cloud.auth == "config_file" else "",
        "telemetry_endpoint": cloud.endpoint,
        "federation_endpoint": f"{cloud.endpoint}/v1/x509",
        "invoke_endpoint": cloud.endpoint,
        "function_id": cloud.function_id,
        "node_health_url": node.haproxy_url,
        "peer_health_url": peer.haproxy_url,
        # Through the floating IP to whichever node holds it (the service page itself is a 503).
        "vip_url": f"http://{plan.vip}:{HEALTH_PORT}/healthz",
        "probe_interval_seconds": 5,
        "notify_timeout_seconds": 10,
        "node_ip": node.ip,
        "endpoint_port": ENDPOINT_PORT,
        "haproxy_url": f"http://127.0.0.1:{HEALTH_PORT}/healthz",
        "vip": plan.vip,
    }
