"""The shared templates: rendered exactly as terraform's templatefile() renders them, every
variable documented in the template's header (terraform passes those), and the results accepted
by the real haproxy and keepalived."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from health_probe.config import parse_config
from lab.plan import Cloud, Plan, haproxy_vars, keepalived_vars, node_agent_vars
from lab.render import TEMPLATES, TemplateError, render, render_file, template_variables

NAMES = ("haproxy.cfg.tftpl", "keepalived.conf.tftpl", "node-agent.yaml.tftpl")


def sample_vars(name: str) -> dict[str, str]:
    return {var: f"value-of-{var}" for var in template_variables(name)}


def test_escapes_and_interpolation_follow_terraform() -> None:
    assert render("a $${b} %%{c} ${ d } ${e}", {"d": 0.2, "e": True}) == "a ${b} %{c} 0.2 true"


@pytest.mark.parametrize("text", ["${missing}", "%{ if x }y%{ endif }", "${a.b}", "${upper(a)}"])
def test_what_terraform_would_render_differently_is_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        render(text, {"a": "x"})


@pytest.mark.parametrize("name", NAMES)
def test_every_variable_is_documented_in_the_header(name: str) -> None:
    header = (TEMPLATES / name).read_text().split("\n\n")[0]
    documented = set(re.findall(r"^#\s{2,}(\w+)\s", header, flags=re.M))
    assert template_variables(name) <= documented


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_lab_renders_exactly_what_terraform_renders(name: str, tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "vars" { type = map(string) }\nvariable "file" { type = string }\n'
        'output "text" { value = templatefile(var.file, var.vars) }\n')
    variables = sample_vars(name)
    (tmp_path / "t.tfvars.json").write_text(json.dumps({"file": str(TEMPLATES / name), "vars": variables}))
    env = {"TF_IN_AUTOMATION": "1", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    for command in (["init", "-input=false"], ["apply", "-input=false", "-auto-approve", "-var-file=t.tfvars.json"]):
        subprocess.run(["terraform", *command], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60)
    rendered = subprocess.run(["terraform", "output", "-raw", "text"], cwd=tmp_path, env=env, check=True,
                              capture_output=True, text=True, timeout=60).stdout
    assert rendered == render_file(name, variables)


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make lab-deps)")
def test_haproxy_accepts_the_rendered_config(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_file("haproxy.cfg.tftpl", haproxy_vars(plan, plan.nodes[0])))
    done = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("keepalived") is None, reason="keepalived is not installed (make lab-deps)")
def test_keepalived_accepts_the_rendered_config(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    config = tmp_path / "keepalived.conf"
    config.write_text(render_file("keepalived.conf.tftpl", keepalived_vars(plan, plan.nodes[0], "/bin/true", "/bin/true")))
    done = subprocess.run(["keepalived", "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    text = config.read_text()
    assert "script_user root" in text
    for state in ("BACKUP", "FAULT", "STOP"):
        assert f'notify_{state.lower()} "/bin/true --state {state}"' in text


def test_the_lab_node_agent_serves_the_endpoint_the_function_probes(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    node = plan.nodes[0]
    cloud = Cloud(endpoint="http://198.18.2.2:1", region="us-ashburn-1", compartment_id="ocid1.compartment.oc1..c",
                  function_id="ocid1.fnfunc.oc1.iad.f", oci_config_file="/x", vip_private_ip_id="ocid1.privateip.oc1.iad.v",
                  instance_ids={n.name: f"ocid1.instance.oc1.iad.{n.name}" for n in plan.nodes})
    config = parse_config(yaml.safe_load(render_file("node-agent.yaml.tftpl", node_agent_vars(plan, node, cloud))))
    assert f"http://{config.endpoint_address}:{config.endpoint_port}/healthz" == node.health_url
    assert config.floating_ips == (plan.vip,) and config.haproxy_url == "http://127.0.0.1:8404/healthz"
    # The agents' metrics still report haproxy (a BACKUP without the alias is not "down").
    assert {t.url for t in config.targets if t.role == "node"} == {n.haproxy_url for n in plan.nodes}
