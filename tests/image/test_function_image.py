"""The function image holds the function and nothing else, and serves a call as OCI runs it.

The image is laid out from the Dockerfile and `.dockerignore` (tests/support/function_image.py) with the
dependencies installed from requirements.txt alone into a fresh venv, then attached to the
emulator, which starts func.yaml's entrypoint on fdk's unix socket as the Fn runtime does; the
call goes through the real FunctionsInvokeClient.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import oci
import pytest
import yaml

from ocisim import Emulator
from tests.support.function_image import (
    BUILD_TIMEOUT_SECONDS,
    Image,
    assemble,
    build_context,
    env_of,
    ignored,
    interpreter,
    parse_dockerfile,
    parse_dockerignore,
    unresolved_imports,
)
from tests.support.paths import REPO

# The first run on a machine installs requirements.txt from the package index (function_image's
# BUILD_TIMEOUT_SECONDS bounds it); the suite's default per-test limit would cut a slow link short.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_SECONDS + 120)

FUNC_YAML = yaml.safe_load((REPO / "func.yaml").read_text())
STAGES = parse_dockerfile((REPO / "Dockerfile").read_text())


def invoke(emu: Emulator, body: dict) -> oci.response.Response:
    config = oci.config.from_file(emu.oci_config_file, emu.oci_profile)
    client = oci.functions.FunctionsInvokeClient(config, service_endpoint=emu.endpoint, timeout=(5, 60))
    client.base_client.retry_strategy = oci.retry.NoneRetryStrategy()
    return client.invoke_function(emu.functions["vip-failover"], invoke_function_body=json.dumps(body))


def copy_context(into: Path) -> Path:
    """What docker would send as the build context, with the Dockerfile, in a scratch directory."""
    for relative in [*build_context(REPO), "Dockerfile", ".dockerignore"]:
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, into / relative)
    return into


@pytest.fixture
def image(tmp_path: Path) -> Image:
    return assemble(REPO, tmp_path / "image")


def test_dockerfile_is_the_one_func_yaml_describes() -> None:
    build, run = STAGES
    assert (build.base, run.base) == (FUNC_YAML["build_image"], FUNC_YAML["run_image"])
    assert json.loads(run.arguments("ENTRYPOINT")[-1]) == FUNC_YAML["entrypoint"].split()
    # The emulator runs an image's function with PYTHONPATH=<function>:<python>: the same layout.
    assert env_of(run)["PYTHONPATH"] == "/function:/python"


def test_the_image_runs_the_python_this_test_runs() -> None:
    """This test installs and runs the dependencies with the interpreter it runs on; it vouches
    for the image only if the image's Python is that one (major.minor)."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    tags = {stage.base.split(":", 1)[1].removesuffix("-dev") for stage in STAGES}
    assert tags == {here}, f"the image runs Python {tags}, this test can only vouch for {here}"


def test_build_context_is_only_the_function() -> None:
    files = build_context(REPO)
    shipped = {"func.py", "func.yaml", "requirements.txt"}
    package = {f"failover/{p.name}" for p in (REPO / "failover").glob("*.py")}
    assert set(files) == shipped | package


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("func.py", False),
        ("failover/shell.py", False),
        ("failover/__pycache__/shell.cpython-311.pyc", True),
        ("ocisim/server.py", True),
        (".git/HEAD", True),
        (".venv/bin/python", True),
        ("tests/image/test_function_image.py", True),
        ("requirements-dev.txt", True),
    ],
)
def test_dockerignore_follows_dockers_rules(path: str, excluded: bool) -> None:
    assert ignored(path, parse_dockerignore((REPO / ".dockerignore").read_text())) is excluded


def test_dockerignore_last_match_wins_and_parents_count() -> None:
    rules = parse_dockerignore("docs\n!docs/keep.md\n**/*.tmp\n")
    assert ignored("docs/a.md", rules) and not ignored("docs/keep.md", rules)
    assert ignored("x/y/z.tmp", rules) and ignored("z.tmp", rules) and not ignored("z.tmpx", rules)


def test_build_context_walks_into_an_excluded_directory_only_for_a_negation(tmp_path: Path) -> None:
    for name in ("docs/keep.md", "docs/drop.md", "cache/x/y.bin", "top.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".dockerignore").write_text("*\n!docs/keep.md\n!top.txt\n")
    assert build_context(tmp_path) == ["top.txt", "docs/keep.md"]


def test_image_has_only_the_function_and_its_requirements(image: Image) -> None:
    laid_out = {p.relative_to(image.function).as_posix() for p in image.function.rglob("*") if p.is_file()}
    assert laid_out == {"func.py", "func.yaml", *(f"failover/{p.name}" for p in (REPO / "failover").glob("*.py"))}
    installed = {p.name.split("-")[0].lower() for p in image.python.glob("*.dist-info")}
    pinned = {
        line.split("==")[0].lower()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert pinned <= installed, "requirements.txt's packages are installed"
    # What only the tests, the emulator or the lab use stays out (fdk itself pulls in pytest and aiohttp).
    top_level = {p.name for p in image.python.iterdir()}
    assert not {"yaml", "hypothesis", "lark", "hcl2", "rich", "ocisim", "lab"} & top_level
    assert interpreter(image).parent.parent != Path(sys.prefix), "a fresh venv, not the test venv"


def test_every_import_of_the_function_resolves_in_the_image(image: Image) -> None:
    assert unresolved_imports(image) == []


def test_image_serves_calls_through_fdk_on_its_socket(image: Image) -> None:
    """func.yaml's entrypoint, mapped onto the image, started by the emulator as the Fn
    runtime starts it; calls through FunctionsInvokeClient; the move signed by the function's
    resource principal with the image's own oci SDK."""
    with Emulator.start(state=None, function_dir=image.function, function_python=image.python) as emu:
        response = invoke(emu, {"action": "status"})
        status = json.loads(response.data.text)
        assert response.status == 200 and status["decision"] == "status"
        assert {n: h["health"] for n, h in status["health"].items()} == {"node-a": "healthy", "node-b": "healthy"}
        emu.set_node_health("node-a", False)
        # keepalived's fast path: node-b's MASTER notice to the events function moves off a dead holder.
        moved = json.loads(invoke(emu, {"source": "keepalived", "node": "node-b", "state": "MASTER"}).data.text)
        assert (moved["decision"], moved["from"], moved["to"]) == ("moved", "node-a", "node-b")
        writes = [e for e in emu.audit() if e["operation"] == "UpdatePrivateIp"]
        assert [(e["principal"]["kind"], e["principal"]["id"]) for e in writes] == [
            ("resource", emu.functions["vip-failover"])
        ]


@pytest.mark.parametrize("stray", ["yaml", "ocisim"])
def test_a_stray_import_fails_the_image(tmp_path: Path, stray: str) -> None:
    """A module the image does not hold (a dev dependency, or a package beside the function
    in the repository): the import check names it and the call fails."""
    context = copy_context(tmp_path / "context")
    shell = context / "failover" / "shell.py"
    shell.write_text(shell.read_text() + f"\nimport {stray}  # noqa: E402,F401\n")
    image = assemble(context, tmp_path / "image")
    assert unresolved_imports(image) == [stray]
    with Emulator.start(state=None, function_dir=image.function, function_python=image.python) as emu:
        with pytest.raises(oci.exceptions.ServiceError) as failed:
            invoke(emu, {"action": "status"})
        assert failed.value.status == 502


@pytest.mark.parametrize(
    ("edit", "missing"),
    [
        (("COPY failover/ /function/failover/\n", ""), ["failover.shell"]),
        (("ENV PYTHONPATH=/function:/python", "ENV PYTHONPATH=/python"), ["failover.cli", "failover.shell"]),
    ],
    ids=["package-not-copied", "function-not-on-path"],
)
def test_a_dockerfile_that_leaves_out_the_package_fails(
    tmp_path: Path, edit: tuple[str, str], missing: list[str]
) -> None:
    """fdk loads func.py by path: without failover/ in the image, or /function on PYTHONPATH,
    `from failover.shell import invoke` cannot resolve."""
    context = copy_context(tmp_path / "context")
    dockerfile = context / "Dockerfile"
    assert edit[0] in dockerfile.read_text()
    dockerfile.write_text(dockerfile.read_text().replace(*edit))
    image = assemble(context, tmp_path / "image")
    assert unresolved_imports(image) == missing
