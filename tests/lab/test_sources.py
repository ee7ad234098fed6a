"""What the booted nodes clone: a snapshot of the working tree under test, made without
touching the repository's branches, index or files."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab import sources
from lab.plan import REPO


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def test_the_snapshot_is_the_working_tree_with_the_overrides(tmp_path: Path) -> None:
    before = git("-C", str(REPO), "status", "--porcelain"), git("-C", str(REPO), "rev-parse", "HEAD")
    bare = tmp_path / "repository.git"
    commit = sources.snapshot(bare, {"requirements-node.txt": "broken==0\n"})

    def shipped(path: str) -> str:
        return git("--git-dir", str(bare), "show", f"{sources.SNAPSHOT_BRANCH}:{path}")

    assert git("--git-dir", str(bare), "rev-parse", sources.SNAPSHOT_BRANCH).strip() == commit
    assert shipped("requirements-node.txt") == "broken==0\n"
    for path in ("lab/sources.py", "terraform/modules/node_config/bootstrap.sh.tftpl", "health_probe/notify.py"):
        assert shipped(path) == (REPO / path).read_text()  # as on disk, committed or not
    assert (git("-C", str(REPO), "status", "--porcelain"), git("-C", str(REPO), "rev-parse", "HEAD")) == before
    # A node clones it the way the bootstrap does.
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--depth", "1", "--branch", sources.SNAPSHOT_BRANCH, f"file://{bare}", str(clone))
    assert (clone / "requirements-node.txt").read_text() == "broken==0\n"
