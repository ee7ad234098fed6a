"""`terraform validate` and `terraform plan` of the root module, offline: OCI resources stood in
by terraform_data (tests/support/tf_skeleton.py), so the real terraform checks the dependency graph, references,
expressions, variable validations and preconditions. It caught a real cycle once: node-agent.yaml
(instance OCIDs) and cloud-init in one module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM, TERRAFORM_DIR, Module, run_terraform
from tests.support.tf_skeleton import skeleton, write_skeleton

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: root module not validated")


def test_the_root_module_validates_with_oci_resources_stood_in(stand_in_root: Path) -> None:
    run_terraform(stand_in_root, "validate")


def test_the_example_variables_plan(stand_in_root: Path) -> None:
    """Plan evaluates every expression whose inputs are known: variable validations, placement,
    the rendered cloud-init of both nodes, preconditions."""
    plan = run_terraform(stand_in_root, "plan", "-input=false", "-var-file=example.tfvars")
    assert "terraform_data.oci_core_instance__node[\"node-a\"]" in plan.stdout


@pytest.mark.parametrize(
    "override, message",
    [
        ("admin_cidr=0.0.0.0/0", "admin_cidr must be a CIDR narrower than 0.0.0.0/0"),
        ("floating_ip=10.0.0.2", "floating_ip must differ from both nodes' primary IPs"),
        ("retry_deadline_seconds=60", "retry_deadline_seconds must be below function_timeout_seconds"),
        ("failback_policy=always", "failback_policy must be never or preferred"),
    ],
)
def test_unsafe_variables_are_refused_before_anything_is_created(
    stand_in_root: Path, override: str, message: str
) -> None:
    plan = run_terraform(stand_in_root, "plan", "-input=false", "-var-file=example.tfvars", f"-var={override}", ok=False)
    assert plan.returncode != 0
    assert message in " ".join(plan.stderr.split()), plan.stderr


def test_every_oci_resource_and_data_source_has_a_stand_in() -> None:
    root = Module.load(TERRAFORM_DIR)
    text = skeleton(TERRAFORM_DIR)
    expected = len(root.resources("resource")) + len(root.resources("data"))
    assert text.count('resource "terraform_data"') == expected + 1  # + the "known after apply" seed
    assert "oci_core_instance.node" not in text, "every reference points at a stand-in"


@pytest.mark.parametrize("example", ["existing-nodes", "full-stack"])
def test_each_example_validates_with_oci_resources_stood_in(tmp_path: Path, example: str) -> None:
    """examples/: the controller alone on existing nodes, and the whole stack as a module call."""
    for shared in ("health_probe", "templates"):
        (tmp_path / shared).symlink_to(REPO / shared)
    workdir = tmp_path / "examples" / example
    write_skeleton(REPO / "examples" / example, workdir)
    run_terraform(workdir, "init", "-backend=false", "-input=false")
    run_terraform(workdir, "validate")
