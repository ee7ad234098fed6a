"""The lab's layout: names, addresses and the template variables for each node.

Pure data: nothing here touches the system. The layout mirrors the emulator topology the lab runs
(10.0.0.x, fd00:10:0:1::/64) one to one in the lab's own ranges, the only addresses it uses:

    198.18.0.0/24       the nodes' subnet: the host part of each cloud address kept (node-a .2,
                        node-b .3, the floating IPs .4, .5, ...), fabric .1
    fd00:198:18::/64    the same subnet's IPv6 half (dual-stack topologies): node-a ::2, ... the
                        IPv6 VIP ::4 (interface identifier kept), fabric fe80::1 on every link
    198.18.1.0/24       the client's subnet: client .2, fabric .1 (fd00:198:18:1::2, ::1)
    198.18.2.0/24       the control plane (root namespace: emulator, function): .2, fabric .1
    198.18.3.0/24       route-target topologies: a second client subnet, routed to the
    198.18.4.0/24       destination behind the appliance pair (a server at .2) through the node
                        that holds the route rule's target IP
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"

HTTP_PORT = 80
HEALTH_PORT = 8404  # haproxy's monitor-uri: keepalived's check and the agents' metrics
ENDPOINT_PORT = 8405  # the node agent's GET /healthz: "can serve the floating IP now"
TRANSIT_PORT = 80  # the route-target destination's server
LAB_V4 = ipaddress.ip_network("198.18.0.0/15")
LAB_V6 = ipaddress.ip_network("fd00::/8")
NODES_V4 = ipaddress.ip_network("198.18.0.0/24")
NODES_V6 = ipaddress.ip_network("fd00:198:18::/64")
GATEWAY_V6 = "fe80::1"  # the fabric's link-local address on every node's cable


@dataclass(frozen=True)
class Node:
    """One lab node: a namespace whose eth0 is cabled to the fabric, like a VNIC to the VCN."""

    name: str
    ip: str
    priority: int
    ip6: str = ""  # its IPv6 address on dual-stack topologies
    skip_source_dest_check: bool = False  # its VNIC's: may it forward others' packets (route target)

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
class Vip:
    """One floating IP: the topology's name for it, its lab address and the emulator's."""

    name: str
    address: str
    cloud_address: str

    @property
    def family(self) -> int:
        return ipaddress.ip_address(self.address).version

    @property
    def prefix(self) -> str:
        return f"{self.address}/{32 if self.family == 4 else 128}"

    @property
    def url_host(self) -> str:
        return self.address if self.family == 4 else f"[{self.address}]"


@dataclass(frozen=True)
class Transit:
    """The route-target path: a client subnet whose traffic to `destination` the fabric routes
    through the node holding the floating IP named `target`, as OCI routes a route rule whose
    network entity is that private IP."""

    target: str  # the Vip's name
    destination: str  # lab CIDR behind the pair
    cloud_destination: str
    client_netns: str = "client-rt"
    client_ip: str = "198.18.3.2"
    client_gateway: str = "198.18.3.1"
    server_netns: str = "behind"

    @property
    def client_if(self) -> str:
        return f"to-{self.client_netns}"

    @property
    def server_if(self) -> str:
        return f"to-{self.server_netns}"

    @property
    def server_ip(self) -> str:
        return str(next(ipaddress.ip_network(self.destination).hosts()) + 1)

    @property
    def server_gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.destination).hosts()))


DEFAULT_NODES = (Node("node-a", "198.18.0.2", 100), Node("node-b", "198.18.0.3", 90))
DEFAULT_VIPS = (Vip("vip", "198.18.0.4", "10.0.0.4"),)


@dataclass(frozen=True)
class Plan:
    """Where everything of one lab lives; `run_dir` holds configs, pid files and logs."""

    run_dir: Path
    nodes: tuple[Node, ...] = DEFAULT_NODES
    vips: tuple[Vip, ...] = DEFAULT_VIPS
    transit: Transit | None = None
    topology: str = "two-node"  # ocisim/topologies/<topology>.json
    node_prefix_len: int = 24
    node_gateway: str = "198.18.0.1"
    fabric_netns: str = "fabric"
    client_netns: str = "client"
    client_ip: str = "198.18.1.2"
    client_gateway: str = "198.18.1.1"
    client_ip6: str = "fd00:198:18:1::2"
    client_gateway6: str = "fd00:198:18:1::1"
    control_if: str = "lab-cp"
    control_ip: str = "198.18.2.2"
    control_gateway: str = "198.18.2.1"
    virtual_router_id: int = 51
    advert_int: float = 0.2
    netns_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        extra = (self.transit.client_netns, self.transit.server_netns) if self.transit else ()
        names = (self.fabric_netns, self.client_netns, *extra, *(n.netns for n in self.nodes))
        object.__setattr__(self, "netns_names", names)
        addresses = [self.client_ip, self.control_ip, *(n.ip for n in self.nodes), *(v.address for v in self.vips)]
        outside = [a for a in [*addresses, *(n.ip6 for n in self.nodes if n.ip6)] if not _in_lab(a)]
        if outside:
            raise ValueError(f"{', '.join(outside)}: the lab uses only addresses in {LAB_V4} and {LAB_V6}")
        if len(self.nodes) < 2 or not self.vips or self.vips[0].family != 4:
            raise ValueError("a lab has two nodes or more and an IPv4 floating IP first")

    @property
    def vip(self) -> str:
        """The first IPv4 floating IP: the one the client, the trials and the demo use."""
        return self.vips[0].address

    @property
    def cloud_vip(self) -> str:
        return self.vips[0].cloud_address

    @property
    def dual_stack(self) -> bool:
        return any(v.family == 6 for v in self.vips)

    @property
    def lab_prefixes(self) -> tuple[str, ...]:
        """The lab subnets the root namespace (the control plane) routes into the fabric."""
        return ("198.18.0.0/24", "198.18.1.0/24", *((self.transit.destination,) if self.transit else ()))

    def vip_named(self, name: str) -> Vip:
        return next(v for v in self.vips if v.name == name)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node {name!r}; the lab has {', '.join(n.name for n in self.nodes)}")

    def others(self, node: Node) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n != node)

    def peer(self, node: Node) -> Node:
        """The node that takes over when `node` fails and every other node is healthy: the
        highest priority among the others (with two nodes, simply the other one)."""
        return max(self.others(node), key=lambda n: n.priority)

    def path(self, node: Node | None, name: str) -> Path:
        return self.run_dir / (node.name if node else "lab") / name

    def save(self) -> None:
        """The layout of a lab that `up` builds, for every later command and for `down`."""
        data = {k: v for k, v in asdict(self).items() if k not in ("run_dir", "netns_names")}
        plan_file(self.run_dir).parent.mkdir(parents=True, exist_ok=True)
        plan_file(self.run_dir).write_text(json.dumps(data, indent=2))


def _in_lab(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip in (LAB_V4 if ip.version == 4 else LAB_V6)


def plan_file(run_dir: Path) -> Path:
    return run_dir / "lab" / "plan.json"


def load_plan(run_dir: Path) -> Plan:
    """The layout `up` saved in `run_dir`; the default two-node layout when there is none."""
    try:
        data = json.loads(plan_file(run_dir).read_text())
    except FileNotFoundError:
        return Plan(run_dir)
    transit = data.pop("transit")
    return Plan(
        run_dir,
        nodes=tuple(Node(**n) for n in data.pop("nodes")),
        vips=tuple(Vip(**v) for v in data.pop("vips")),
        transit=Transit(**transit) if transit else None,
        **data,
    )


def lab_address(
    cloud_address: str, cloud_subnet: str, lab_subnet: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> str:
    """The lab address of a cloud address: the same host part in the lab's subnet (pure)."""
    offset = int(ipaddress.ip_address(cloud_address)) - int(ipaddress.ip_network(cloud_subnet).network_address)
    return str(lab_subnet.network_address + offset)


def plan_for(run_dir: Path, topology: dict[str, Any], name: str) -> Plan:
    """The lab's layout for an emulator topology (pure): a node per entry of the function's
    NODES (its priority, the addresses of its VNIC), a Vip per floating IP of the function's
    config (IPv4 first), and the route-target path if a route rule targets one of them."""
    subnet = topology["subnets"][0]
    config = topology["functions"][0]["config"]
    vips = _vips(topology, config, subnet)
    names = {p["id"]: p["displayName"] for p in topology["privateIps"]}
    rules = [
        rule
        for table in topology.get("routeTables", [])
        for rule in table.get("routeRules", [])
        if rule.get("networkEntityId") in names and names[rule["networkEntityId"]] in {v.name for v in vips}
    ]
    # 10.0.1.0/24 would be the client's lab subnet (198.18.1.0/24): the destination has its own.
    transit = Transit(names[rules[0]["networkEntityId"]], "198.18.4.0/24", rules[0]["destination"]) if rules else None
    return Plan(run_dir, nodes=_nodes(topology, config, subnet), vips=vips, transit=transit, topology=name)


def _nodes(topology: dict[str, Any], config: dict[str, str], subnet: dict[str, Any]) -> tuple[Node, ...]:
    """A Node per entry of NODES: the lab addresses of its VNIC, its priority, its VNIC's check."""
    vnics = {vnic["id"]: vnic for instance in topology["instances"] for vnic in instance["vnics"]}
    nodes = []
    for entry in json.loads(config["NODES"]):
        vnic = vnics[entry["vnic_id"]]
        ip = lab_address(vnic["privateIp"]["ipAddress"], subnet["cidrBlock"], NODES_V4)
        ip6 = str(NODES_V6.network_address + int(ipaddress.ip_address(ip)) - int(NODES_V4.network_address))
        dual = bool(subnet.get("ipv6CidrBlocks"))
        nodes.append(
            Node(entry["name"], ip, int(entry["priority"]), ip6 if dual else "", bool(vnic.get("skipSourceDestCheck")))
        )
    return tuple(nodes)


def _vips(topology: dict[str, Any], config: dict[str, str], subnet: dict[str, Any]) -> tuple[Vip, ...]:
    """A Vip per floating IP of the function's config, the IPv4 ones (in their order) first."""
    v4 = {p["id"]: p for p in topology["privateIps"]}
    v6 = {p["id"]: p for p in topology.get("ipv6s", [])}
    vips = [
        Vip(v4[i]["displayName"], lab_address(v4[i]["ipAddress"], subnet["cidrBlock"], NODES_V4), v4[i]["ipAddress"])
        for i in _ids(config.get("VIP_PRIVATE_IP_IDS"))
    ]
    six = (subnet.get("ipv6CidrBlocks") or [""])[0]
    vips += [
        Vip(v6[i]["displayName"], lab_address(v6[i]["ipAddress"], six, NODES_V6), v6[i]["ipAddress"])
        for i in _ids(config.get("VIP_IPV6_IDS"))
    ]
    return tuple(vips)


def _ids(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def haproxy_vars(plan: Plan, node: Node) -> dict[str, Any]:
    return {
        "node_name": node.name,
        "http_port": HTTP_PORT,
        "health_port": HEALTH_PORT,
        "pid_file": str(plan.path(node, "haproxy.pid")),
        "bind_ipv6": plan.dual_stack,
    }


def vrrp_instances(plan: Plan, node: Node) -> list[dict[str, Any]]:
    """keepalived's instances on `node`, as terraform's node_config makes them: vip_ipv4 with
    every IPv4 floating IP, vip_ipv6 (dual-stack only) with every IPv6 one, unicast to every
    other node in that family (pure)."""
    instances = []
    for name, family, prefix in (("vip_ipv4", 4, plan.node_prefix_len), ("vip_ipv6", 6, NODES_V6.prefixlen)):
        vips = [v for v in plan.vips if v.family == family]
        if vips:
            address = (lambda n: n.ip) if family == 4 else (lambda n: n.ip6)
            instances.append(
                {
                    "name": name,
                    "src_ip": address(node),
                    "peer_ips": [address(n) for n in plan.others(node)],
                    "addresses": [f"{v.address}/{prefix}" for v in vips],
                }
            )
    return instances


def keepalived_vars(plan: Plan, node: Node, notify_master_command: str, notify_release_command: str) -> dict[str, Any]:
    return {
        "node_name": node.name,
        "interface": "eth0",
        "vrrp_instances": vrrp_instances(plan, node),
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
    vip_ids: dict[str, str] = field(default_factory=dict)  # every floating IP's OCID, by the Vip's name
    # terraform's fast_path_mode "direct": the events function's configuration the node agents
    # handle keepalived's notices with (lab/cloud.py direct_fast_path_config); empty: "function"
    fast_path_direct: dict[str, str] = field(default_factory=dict)

    def vrrp_instances(self, plan: Plan) -> dict[str, list[str]]:
        """keepalived instance -> the OCIDs of the floating IPs it carries, as terraform names
        them for the node agent; empty with one instance (a notice covers every floating IP)."""
        if not plan.dual_stack:
            return {}
        return {
            f"vip_ipv{family}": [self.vip_ids[v.name] for v in plan.vips if v.family == family] for family in (4, 6)
        }


@dataclass(frozen=True)
class ConfigObject:
    """Where a node's node-agent.yaml lives in Object Storage."""

    namespace: str
    bucket: str

    def name(self, node: Node) -> str:
        return f"node-agent/{node.name}.yaml"


def node_agent_vars(plan: Plan, node: Node, cloud: Cloud) -> dict[str, Any]:
    """node-agent.yaml's variables for a host-process node, as terraform's node_agent module
    sets them, with the lab's auth and endpoints. floating_ips has the IPv6 VIPs too: the agent's
    answer says per family whether the node holds them (health_probe/serving.py)."""
    vip_id = {v.name: cloud.vip_ids.get(v.name, cloud.vip_private_ip_id) for v in plan.vips}
    targets = [
        {"name": n.name, "role": "node", "url": n.haproxy_url, "resource_id": cloud.instance_ids[n.name]}
        for n in (node, *plan.others(node))
    ]
    # Through each floating IP to whichever node holds it (the service page itself is a 503).
    targets += [
        {
            "name": v.name,
            "role": "vip",
            "url": f"http://{v.url_host}:{HEALTH_PORT}/healthz",
            "resource_id": vip_id[v.name],
        }
        for v in plan.vips
        if v.family == 4
    ]
    return {
        "node_name": node.name,
        "compartment_id": cloud.compartment_id,
        "region": cloud.region,
        "auth": cloud.auth,
        "oci_config_file": cloud.oci_config_file if cloud.auth == "config_file" else "",
        "telemetry_endpoint": cloud.endpoint,
        "federation_endpoint": f"{cloud.endpoint}/v1/x509",
        "invoke_endpoint": cloud.endpoint,
        "function_id": cloud.function_id,
        "probe_interval_seconds": 5,
        "notify_timeout_seconds": 10,
        "node_ip": node.ip,
        "endpoint_port": ENDPOINT_PORT,
        "haproxy_url": f"http://127.0.0.1:{HEALTH_PORT}/healthz",
        "floating_ips": [v.address for v in plan.vips],
        "targets": targets,
        "vrrp_instances": cloud.vrrp_instances(plan),
        "fast_path_direct": cloud.fast_path_direct,
    }
