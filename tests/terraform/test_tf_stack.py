"""The Resource Manager stack: schema.yaml describes exactly the variables of variables.tf (each
in one group, required ones marked), and `make stack` builds a zip that holds the root module, its
modules, schema.yaml and every file the modules read from beside terraform/."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM_DIR, Module

ROOT = Module.load(TERRAFORM_DIR)
VARIABLES = ROOT.labelled("variable")
SCHEMA = yaml.safe_load((TERRAFORM_DIR / "schema.yaml").read_text())


def test_the_schema_describes_exactly_the_stacks_variables() -> None:
    assert set(SCHEMA["variables"]) == set(VARIABLES)
    for name, spec in SCHEMA["variables"].items():
        assert spec["description"] == VARIABLES[name]["description"], name
        assert spec["required"] is ("default" not in VARIABLES[name]), f"{name}: required iff it has no default"
        assert spec["type"] == schema_type(VARIABLES[name]["type"]) or (
            spec["type"].startswith("oci:") and VARIABLES[name]["type"] == "string"
        ), f"{name}: Resource Manager wants the schema's type to be terraform's"


def schema_type(terraform_type: str) -> str:
    """A map or object has no form type: those stay hidden, with their defaults (test below)."""
    simple = {"string": "string", "number": "number", "bool": "boolean"}
    if terraform_type in simple:
        return simple[terraform_type]
    return "array" if terraform_type.startswith("${list(") else "string"


def test_variables_without_a_form_type_are_hidden_and_have_defaults() -> None:
    for name, body in VARIABLES.items():
        if body["type"].startswith(("${map(", "${object(")):
            assert SCHEMA["variables"][name].get("visible") is False and "default" in body, name


def test_every_variable_is_in_exactly_one_group() -> None:
    grouped = [name for group in SCHEMA["variableGroups"] for name in group["variables"]]
    assert sorted(grouped) == sorted(VARIABLES)
    assert all(group["title"] for group in SCHEMA["variableGroups"])


def test_required_variables_a_user_must_fill_are_visible() -> None:
    """Resource Manager fills tenancy_ocid and region itself; any other required one is a field."""
    for name, spec in SCHEMA["variables"].items():
        if spec["required"] and name not in ("tenancy_ocid", "region"):
            assert spec.get("visible", True) is True, name


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_stack_builds_a_zip_with_what_resource_manager_needs(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    # The repository's own files only (tracked, or new and not ignored): never a lab's run/ dir,
    # venvs or build output, which can be gigabytes and change while they are copied.
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    run = subprocess.run(["make", "stack"], cwd=checkout, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    names = set(zipfile.ZipFile(checkout / "build" / "vip-failover-stack.zip").namelist())
    tf_files = {p.relative_to(REPO).as_posix() for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts}
    assert tf_files <= names and "terraform/schema.yaml" in names
    # What the modules read through ${path.module}/.. must sit where they read it.
    read = set()
    for tf in TERRAFORM_DIR.rglob("*.tf"):
        for ref in re.findall(r"\$\{path\.module\}/((?:\.\./)+[\w./-]+)", tf.read_text()):
            read.add((tf.parent / ref).resolve().relative_to(REPO).as_posix())
    assert read and read <= names | {n.rsplit("/", 1)[0] for n in names}
    assert not any(name.startswith((".venv", "tests/", "failover/")) for name in names)
