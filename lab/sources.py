"""What a booted node fetches while cloud-init runs, served by the host on the lab's control
address (198.18.2.2) only, as a private subnet's mirrors would serve a real node:

- Debian packages through lab.aptcache, a caching proxy of Debian's archive (filled on first
  use, cached under /var/cache/oci-vip-failover/apt), so `package_update` and `packages:` really run;
- the repository over `git daemon`: a snapshot of the working tree under test (HEAD plus every
  uncommitted and untracked, not ignored, file) as one branch of a temporary bare repository;
- a wheelhouse of requirements-node.txt (`pip download` once, cached by the file's hash) over
  HTTP, for `pip install --no-index --find-links`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.plan import PYTHON, REPO, Plan
from lab.processes import spawn
from lab.rootfs import CACHE
from lab.shell import LabError, run

APT_PORT = 3142
GIT_PORT = 9418
WHEELS_PORT = 8480
SNAPSHOT_BRANCH = "lab-snapshot"
DOWNLOAD_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Sources:
    """The URLs a node is given through terraform's variables."""

    apt_proxy: str
    repository: str
    ref: str
    find_links: str


def urls(plan: Plan) -> Sources:
    host = plan.control_ip
    return Sources(
        apt_proxy=f"http://{host}:{APT_PORT}",
        repository=f"git://{host}:{GIT_PORT}/repository.git",
        ref=SNAPSHOT_BRANCH,
        find_links=f"http://{host}:{WHEELS_PORT}/",
    )


def snapshot(bare: Path, overrides: Mapping[str, str] | None = None) -> str:
    """Commit the working tree as it is (plus `overrides`: path -> content) into `bare` as
    SNAPSHOT_BRANCH, without touching the repository's index, branches or files; return the commit."""
    with tempfile.TemporaryDirectory(prefix="lab-index-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}

        def git(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                ["git", "-C", str(REPO), *args],
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=False,
            )
            if done.returncode != 0:
                raise LabError(f"git {' '.join(args)}: {done.stderr.strip()}")
            return done.stdout.strip()

        git("read-tree", "HEAD")
        git("add", "-A")
        for path, content in (overrides or {}).items():
            blob = git("hash-object", "-w", "--stdin", stdin=content)
            git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")
        tree = git("write-tree")
        commit = git("commit-tree", tree, "-p", "HEAD", "-m", "lab: the working tree under test")
        run(["git", "init", "--quiet", "--bare", str(bare)])
        git("push", "--quiet", "--force", str(bare), f"{commit}:refs/heads/{SNAPSHOT_BRANCH}")
    return commit


def wheelhouse(log: Path) -> Path:
    """requirements-node.txt's wheels (and their dependencies), downloaded once per version of it."""
    requirements = REPO / "requirements-node.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    target = CACHE / f"wheels-{digest}"
    if target.is_dir():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with open(log, "ab") as out:
        done = subprocess.run(
            [
                str(PYTHON),
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "--dest",
                str(partial),
                "-r",
                str(requirements),
            ],
            stdout=out,
            stderr=out,
            timeout=DOWNLOAD_TIMEOUT_SECONDS,
            check=False,
        )
    if done.returncode != 0:
        raise LabError(f"pip download of requirements-node.txt failed; see {log}")
    partial.rename(target)
    return target


def start(plan: Plan, overrides: Mapping[str, str] | None = None) -> Sources:
    """Start the three servers on the control address (pid files in the lab's run dir)."""
    here = plan.path(None, "sources")
    here.mkdir(parents=True, exist_ok=True)
    host = plan.control_ip
    spawn(
        [str(PYTHON), "-m", "lab.aptcache", "--bind", host, "--port", str(APT_PORT), "--cache", str(CACHE / "apt")],
        plan.path(None, "aptcache.log"),
        plan.path(None, "apt.pid"),
    )
    snapshot(here / "repository.git", overrides)
    spawn(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={here}",
            f"--listen={host}",
            f"--port={GIT_PORT}",
            str(here),
        ],
        plan.path(None, "git-daemon.log"),
        plan.path(None, "git.pid"),
    )
    wheels = wheelhouse(plan.path(None, "pip-download.log"))
    spawn(
        [str(PYTHON), "-m", "http.server", "--bind", host, "--directory", str(wheels), str(WHEELS_PORT)],
        plan.path(None, "wheels.log"),
        plan.path(None, "wheels.pid"),
    )
    return urls(plan)


# pid file, what its process runs: for `down`
PROCESSES = (("apt.pid", "lab.aptcache"), ("git.pid", "git"), ("wheels.pid", "http.server"))
