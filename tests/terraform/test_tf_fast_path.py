"""The two fast-path options: ``fast_path_mode``, ``"direct"`` by default (the node agent runs the
function's core itself: no cold start on keepalived's notice) or ``"function"`` (the agent invokes
the events function), and ``provisioned_concurrency`` (PCUs kept warm for the events function,
off by default: it is billed, and only the function mode calls the function). Checked by the real terraform where it can run offline (the stand-in root's plan,
the provider-free modules' rendering) and statically where only a real apply could tell."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from failover.config import Config
from health_probe.config import parse_config
from ocisim.functions.models import provisioned_concurrency
from tests.support.terraform import TERRAFORM, TERRAFORM_DIR, Module, evaluate, hcl, run_terraform
from tests.support.tf_nodes import DEFAULTS, NodeLayout, node_modules
from tests.terraform.test_tf_function_config import config_module, node_entries

ROOT = Module.load(TERRAFORM_DIR)
CONTROLLER = Module.load(TERRAFORM_DIR / "modules" / "controller")
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")


def test_the_default_is_direct_mode_without_pcus() -> None:
    for module in (ROOT, CONTROLLER):
        variables = module.labelled("variable")
        assert (variables["provisioned_concurrency"]["default"], variables["fast_path_mode"]["default"]) == (
            0,
            "direct",
        )


def test_the_controller_gets_both_options_and_the_nodes_get_the_direct_config() -> None:
    controller = ROOT.labelled("module")["controller"]
    assert controller["provisioned_concurrency"] == "${var.provisioned_concurrency}"
    assert controller["fast_path_mode"] == "${var.fast_path_mode}"
    node_agent = ROOT.labelled("module")["node_agent"]
    assert node_agent["fast_path_direct"] == "${module.controller.direct_fast_path_config}"
    firewall = ROOT.labelled("module")["node_config"]["firewall"]
    assert firewall["peer_endpoint"] == '${var.fast_path_mode == "direct"}'


def withheld_keys() -> list[str]:
    """The function's keys the controller keeps from the nodes in direct mode (events topic and
    metrics' compartment: the nodes get no grant for them), read from its output."""
    value = " ".join(CONTROLLER.labelled("output")["direct_fast_path_config"]["value"].split())
    match = re.fullmatch(
        r'\$\{var\.fast_path_mode != "direct" \? \{\} : \{for key, value in module\.function_config\.config : '
        r"key => value if !contains\(\[(?P<keys>[^\]]+)\], key\)\}\}",
        value,
    )
    assert match, value
    return re.findall(r'"([A-Z_]+)"', match.group("keys"))


def test_in_direct_mode_the_nodes_get_the_events_functions_config_without_the_events_topic() -> None:
    assert withheld_keys() == ["EVENTS_TOPIC_ID", "COMPARTMENT_ID"]


@needs_terraform
def test_direct_mode_renders_the_config_the_agent_and_the_function_both_accept(tmp_path: Path) -> None:
    """node-agent.yaml's fast_path_direct is the events function's configuration (as terraform's
    function_config module builds it), which the agent's own parser and failover/config.py accept;
    the host firewall admits the peers' probes of this node's agent."""
    vips = '  vip_private_ip_ids     = ["ocid1.privateip.oc1.iad.vip"]'
    function = evaluate(tmp_path / "fn", config_module(node_entries(DEFAULTS["nodes"]), "never", False, vips))["config"]
    settings = {key: value for key, value in function.items() if key not in withheld_keys()}
    topology = NodeLayout()
    nodes = "\n".join(node_modules(topology, name, fast_path_direct=settings) for name in topology.nodes)
    rendered = evaluate(tmp_path / "nodes", nodes)
    port = DEFAULTS["node_health_port"]
    for name in topology.nodes:
        agent = parse_config(yaml.safe_load(rendered[name]["node_agent_yaml"]), source=name)
        assert agent.fast_path_direct == settings
        assert Config.from_env(settings).role == "events"
        script = firewall_of(rendered[name])
        for peer in topology.peers(name):
            ip = topology.nodes[peer]["private_ip"]
            assert f"allow -p tcp -s {ip}/32 --dport {port} -m conntrack --ctstate NEW\n" in script


@needs_terraform
def test_function_mode_renders_no_direct_config_and_no_peer_rule(tmp_path: Path) -> None:
    topology = NodeLayout()
    rendered = evaluate(tmp_path, "\n".join(node_modules(topology, name) for name in topology.nodes))
    port = DEFAULTS["node_health_port"]
    for name in topology.nodes:
        assert "fast_path_direct" not in yaml.safe_load(rendered[name]["node_agent_yaml"])
        script = firewall_of(rendered[name])
        assert [line for line in script.splitlines() if f"--dport {port}" in line] == [
            f"allow -p tcp -s {DEFAULTS['functions_subnet_cidr']} --dport {port} -m conntrack --ctstate NEW"
        ]


def firewall_of(outputs: dict[str, Any]) -> str:
    cloud_config = yaml.safe_load(outputs["cloud_init"])
    [entry] = [f for f in cloud_config["write_files"] if f["path"] == "/usr/local/sbin/vip-failover-firewall"]
    return str(entry["content"])


# (memory MB, PCUs) -> accepted? OCI's table: 128 MB from 40 in 40s, 256 MB from 20 in 20s,
# 512 MB and more from 10 in 10s; 0 is off at any size.
PCU_CASES = [
    (128, 0, True),
    (128, 40, True),
    (128, 80, True),
    (128, 20, False),
    (128, 10, False),
    (256, 20, True),
    (256, 60, True),
    (256, 10, False),
    (256, 30, False),
    (512, 10, True),
    (1024, 30, True),
    (3072, 10, True),
    (512, 15, False),
]


def unwrapped(expression: str) -> str:
    return " ".join(expression.removeprefix("${").removesuffix("}").split())


@needs_terraform
def test_pcus_follow_ocis_minimum_and_step_for_the_memory_and_map_onto_the_emulators_topology(tmp_path: Path) -> None:
    """The controller's own local and precondition, evaluated by terraform for each case; what
    it sends is the shape the emulator's functions[].provisionedConcurrencyConfig takes."""
    functions = CONTROLLER.locals()
    [precondition] = [
        p
        for p in CONTROLLER.resources()[("oci_functions_function", "failover")]["lifecycle"][0]["precondition"]
        if "provisioned_concurrency" in p["condition"]
    ]

    def per_case(expression: str) -> str:
        text = unwrapped(expression).replace("local.pcu_step", f"({unwrapped(functions['pcu_step'])})")
        return text.replace("var.function_memory_mb", "c.memory").replace("var.provisioned_concurrency", "c.pcus")

    cases = [{"memory": memory, "pcus": pcus} for memory, pcus, _ in PCU_CASES]
    main_tf = f"""
locals {{
  cases = {hcl(cases)}
}}
output "accepted" {{
  value = [for c in local.cases : {per_case(precondition["condition"])}]
}}
output "config" {{
  value = [for c in local.cases : {per_case(functions["provisioned_concurrency"])}]
}}
"""
    out = evaluate(tmp_path, main_tf)
    assert out["accepted"] == [ok for _, _, ok in PCU_CASES]
    for (_, pcus, _), config in zip(PCU_CASES, out["config"], strict=True):
        topology = {key: value for key, value in config.items() if value is not None}
        assert provisioned_concurrency(topology) == (
            {"strategy": "CONSTANT", "count": pcus} if pcus else {"strategy": "NONE"}
        )


def test_the_events_function_sends_the_config_and_the_operators_function_none() -> None:
    functions = CONTROLLER.resources()
    [block] = functions[("oci_functions_function", "failover")]["provisioned_concurrency_config"]
    assert block == {
        "strategy": "${local.provisioned_concurrency.strategy}",
        "count": "${local.provisioned_concurrency.count}",
    }
    assert "provisioned_concurrency_config" not in functions[("oci_functions_function", "operator")]


@needs_terraform
@pytest.mark.parametrize(
    "overrides, message",
    [
        (["provisioned_concurrency=20"], "provisioned_concurrency must be 0 or a multiple of 40 PCUs"),
        (["provisioned_concurrency=10", "function_memory_mb=256"], "multiple of 20 PCUs"),
        (["provisioned_concurrency=-10"], "provisioned_concurrency: a whole number of PCUs"),
        (["provisioned_concurrency=40.5"], "provisioned_concurrency: a whole number of PCUs"),
        (["fast_path_mode=agent"], 'fast_path_mode must be "function" or "direct"'),
    ],
)
def test_bad_options_are_refused_at_plan(stand_in_root: Path, overrides: list[str], message: str) -> None:
    plan = run_terraform(
        stand_in_root, "plan", "-input=false", "-var-file=example.tfvars", *[f"-var={o}" for o in overrides], ok=False
    )
    assert plan.returncode != 0
    assert message in " ".join(plan.stderr.split()), plan.stderr


def nodes_policy_statements(plan: str) -> int:
    """How many statements the nodes' policy is planned with (their text is known after apply)."""
    block = plan.split('resource "terraform_data" "oci_identity_policy__nodes"', 1)[1].split("\n    }\n", 1)[0]
    return block.split("read their config", 1)[1].count("(known after apply)")


@needs_terraform
@pytest.mark.parametrize(
    "overrides, pcus, statements, peer_rule",
    [
        ([], ["NONE", "null"], 6, True),
        (["fast_path_mode=function"], ["NONE", "null"], 3, False),
        (["fast_path_mode=function", "provisioned_concurrency=40"], ["CONSTANT", "40"], 3, False),
        (
            ["fast_path_mode=function", "provisioned_concurrency=10", "function_memory_mb=512"],
            ["CONSTANT", "10"],
            3,
            False,
        ),
    ],
    ids=["default-direct", "function", "function-pcus-128mb", "function-pcus-512mb"],
)
def test_each_option_plans_what_it_says(
    stand_in_root: Path, overrides: list[str], pcus: list[str], statements: int, peer_rule: bool
) -> None:
    plan = run_terraform(
        stand_in_root, "plan", "-input=false", "-var-file=example.tfvars", *[f"-var={o}" for o in overrides]
    ).stdout
    function = plan.split('resource "terraform_data" "oci_functions_function__failover"', 1)[1].split("\n    }\n", 1)[0]
    # The stand-in's last two inputs: provisioned_concurrency_config's strategy and count.
    assert [line.strip().removeprefix("+ ").rstrip(",").strip('"') for line in function.splitlines()[-3:-1]] == pcus
    # The nodes: metrics, invoke, their config's bucket; in direct mode also private IPs, VNICs, public IPs.
    assert nodes_policy_statements(plan) == statements
    assert ("nodes_agent_from_peers[0] will be created" in plan) is peer_rule
