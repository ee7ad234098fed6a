"""`python -m health_probe install`, run as a user runs it, outside a node: what it must refuse
before it touches anything. Installing for real is tested in a booted lab node
(tests/lab/test_install_on_node.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from health_probe.install import CONFIG_PATH, SYSTEMD_DIR, UNIT_NAME
from tests.support.paths import REPO

VALID = """\
node: node-a
compartment_id: ocid1.compartment.oc1..example
auth: instance_principal
interval_seconds: 10
targets:
  - {name: node-a, role: node, url: "http://10.0.0.2:8404/healthz", resource_id: ocid1.instance.oc1.iad.example}
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "health_probe", "install", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def untouched() -> tuple[bool, bool]:
    return CONFIG_PATH.exists(), (SYSTEMD_DIR / UNIT_NAME).exists()


def test_a_bad_configuration_is_refused_clearly_and_changes_nothing(tmp_path: Path) -> None:
    before = untouched()
    config = tmp_path / "node-agent.yaml"
    config.write_text("node: node-a\ntargets: not-a-list\n")
    result = run("--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"health_probe install: {config}") and result.stdout == ""
    assert untouched() == before


def test_a_missing_configuration_is_refused(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2 and "health_probe install:" in result.stderr


def test_a_checkout_elsewhere_than_the_units_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """This test's checkout is not /opt/oci-vip-failover: the unit could not run it."""
    before = untouched()
    config = tmp_path / "node-agent.yaml"
    config.write_text(VALID)
    result = run("--config", str(config))
    assert untouched() == before
    assert result.returncode == 2
    assert f"health_probe runs from {REPO}; clone the project to /opt/oci-vip-failover" in result.stderr
