"""The shared templates, rendered for the process-mode lab by terraform's own templatefile():
every variable documented in the template's header, and the results accepted by the real
haproxy, keepalived and the node agent."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from health_probe.config import parse_config
from lab.plan import Cloud, Plan, haproxy_vars, keepalived_vars, node_agent_vars
from lab.userdata import TEMPLATES, templatefile

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")

NAMES = ("haproxy.cfg.tftpl", "keepalived.conf.tftpl", "node-agent.yaml.tftpl")


def template_variables(name: str) -> set[str]:
    """The template's variables: what it interpolates, less the names its for loops bind."""
    text = (TEMPLATES / name).read_text()
    bound = {n.strip() for names in re.findall(r"%\{~?\s*for\s+([\w\s,]+?)\s+in\s", text) for n in names.split(",")}
    return set(re.findall(r"(?<!\$)\$\{\s*(\w+)\s*\}", text)) - bound


def render_file(tmp_path: Path, name: str, variables: dict) -> str:
    return templatefile(tmp_path / "terraform", {"file": (name, variables)})["file"]


@pytest.mark.parametrize("name", NAMES)
def test_every_variable_is_documented_in_the_header(name: str) -> None:
    header = (TEMPLATES / name).read_text().split("\n\n")[0]
    documented = set(re.findall(r"^#\s{2,}(\w+)\s", header, flags=re.M))
    assert template_variables(name) and template_variables(name) <= documented


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make lab-deps)")
def test_haproxy_accepts_the_rendered_config(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_file(tmp_path, "haproxy.cfg.tftpl", haproxy_vars(plan, plan.nodes[0])))
    done = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed (make lab-deps)")
def test_keepalived_accepts_the_rendered_config(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    config = tmp_path / "keepalived.conf"
    variables = keepalived_vars(plan, plan.nodes[0], "/bin/true", "/bin/true")
    config.write_text(render_file(tmp_path, "keepalived.conf.tftpl", variables))
    done = subprocess.run(["keepalived", "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    text = config.read_text()
    assert "script_user root" in text
    for state in ("BACKUP", "FAULT", "STOP"):
        assert f'notify_{state.lower()} "/bin/true --state {state}"' in text


def test_the_lab_node_agent_serves_the_endpoint_the_function_probes(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    node = plan.nodes[0]
    cloud = Cloud(
        endpoint="http://198.18.2.2:1",
        region="us-ashburn-1",
        compartment_id="ocid1.compartment.oc1..c",
        function_id="ocid1.fnfunc.oc1.iad.f",
        oci_config_file="/x",
        vip_private_ip_id="ocid1.privateip.oc1.iad.v",
        instance_ids={n.name: f"ocid1.instance.oc1.iad.{n.name}" for n in plan.nodes},
    )
    rendered = render_file(tmp_path, "node-agent.yaml.tftpl", node_agent_vars(plan, node, cloud))
    config = parse_config(yaml.safe_load(rendered))
    assert f"http://{config.endpoint_address}:{config.endpoint_port}/healthz" == node.health_url
    assert config.floating_ips == (plan.vip,) and config.haproxy_url == "http://127.0.0.1:8404/healthz"
    # The agents' metrics still report haproxy (a BACKUP without the alias is not "down").
    assert {t.url for t in config.targets if t.role == "node"} == {n.haproxy_url for n in plan.nodes}
