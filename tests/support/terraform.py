"""Offline views of terraform/: its .tf files parsed with python-hcl2, and provider-free modules
run with the real terraform binary.

No provider can be downloaded on our machines, so `terraform validate`/`plan` of the root module
are impossible here. What can be checked is checked for real: the files parse, names resolve,
and the modules that only render text (templates, the function's configuration) are evaluated by
terraform itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

from tests.support.paths import REPO

TERRAFORM_DIR = REPO / "terraform"
MODULE_DIRS = (TERRAFORM_DIR, *sorted(p for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir()))
TERRAFORM = shutil.which("terraform")
# checkov pins many packages, so it has a venv of its own (requirements-checkov.txt; `make test` builds it).
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


# Markers python-hcl2 adds to its output; not part of the configuration.
PARSER_KEYS = ("__is_block__", "__comments__", "__inline_comments__")


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes ('"x"'); strip them, recursively."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in PARSER_KEYS}
    return value


@dataclass(frozen=True)
class Module:
    """One terraform module directory, every .tf file in it merged."""

    path: Path
    blocks: dict[str, list[dict[str, Any]]]

    @classmethod
    def load(cls, path: Path) -> Module:
        blocks: dict[str, list[dict[str, Any]]] = {}
        for tf in sorted(path.glob("*.tf")):
            with tf.open() as handle:
                for kind, items in hcl2.load(handle).items():
                    blocks.setdefault(kind, []).extend(unquote(items))
        return cls(path=path, blocks=blocks)

    def labelled(self, kind: str) -> dict[str, dict[str, Any]]:
        """`variable`, `output`, `module`: name -> body."""
        return {name: body for item in self.blocks.get(kind, []) for name, body in item.items()}

    def resources(self, kind: str = "resource") -> dict[tuple[str, str], dict[str, Any]]:
        """`resource` or `data`: (type, name) -> body."""
        return {
            (rtype, name): body
            for item in self.blocks.get(kind, [])
            for rtype, named in item.items()
            for name, body in named.items()
        }

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in self.blocks.get("locals", []):
            merged.update(item)
        return merged

    def expressions(self) -> Iterator[str]:
        """Every string in the module (expressions included), for reference scanning; not the
        addresses of `moved` blocks, which name what used to exist."""
        yield from _strings({kind: items for kind, items in self.blocks.items() if kind != "moved"})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def terraform_env(home: Path) -> dict[str, str]:
    """terraform with no user CLI config and no plugin cache: nothing outside `home`."""
    config = home / "terraformrc"
    config.write_text("")
    return {**os.environ, "TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}


def evaluate(workdir: Path, main_tf: str) -> dict[str, Any]:
    """Write `main_tf` (which calls provider-free modules) to `workdir`, apply it with the real
    terraform binary and return its outputs' values. Offline: local modules need no download."""
    assert TERRAFORM is not None
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(main_tf)
    env = terraform_env(workdir)
    for args in (["init", "-backend=false", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        run = subprocess.run([TERRAFORM, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"terraform {args[0]} failed:\n{run.stdout}\n{run.stderr}"
    out = subprocess.run(
        [TERRAFORM, "output", "-json"], cwd=workdir, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return {name: entry["value"] for name, entry in json.loads(out.stdout).items()}


def hcl(value: Any) -> str:
    """A Python value as an HCL literal (JSON is valid HCL for strings, numbers, bools, lists
    and objects with quoted keys)."""
    return json.dumps(value)


REFERENCE = re.compile(r"(?<![\w.])(var|local|module|data)\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")
RESOURCE_REFERENCE = re.compile(r"(?<![\w.])(oci_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


@cache
def root_module() -> Module:
    """terraform/ itself, parsed once per test run."""
    return Module.load(TERRAFORM_DIR)


def variable_defaults() -> dict[str, Any]:
    """terraform/variables.tf's defaults: variable name -> default (None when it has none)."""
    return {name: body.get("default") for name, body in root_module().labelled("variable").items()}


def run_terraform(workdir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """``terraform ARGS -no-color`` in ``workdir`` (no user CLI config); asserts success when ``ok``."""
    run = subprocess.run(
        [TERRAFORM, *args, "-no-color"],
        cwd=workdir,
        env=terraform_env(workdir.parent),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok:
        assert run.returncode == 0, f"terraform {args[0]}:\n{run.stdout}\n{run.stderr}"
    return run
