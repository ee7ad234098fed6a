"""The function's configuration as terraform deploys it is exactly what failover/config.py reads,
and failover/config.py accepts it: the map is evaluated by the real terraform and handed to the
function's own validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from failover.config import ENV_KEYS, Config
from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM, TERRAFORM_DIR, Module, evaluate, hcl
from tests.support.topology import two_node

ROOT = Module.load(TERRAFORM_DIR)
CONTROLLER = Module.load(TERRAFORM_DIR / "modules" / "controller")
DEFAULTS = {name: body.get("default") for name, body in ROOT.labelled("variable").items()}
# Set only to point the SDK at the emulator; on OCI the region's own endpoints are right.
EMULATOR_ONLY = {"OCI_SERVICE_ENDPOINT"}


# Keys set only when the deployment uses them (IPv6 floating IPs, VIP groups); unset, the
# function's defaults are what the keys would say.
OPTIONAL_KEYS = {"VIP_IPV6_IDS", "VIP_GROUPS"}


@pytest.fixture(scope="module")
def deployed_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], set[str]]:
    """(always set, set only when used): the keys of the map terraform builds for a deployment
    with one IPv4 floating IP, and those it adds for IPv6 floating IPs and VIP groups."""
    if TERRAFORM is None:
        pytest.skip("terraform is not installed: config map not evaluated")
    nodes = node_entries(DEFAULTS["nodes"])
    vip, vip6 = "ocid1.privateip.oc1.iad.vip", "ocid1.ipv6.oc1.iad.vip6"
    bare = f"  vip_private_ip_ids     = {hcl([vip])}"
    full = f"{bare}\n  vip_ipv6_ids           = {hcl([vip6])}\n  vip_groups             = {hcl([[vip], [vip6]])}"
    always = set(evaluate(tmp_path_factory.mktemp("bare"), config_module(nodes, "never", False, bare))["config"])
    every = set(evaluate(tmp_path_factory.mktemp("full"), config_module(nodes, "never", False, full))["config"])
    return always, every - always


def test_the_config_module_sets_every_key_the_function_reads_and_no_other(
    deployed_keys: tuple[set[str], set[str]],
) -> None:
    always, optional = deployed_keys
    assert optional == OPTIONAL_KEYS and not always & optional
    assert always | optional == set(ENV_KEYS) - EMULATOR_ONLY


def test_the_emulators_topology_configures_the_same_keys(deployed_keys: tuple[set[str], set[str]]) -> None:
    """Terraform, the emulator's topology and the lab set exactly the same keys (conventions)."""
    always, optional = deployed_keys
    topology = two_node()
    for function in topology["functions"]:
        assert always <= set(function["config"]) - EMULATOR_ONLY <= always | optional, function["name"]


def test_the_function_is_configured_by_the_config_module() -> None:
    function = CONTROLLER.resources()[("oci_functions_function", "failover")]
    assert function["config"] == "${module.function_config.config}"
    operator = CONTROLLER.resources()[("oci_functions_function", "operator")]
    assert operator["config"] == '${merge(module.function_config.config, {ROLE = "operator"})}'
    assert operator["image"] == function["image"]  # the same image, deployed for the operators


def test_the_function_probes_each_nodes_agent_endpoint_not_haproxy() -> None:
    """health_url is the node agent's /healthz (200 only while the node can serve the floating
    IP), never haproxy's monitor-uri, which answers while the alias is gone."""
    nodes = ROOT.labelled("module")["controller"]["nodes"]
    assert 'health_url = "http://${var.nodes[name].private_ip}:${var.node_health_port}/healthz"' in nodes
    passed = CONTROLLER.labelled("module")["function_config"]["nodes"]
    assert "health_url = var.nodes[name].health_url" in " ".join(passed.split())
    defaults = {name: body.get("default") for name, body in ROOT.labelled("variable").items()}
    assert (defaults["node_health_port"], defaults["health_port"]) == (8405, 8404)


def node_entries(nodes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The NODES entries terraform/controller.tf builds, with example VNIC OCIDs."""
    return [
        {
            "name": name,
            "vnic_id": f"ocid1.vnic.oc1.iad.{name.replace('-', '')}",
            "health_url": f"http://{spec['private_ip']}:{DEFAULTS['node_health_port']}/healthz",
            "priority": spec["priority"],
        }
        for name, spec in sorted(nodes.items())
    ]


def config_module(nodes: list[dict[str, Any]], failback: str, dry_run: bool, vips: str) -> str:
    """function_config called as modules/controller calls it; `vips` sets its VIP arguments."""
    return f"""
module "config" {{
  source                 = {hcl(str(TERRAFORM_DIR / "modules" / "function_config"))}
{vips}
  nodes                  = {hcl(nodes)}
  failback_policy        = {hcl(failback)}
  cooldown_seconds       = {DEFAULTS["cooldown_seconds"]}
  probe_timeout_seconds  = {DEFAULTS["probe_timeout_seconds"]}
  probe_connect_timeout_seconds = {DEFAULTS["probe_connect_timeout_seconds"]}
  dry_run                = {hcl(dry_run)}
  retry_deadline_seconds = {DEFAULTS["retry_deadline_seconds"]}
  alarm_ids              = ["ocid1.alarm.oc1.iad.nodedown", "ocid1.alarm.oc1.iad.nodeabsent"]
  events_topic_id        = "ocid1.onstopic.oc1.iad.events"
  compartment_id         = "ocid1.compartment.oc1..vipfailover"
}}
output "config" {{
  value = module.config.config
}}
"""


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: config map not evaluated")
@pytest.mark.parametrize("failback, dry_run", [("never", False), ("preferred", True)])
def test_failover_config_accepts_what_terraform_builds(tmp_path: Path, failback: str, dry_run: bool) -> None:
    defaults = DEFAULTS
    nodes = node_entries(defaults["nodes"])
    main_tf = config_module(nodes, failback, dry_run, '  vip_private_ip_ids     = ["ocid1.privateip.oc1.iad.floating"]')
    env: dict[str, Any] = evaluate(tmp_path, main_tf)["config"]
    assert all(isinstance(value, str) for value in env.values()), "function config values are strings"
    assert not OPTIONAL_KEYS & set(env), "a deployment without IPv6 or groups is configured as before"
    config = Config.from_env(env)
    assert config.vip_private_ip_ids == ("ocid1.privateip.oc1.iad.floating",)
    assert [node.name for node in config.nodes] == ["node-a", "node-b"]  # highest priority first
    assert config.nodes[0].vnic_id == "ocid1.vnic.oc1.iad.nodea"
    assert config.failback_policy == failback
    assert config.dry_run is dry_run
    assert config.cooldown_seconds == defaults["cooldown_seconds"]
    assert config.retry_deadline_seconds == defaults["retry_deadline_seconds"]
    assert (config.probe_timeout_seconds, config.probe_connect_timeout_seconds) == (
        defaults["probe_timeout_seconds"],
        defaults["probe_connect_timeout_seconds"],
    )
    assert config.service_endpoint is None
    assert config.role == "events"
    assert config.alarm_ids == {"ocid1.alarm.oc1.iad.nodedown", "ocid1.alarm.oc1.iad.nodeabsent"}
    assert json.loads(env["NODES"]) == nodes
    assert (config.events_topic_id, config.compartment_id) == (
        "ocid1.onstopic.oc1.iad.events",
        "ocid1.compartment.oc1..vipfailover",
    )


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: config map not evaluated")
def test_three_nodes_two_ipv4_groups_and_an_ipv6_floating_ip_are_configured_as_the_contract_says(
    tmp_path: Path,
) -> None:
    three = {**DEFAULTS["nodes"], "node-c": {"private_ip": "10.0.0.6", "priority": 80}}
    vip, vip2, vip6 = "ocid1.privateip.oc1.iad.vip", "ocid1.privateip.oc1.iad.vip2", "ocid1.ipv6.oc1.iad.vip6"
    vips = f"""  vip_private_ip_ids     = {hcl([vip, vip2])}
  vip_ipv6_ids           = {hcl([vip6])}
  vip_groups             = {hcl([[vip, vip2], [vip6]])}"""
    env: dict[str, Any] = evaluate(tmp_path, config_module(node_entries(three), "never", False, vips))["config"]
    assert all(isinstance(value, str) for value in env.values()), "function config values are strings"
    assert env["VIP_PRIVATE_IP_IDS"] == f"{vip},{vip2}"
    assert env["VIP_IPV6_IDS"] == vip6
    assert json.loads(env["VIP_GROUPS"]) == [[vip, vip2], [vip6]]
    config = Config.from_env(env)
    assert [node.name for node in config.nodes] == ["node-a", "node-b", "node-c"]
    assert config.vip_private_ip_ids == (vip, vip2)


def test_memory_and_timeout_default_to_func_yaml() -> None:
    defaults = {name: body.get("default") for name, body in ROOT.labelled("variable").items()}
    func = yaml.safe_load((REPO / "func.yaml").read_text())
    assert defaults["function_memory_mb"] == func["memory"]
    assert defaults["function_timeout_seconds"] == func["timeout"]


def test_the_retry_deadline_default_fits_inside_the_function_timeout() -> None:
    defaults = {name: body.get("default") for name, body in ROOT.labelled("variable").items()}
    assert defaults["retry_deadline_seconds"] < defaults["function_timeout_seconds"]
    preconditions = CONTROLLER.resources()[("oci_functions_function", "failover")]["lifecycle"][0]["precondition"]
    assert any("var.retry_deadline_seconds < var.function_timeout_seconds" in p["condition"] for p in preconditions)
