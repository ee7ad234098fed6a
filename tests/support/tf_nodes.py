"""Both per-node modules (node_config, node_agent) called for every node of a topology as
terraform/compute.tf calls them, with example OCIDs: the HCL, and its outputs as the real
terraform renders them (tests.support.terraform.evaluate)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM_DIR, evaluate, hcl, variable_defaults

DEFAULTS = variable_defaults()
PREFIX_LEN = int(DEFAULTS["nodes_subnet_cidr"].split("/")[1])


def instance_id(node: str) -> str:
    return f"ocid1.instance.oc1.iad.{node.replace('-', '')}"


def private_ip_id(vip: str) -> str:
    return f"ocid1.privateip.oc1.iad.{vip.replace('-', '')}"


def ipv6_id(vip: str) -> str:
    return f"ocid1.ipv6.oc1.iad.{vip.replace('-', '')}"


@dataclass(frozen=True)
class NodeLayout:
    """nodes: name -> {private_ip, priority, and ipv6 with vips_ipv6}; vips: IPv4 name -> address;
    vips_ipv6: name -> address; forwarding: route-target mode's {source_cidr, destination_cidr}."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(DEFAULTS["nodes"]))
    vips: dict[str, str] = field(default_factory=lambda: {"vip": DEFAULTS["floating_ip"]})
    vips_ipv6: dict[str, str] = field(default_factory=dict)
    forwarding: dict[str, str] | None = None

    def peers(self, name: str) -> list[str]:
        return sorted(other for other in self.nodes if other != name)


def node_modules(
    topology: NodeLayout,
    name: str,
    extra_config: str = "",
    *,
    label: str | None = None,
    config_object: Mapping[str, str] | None = None,
    agent: Mapping[str, str] | None = None,
    instance_ids: Mapping[str, str] | None = None,
    fast_path_direct: Mapping[str, str] | None = None,
) -> str:
    """Node ``name``'s two modules and an output ``label`` (default: the node's name) merging
    their outputs. ``config_object`` (where its agent configuration is stored), ``agent`` (OCIDs
    and endpoints it reports to) and ``instance_ids`` (node -> instance OCID) default to examples;
    ``fast_path_direct`` (the function's configuration) renders compute.tf's fast_path_mode
    "direct": the agent's key and the host firewall's rule for the peers' probes."""
    ids = {n: instance_id(n) for n in topology.nodes} | dict(instance_ids or {})
    stored = config_object or {
        "namespace": "examplens",
        "bucket": "vip-failover-node-config",
        "name": f"node-agent/{name}.yaml",
    }
    reports_to = {
        "instance_id": ids[name],
        "compartment_id": "ocid1.compartment.oc1..example",
        "region": "us-ashburn-1",
        "invoke_endpoint": "https://example.us-ashburn-1.functions.oci.oraclecloud.com",
        "function_id": "ocid1.fnfunc.oc1.iad.failover",
    } | dict(agent or {})
    label = label or name
    node = topology.nodes[name]
    peers = [
        {"name": p, **{k: v for k, v in topology.nodes[p].items() if k != "priority"}} for p in topology.peers(name)
    ]
    this = {"name": name, **node}
    firewall: dict[str, Any] = {
        "service_ports": [80, 443],
        "client_cidr": DEFAULTS["http_ingress_cidr"],
        "function_cidr": DEFAULTS["functions_subnet_cidr"],
    }
    if topology.forwarding:
        firewall["forwarding"] = topology.forwarding
    if fast_path_direct:
        firewall["peer_endpoint"] = True
    vrrp = {
        "interface": DEFAULTS["nic_interface"],
        "vips": list(topology.vips.values()),
        "vip_prefix_len": PREFIX_LEN,
        "vips_ipv6": list(topology.vips_ipv6.values()),
        "virtual_router_id": DEFAULTS["virtual_router_id"],
        "advert_int": DEFAULTS["advert_int"],
    }
    agent_peers = [
        {"name": p, "private_ip": topology.nodes[p]["private_ip"], "instance_id": ids[p]} for p in topology.peers(name)
    ]
    vips = [{"name": vip, "address": address, "id": private_ip_id(vip)} for vip, address in topology.vips.items()]
    vips_ipv6 = [{"name": vip, "address": address, "id": ipv6_id(vip)} for vip, address in topology.vips_ipv6.items()]
    key = label.replace("-", "_")
    settings = "\n".join(f"    {k:<22} = {hcl(v)}" for k, v in reports_to.items())
    return f"""
module "config_{key}" {{
  source            = {hcl(str(TERRAFORM_DIR / "modules" / "node_config"))}
  templates_dir     = {hcl(str(REPO / "templates"))}
  probe_unit_file   = {hcl(str(REPO / "health_probe" / "vip-failover-probe.service"))}
  node              = {hcl(this)}
  peers             = {hcl(peers)}
  vrrp              = {hcl(vrrp)}
  health_port       = {DEFAULTS["health_port"]}
  endpoint_port     = {DEFAULTS["node_health_port"]}
  http_port         = 80
  firewall          = {hcl(firewall)}
  source_repository = "https://example.invalid/oci-vip-failover.git"
  source_ref        = "main"
  config_object     = {hcl(dict(stored))}
{extra_config}}}
module "agent_{key}" {{
  source         = {hcl(str(TERRAFORM_DIR / "modules" / "node_agent"))}
  templates_dir  = {hcl(str(REPO / "templates"))}
  node           = {hcl({"name": name, "private_ip": node["private_ip"]})}
  peers          = {hcl(agent_peers)}
  vips           = {hcl(vips)}
  vips_ipv6      = {hcl(vips_ipv6)}
  health_port    = {DEFAULTS["health_port"]}
  endpoint_port  = {DEFAULTS["node_health_port"]}
  fast_path_direct = {hcl(dict(fast_path_direct or {}))}
  agent = {{
{settings}
    probe_interval_seconds = {DEFAULTS["probe_interval_seconds"]}
    notify_timeout_seconds = {DEFAULTS["notify_timeout_seconds"]}
  }}
}}
output "{label}" {{
  value = merge(module.config_{key}, module.agent_{key})
}}
"""


def render(workdir: Path, topology: NodeLayout) -> dict[str, dict[str, Any]]:
    """Every node's outputs (cloud_init, haproxy_cfg, keepalived_conf, node_agent_yaml, ...)."""
    return evaluate(workdir, "\n".join(node_modules(topology, name) for name in topology.nodes))
