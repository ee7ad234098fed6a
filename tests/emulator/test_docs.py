"""The docs hold: the five lines of docs/emulator.md move the floating IP, as the README promises,
and every repository path README.md and docs/*.md name exists."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from ocisim import Emulator
from tests.support.paths import REPO
from tests.support.topology import Topology

DOC = REPO / "docs" / "emulator.md"
# Files the docs name that live outside the repository: the operator's env file (written from
# terraform's output), each node's rendered agent config, cloud-init's result on a node.
NOT_REPOSITORY_FILES = frozenset({"fn-config.json", "node-agent.yaml", "result.json"})
PATH_SUFFIX = re.compile(r"\.(py|md|json|jsonl|tf|tftpl|ya?ml|sh|j2|txt|toml|cfg|conf|png)$")
WORD = re.compile(r"[\w./][\w./-]*")


def test_the_five_documented_lines_move_the_floating_ip(emulator: Emulator, tmp_path: Path, topo: Topology) -> None:
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(snippet.strip().splitlines()) == 5
    (tmp_path / "ready.json").write_text(json.dumps(emulator.ready_line) + "\n")

    done = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == topo.vnic_b
    assert [e["after"]["vnicId"] for e in emulator.audit()] == [topo.vnic_b]


def tracked_paths() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return set(files) | {str(parent) for f in files for parent in Path(f).parents if str(parent) != "."}


def named_paths(text: str, top: set[str]) -> list[str]:
    """What looks like a path in a doc: words in `code`, link targets, and prose words that start
    with a top-level directory (`ocisim/...`). Absolute paths are the node's or the host's."""
    words = [w for code in re.findall(r"`([^`\n]+)`", text) for w in WORD.findall(code.replace("=", " "))]
    words += re.findall(r"\]\(([^)\s#]+)", text)
    prose = re.sub(r"`[^`\n]+`|\]\([^)]*\)|https?://\S+", " ", text)
    tops = "|".join(map(re.escape, sorted(top)))
    words += re.findall(rf"(?<![\w./:-])(?:{tops})/[\w./-]*\w", prose)
    paths = []
    for word in (w.rstrip(".,:;") for w in words):
        if word.startswith(("/", ".venv", "run/")) or "..." in word or word in NOT_REPOSITORY_FILES:
            continue  # on a node, in the venv, under the lab's run directory, or elided
        looks_like_path = ("/" in word and word.split("/")[0] in top) or word in top
        if looks_like_path or (PATH_SUFFIX.search(word) and not word.startswith(".")):
            paths.append(word)
    return paths


def test_every_repository_path_the_docs_name_exists() -> None:
    """A relative name (`modules/controller/iam.tf`, `errors.py`) must be the end of a real path;
    what git ignores (a run's output such as bench/reliability-trials.jsonl) counts as named."""
    known = tracked_paths()
    top = {path.split("/")[0] for path in known}
    missing = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for path in named_paths(doc.read_text(), top):
            bare = path.rstrip("/")
            if bare in known or (doc.parent / bare).exists() or any(k.endswith("/" + bare) for k in known):
                continue
            if subprocess.run(["git", "check-ignore", "-q", bare], cwd=REPO).returncode == 0:
                continue
            missing.append(f"{doc.relative_to(REPO)}: {path}")
    assert missing == []
