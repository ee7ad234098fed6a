"""`python -m health_probe install` in a booted lab node, as an operator runs it on a node that
already exists: with the node's node-agent.yaml from elsewhere, it installs the configuration,
restarts the agent and prints the keepalived lines; the booted node's own bootstrap ran it too."""

from __future__ import annotations

from pathlib import Path

import pytest

from health_probe.install import keepalived_snippet, notify_commands
from lab import machines
from tests.support.booted_lab import BootedLab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def test_cloud_inits_bootstrap_installed_the_agent_with_the_install_command(booted_lab: BootedLab) -> None:
    for node in booted_lab.state.plan.nodes:
        output = (machines.root(booted_lab.state.plan, node) / "var" / "log" / "cloud-init-output.log").read_text()
        assert "health_probe install: enabled and started vip-failover-probe.service" in output


def test_install_on_a_running_node_installs_the_config_restarts_the_agent_and_prints_keepalived_lines(
    booted_lab: BootedLab,
) -> None:
    plan = booted_lab.state.plan
    node = plan.nodes[1]
    root = machines.root(plan, node)
    installed = root / "etc" / "oci-vip-failover" / "node-agent.yaml"
    # The operator's copy, as examples/existing-nodes renders it, brought to the node by hand.
    handed = root / "root" / "node-agent.yaml"
    handed.write_text(installed.read_text())
    before = machines.run_in(plan, node, "systemctl", "show", "-p", "MainPID", "--value", "vip-failover-probe").stdout
    result = machines.run_in(
        plan,
        node,
        "/opt/oci-vip-failover/.venv/bin/python",
        "-m",
        "health_probe",
        "install",
        "--config",
        "/root/node-agent.yaml",
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == keepalived_snippet(notify_commands())
    assert "wrote /etc/oci-vip-failover/node-agent.yaml from /root/node-agent.yaml" in result.stderr
    assert machines.active(plan, node, "vip-failover-probe")
    after = machines.run_in(plan, node, "systemctl", "show", "-p", "MainPID", "--value", "vip-failover-probe").stdout
    assert after.strip() != before.strip(), "the agent was restarted on the new configuration"
    # The printed lines are what this node's keepalived.conf (rendered by terraform) carries.
    conf = {line.strip() for line in (root / "etc" / "keepalived" / "keepalived.conf").read_text().splitlines()}
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip() and not line.startswith("#")]
    assert [line for line in lines if line not in conf] == []
    # notify, run as keepalived runs it (from /, through /usr/bin/env), finds health_probe.
    check = machines.run_in(
        plan,
        node,
        "/usr/bin/env",
        "/opt/oci-vip-failover/.venv/bin/python",
        "-c",
        "import health_probe.notify",
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_install_refuses_a_bad_config_on_the_node_and_keeps_the_running_one(booted_lab: BootedLab) -> None:
    plan = booted_lab.state.plan
    node = plan.nodes[0]
    root = machines.root(plan, node)
    installed = root / "etc" / "oci-vip-failover" / "node-agent.yaml"
    good = installed.read_text()
    (root / "root" / "bad.yaml").write_text("node: node-a\n")
    result = machines.run_in(
        plan,
        node,
        "/opt/oci-vip-failover/.venv/bin/python",
        "-m",
        "health_probe",
        "install",
        "--config",
        "/root/bad.yaml",
        check=False,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.startswith("health_probe install: /root/bad.yaml")
    assert installed.read_text() == good
    assert machines.active(plan, node, "vip-failover-probe")
    assert Path(root / "root" / "bad.yaml").exists()
