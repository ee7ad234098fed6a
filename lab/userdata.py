"""Every file the lab gives its nodes, rendered by the real `terraform` binary, never by a
re-implementation: a booted node's #cloud-config and node-agent.yaml come from
terraform/modules/node_config and terraform/modules/node_agent (a small root module in a
temporary directory calls both as terraform/compute.tf does), the process mode's configs from
terraform's templatefile() on the same templates/. Nothing needs a provider, so `terraform init`
works offline.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.plan import ENDPOINT_PORT, HEALTH_PORT, HTTP_PORT, NODES_V6, REPO, Cloud, ConfigObject, Node, Plan, Vip
from lab.shell import LabError
from lab.sources import Sources

MODULES = REPO / "terraform" / "modules"
TERRAFORM_TIMEOUT_SECONDS = 120
INTERFACE = "eth0"


@dataclass(frozen=True)
class Rendered:
    cloud_init: str
    node_agent_yaml: str


def environment(cloud: Cloud, node: Node) -> dict[str, str]:
    """/etc/default/vip-failover on a lab node: the SDK pointed at the emulator, never at
    169.254.169.254 or a region's endpoints."""
    return {
        "OCI_METADATA_BASE_URL": f"{cloud.endpoint}/imds/{node.name}/opc/v2",
        "OCI_FEDERATION_ENDPOINT": f"{cloud.endpoint}/v1/x509",
        "OCI_OBJECTSTORAGE_ENDPOINT": cloud.endpoint,
    }


def module_calls(plan: Plan, node: Node, cloud: Cloud, sources: Sources, config: ConfigObject) -> str:
    """HCL calling both modules for one node (JSON literals are valid HCL values)."""
    others = plan.others(node)
    key = node.name.replace("-", "_")
    v = json.dumps
    four = [vip for vip in plan.vips if vip.family == 4]
    firewall: dict[str, object] = {
        "service_ports": [HTTP_PORT, 443],
        "client_cidr": plan.lab_prefixes[1],
        "function_cidr": f"{plan.control_ip.rsplit('.', 1)[0]}.0/24",
        "client_ipv6_cidr": f"{ipaddress.ip_network(plan.client_ip6 + '/64', strict=False)}",
        # as compute.tf: in direct mode each node's agent probes its peers' agents
        "peer_endpoint": bool(cloud.fast_path_direct),
    }
    if plan.transit:  # the route-target path's client and destination: what the node forwards
        firewall["forwarding"] = {
            "source_cidr": f"{ipaddress.ip_network(plan.transit.client_ip + '/24', strict=False)}",
            "destination_cidr": plan.transit.destination,
        }
    vrrp = {
        "interface": INTERFACE,
        "vips": [vip.address for vip in four],
        "vip_prefix_len": plan.node_prefix_len,
        "vips_ipv6": [vip.address for vip in plan.vips if vip.family == 6],
        "vip_ipv6_prefix_len": NODES_V6.prefixlen,
        "virtual_router_id": plan.virtual_router_id,
        "advert_int": plan.advert_int,
    }
    ipv6 = {"ipv6": node.ip6} if node.ip6 else {}
    return f"""
module "config_{key}" {{
  source            = {v(str(MODULES / "node_config"))}
  templates_dir     = {v(str(REPO / "templates"))}
  probe_unit_file   = {v(str(REPO / "health_probe" / "vip-failover-probe.service"))}
  node              = {v({"name": node.name, "private_ip": node.ip, "priority": node.priority, **ipv6})}
  peers             = {v([{"name": n.name, "private_ip": n.ip, **({"ipv6": n.ip6} if n.ip6 else {})} for n in others])}
  vrrp              = {v(vrrp)}
  health_port       = {HEALTH_PORT}
  endpoint_port     = {ENDPOINT_PORT}
  http_port         = {HTTP_PORT}
  firewall          = {v(firewall)}
  source_repository = {v(sources.repository)}
  source_ref        = {v(sources.ref)}
  config_object     = {v({"namespace": config.namespace, "bucket": config.bucket, "name": config.name(node)})}
  pip_find_links    = {v(sources.find_links)}
  apt_proxy         = {v(sources.apt_proxy)}
  environment       = {v(environment(cloud, node))}
}}
module "agent_{key}" {{
  source         = {v(str(MODULES / "node_agent"))}
  templates_dir  = {v(str(REPO / "templates"))}
  node           = {v({"name": node.name, "private_ip": node.ip})}
  peers          = {
        v([{"name": n.name, "private_ip": n.ip, "instance_id": cloud.instance_ids[n.name]} for n in others])
    }
  vips           = {v(agent_vips(cloud, four))}
  vips_ipv6      = {v(agent_vips(cloud, [vip for vip in plan.vips if vip.family == 6]))}
  health_port    = {HEALTH_PORT}
  endpoint_port  = {ENDPOINT_PORT}
  endpoints      = {v({"telemetry": cloud.endpoint, "federation": f"{cloud.endpoint}/v1/x509"})}
  fast_path_direct = {v(cloud.fast_path_direct)}
  agent = {
        v(
            {
                "instance_id": cloud.instance_ids[node.name],
                "compartment_id": cloud.compartment_id,
                "region": cloud.region,
                "invoke_endpoint": cloud.endpoint,
                "function_id": cloud.function_id,
                "probe_interval_seconds": 5,
                "notify_timeout_seconds": 10,
            }
        )
    }
}}
output "{key}" {{
  value = {{ cloud_init = module.config_{key}.cloud_init, node_agent_yaml = module.agent_{key}.node_agent_yaml }}
}}
"""


def agent_vips(cloud: Cloud, vips: list[Vip]) -> list[dict[str, str]]:
    """node_agent's vips and vips_ipv6: each floating IP's name, lab address and OCID."""
    return [
        {"name": vip.name, "address": vip.address, "id": cloud.vip_ids.get(vip.name, cloud.vip_private_ip_id)}
        for vip in vips
    ]


TEMPLATES = REPO / "templates"


def _terraform_outputs(workdir: Path, main_tf: str) -> dict[str, Any]:
    """Apply `main_tf` (provider-free) with the real terraform in `workdir`; its outputs."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise LabError("terraform is not installed: the nodes' files are rendered by terraform itself")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(main_tf)
    (workdir / "terraformrc").write_text("")
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(workdir / "terraformrc"),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    for args in (
        ["init", "-backend=false", "-input=false"],
        ["apply", "-auto-approve", "-input=false"],
        ["output", "-json"],
    ):
        done = subprocess.run(
            [terraform, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TERRAFORM_TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            raise LabError(f"terraform {args[0]} in {workdir} failed:\n{done.stderr.strip()}")
    return {name: entry["value"] for name, entry in json.loads(done.stdout).items()}


def render(workdir: Path, plan: Plan, cloud: Cloud, sources: Sources, config: ConfigObject) -> dict[str, Rendered]:
    """Every node's files, by node name, from one `terraform apply` of the modules."""
    main_tf = "".join(module_calls(plan, node, cloud, sources, config) for node in plan.nodes)
    outputs = _terraform_outputs(workdir, main_tf)
    return {node.name: Rendered(**outputs[node.name.replace("-", "_")]) for node in plan.nodes}


def templatefile(workdir: Path, files: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """templates/<template> rendered with its variables by terraform's own templatefile(), for
    each key of `files` (key -> (template, variables)), in one `terraform apply`: the process
    mode's haproxy.cfg, keepalived.conf and node-agent.yaml, with the lab's paths and commands."""
    keys = list(files)
    main_tf = "".join(
        f'output "f{index}" {{\n  value = templatefile({json.dumps(str(TEMPLATES / template))}, '
        f"{json.dumps(variables)})\n}}\n"
        for index, (template, variables) in enumerate(files[key] for key in keys)
    )
    outputs = _terraform_outputs(workdir, main_tf)
    return {key: outputs[f"f{index}"] for index, key in enumerate(keys)}
