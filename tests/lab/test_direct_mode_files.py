"""`lab up --fast-path-mode direct` without booting anything: the topology's IAM binding, the
configuration the node agents get, and the files terraform's modules render from it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from failover.config import Config
from health_probe.config import parse_config
from lab import bench, cloud, control, userdata
from lab.plan import ENDPOINT_PORT, PYTHON, REPO, ConfigObject, Plan
from lab.sources import urls
from lab.state import METHODS
from tests.support.terraform import TERRAFORM, TERRAFORM_DIR, Module

PLAN = Plan(Path("/nonexistent"))
TOPOLOGY = json.loads(cloud.TOPOLOGY.read_text())
ENDPOINT = "http://198.18.2.2:4321"


def controller_withholds() -> list[str]:
    """The keys the controller's output direct_fast_path_config leaves out (`contains([...], key)`)."""
    output = Module.load(TERRAFORM_DIR / "modules" / "controller").labelled("output")["direct_fast_path_config"]
    listed = re.search(r"!contains\(\[([^\]]+)\], key\)", output["value"])
    assert listed, output["value"]
    return re.findall(r'"([A-Z_]+)"', listed.group(1))


def firewall_script(cloud_init: str) -> str:
    [entry] = [
        f for f in yaml.safe_load(cloud_init)["write_files"] if f["path"] == "/usr/local/sbin/vip-failover-firewall"
    ]
    return str(entry["content"])


def test_the_emulators_iam_is_bound_with_the_mode_the_lab_deploys() -> None:
    assert cloud.lab_topology(PLAN, TOPOLOGY)["iam"]["bindings"]["var.fast_path_mode"] == "direct", "terraform's"
    function = cloud.lab_topology(PLAN, TOPOLOGY, fast_path_mode="function")
    assert function["iam"]["bindings"]["var.fast_path_mode"] == "function"
    assert TOPOLOGY["iam"]["bindings"]["var.fast_path_mode"] == "function", "the topology file itself is unchanged"


def test_the_agents_get_the_events_functions_lab_config_without_what_the_controller_withholds() -> None:
    lab = cloud.lab_topology(PLAN, TOPOLOGY, fast_path_mode="direct")
    config = cloud.direct_fast_path_config(lab, ENDPOINT)
    assert cloud.WITHHELD_FROM_NODES == tuple(controller_withholds()) == ("EVENTS_TOPIC_ID", "COMPARTMENT_ID")
    events = lab["functions"][0]["config"]
    assert config == {
        **{k: v for k, v in events.items() if k not in cloud.WITHHELD_FROM_NODES},
        "OCI_SERVICE_ENDPOINT": ENDPOINT,
    }
    settings = Config.from_env(config)
    # The SDK goes to the emulator, the probes to the lab's nodes: nothing to 169.254.169.254.
    assert settings.role == "events" and settings.service_endpoint == ENDPOINT
    assert [n.health_url for n in settings.nodes] == [n.health_url for n in PLAN.nodes]
    assert "169.254" not in json.dumps(config)


@pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")
def test_terraforms_modules_render_the_direct_agent_config_and_the_peers_firewall_rule(tmp_path: Path) -> None:
    lab = cloud.lab_topology(PLAN, TOPOLOGY, fast_path_mode="direct")
    facts = cloud.facts(lab)
    ready = {
        "endpoint": ENDPOINT,
        "region": "us-ashburn-1",
        "functions": {facts.function_name: lab["functions"][0]["id"]},
        "oci_config_file": "/nonexistent",
    }
    direct = cloud.direct_fast_path_config(lab, ENDPOINT)
    nodes_cloud = cloud.cloud_for_nodes(ready, facts, auth="instance_principal", fast_path_direct=direct)
    rendered = userdata.render(tmp_path, PLAN, nodes_cloud, urls(PLAN), ConfigObject("ns", "bucket"))
    for node in PLAN.nodes:
        agent = parse_config(yaml.safe_load(rendered[node.name].node_agent_yaml), source=node.name)
        assert agent.fast_path_direct == direct and agent.auth == "instance_principal"
        script = firewall_script(rendered[node.name].cloud_init)
        for peer in PLAN.others(node):
            assert f"allow -p tcp -s {peer.ip}/32 --dport {ENDPOINT_PORT} -m conntrack --ctstate NEW\n" in script
    function_mode = cloud.cloud_for_nodes(ready, facts, auth="instance_principal")
    plain = userdata.render(tmp_path / "function", PLAN, function_mode, urls(PLAN), ConfigObject("ns", "bucket"))
    assert all("fast_path_direct" not in yaml.safe_load(r.node_agent_yaml) for r in plain.values())


def test_the_benchs_fast_path_is_terraforms_default_direct_mode_in_a_lab_of_its_own() -> None:
    assert Module.load(TERRAFORM_DIR).labelled("variable")["fast_path_mode"]["default"] == cloud.DEFAULT_FAST_PATH_MODE
    assert "fast_path_direct" not in bench.BENCH_METHODS, "the default configuration is `fast_path` itself"
    setup = bench.lab_setup("fast_path")
    assert setup.fast_path_mode == "direct" and setup.emulator.extra_policy_tf == ""
    assert all(bench.lab_setup(m).fast_path_mode == "function" for m in bench.DEFAULT_METHODS if m != "fast_path")
    groups = bench.lab_groups(["floor", "fast_path", "fast_path_cold", "fast_path_warm"])
    assert [group for _, group in groups] == [["floor", "fast_path_cold", "fast_path_warm"], ["fast_path"]]
    # Both leave the function cold, as a deployment finds it, and keep the bound that fits a cold start.
    assert bench.trial_timeout("fast_path") == bench.trial_timeout("fast_path_cold") == bench.COLD_TRIAL_TIMEOUT_SECONDS


def lab_up(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), "-m", "lab", "up", *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )


def test_lab_up_deploys_terraforms_default_for_the_fast_path_and_the_function_mode_for_the_others() -> None:
    assert control.deployed_fast_path_mode("fast_path", None) == cloud.DEFAULT_FAST_PATH_MODE == "direct"
    assert control.deployed_fast_path_mode("fast_path", "function") == "function"
    assert {control.deployed_fast_path_mode(m, None) for m in METHODS if m != "fast_path"} == {"function"}


def test_lab_up_takes_the_mode_for_the_fast_path_only_and_refuses_it_before_building_anything() -> None:
    refused = lab_up("--processes", "--method", "seed_script", "--fast-path-mode", "direct")
    assert refused.returncode == 1
    assert "fast_path_mode direct is a way of the fast path: method seed_script" in refused.stderr
    unknown = lab_up("--fast-path-mode", "lambda")
    assert unknown.returncode == 2 and "invalid choice: 'lambda'" in unknown.stderr
