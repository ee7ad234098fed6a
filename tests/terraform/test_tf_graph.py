"""`terraform validate` of the root module, offline: OCI resources stood in by terraform_data
(tf_skeleton.py), so the real terraform checks the dependency graph, references and expressions.
It caught a real cycle once: node-agent.yaml (instance OCIDs) and cloud-init in one module."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tf_helpers import REPO, TERRAFORM, TERRAFORM_DIR, Module, terraform_env
from tf_skeleton import skeleton

pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed: root module not validated")


def test_the_root_module_validates_with_oci_resources_stood_in(tmp_path: Path) -> None:
    # The skeleton sits in <tmp>/terraform so that ${path.module}/../health_probe etc. resolve.
    workdir = tmp_path / "terraform"
    workdir.mkdir()
    for shared in ("health_probe", "templates"):
        (tmp_path / shared).symlink_to(REPO / shared)
    (workdir / "main.tf").write_text(skeleton(TERRAFORM_DIR))
    env = terraform_env(tmp_path)
    for args in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
        run = subprocess.run([TERRAFORM, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"terraform {args[0]}:\n{run.stdout}\n{run.stderr}"


def test_every_oci_resource_and_data_source_has_a_stand_in() -> None:
    root = Module.load(TERRAFORM_DIR)
    text = skeleton(TERRAFORM_DIR)
    expected = len(root.resources("resource")) + len(root.resources("data"))
    assert text.count('resource "terraform_data"') == expected
    assert "oci_core_instance.node" not in text, "every reference points at a stand-in"
