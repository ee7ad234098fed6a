"""tests/terraform fixtures: the root module with OCI resources stood in, for validate and plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.terraform import TERRAFORM_DIR, run_terraform
from tests.support.tf_skeleton import write_skeleton


@pytest.fixture(scope="module")
def stand_in_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The skeleton, initialised, in <tmp>/terraform so that ${path.module}/../health_probe etc.
    resolve; with the example variables beside it."""
    base = tmp_path_factory.mktemp("root")
    workdir = base / "terraform"
    workdir.mkdir()
    for shared in ("health_probe", "templates"):
        (base / shared).symlink_to(REPO / shared)
    write_skeleton(TERRAFORM_DIR, workdir)
    (workdir / "example.tfvars").write_text((TERRAFORM_DIR / "terraform.tfvars.example").read_text())
    run_terraform(workdir, "init", "-backend=false", "-input=false")
    return workdir
