"""The function image as the Dockerfile builds it, laid out on this machine without docker.

No image can be pulled or built here, so the image's content is reproduced instead, from the
same instructions: the Dockerfile's COPY lines filtered by `.dockerignore` (with docker's
matching rules) decide which files of the build context land where; the build stage's RUN lines
run as written, with the image paths (/python, /function) mapped onto directories here and a
fresh venv's pip first on PATH; the run stage's `COPY --from` is the mapping of /python onto
that build output. The build output depends only on the interpreter, requirements.txt and the
build stage's lines, so it is cached outside the repository under that key (the first build
downloads the pinned packages from the package index: about a minute).
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "oci-vip-failover" / "function-image"
BUILD_TIMEOUT_SECONDS = 600
LEAKY_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_USER",
)


class DockerfileError(ValueError):
    """A Dockerfile instruction this reproduction cannot follow faithfully."""


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def arguments(self, keyword: str) -> list[str]:
        """What follows each `keyword` instruction of the stage, in order."""
        return [i.arguments for i in self.instructions if i.keyword == keyword]

    @property
    def workdir(self) -> str:
        dirs = self.arguments("WORKDIR")
        return dirs[-1] if dirs else "/"


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages of a Dockerfile: backslash continuations joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        raise DockerfileError("the Dockerfile ends inside a continued line")
    stages: list[Stage] = []
    base, name, body = None, None, []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            if base is not None:
                stages.append(Stage(base, name, tuple(body)))
            words = arguments.split()
            base = words[0]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            body = []
        elif base is None:
            raise DockerfileError(f"{keyword} before the first FROM")
        else:
            body.append(Instruction(keyword, arguments))
    if base is None:
        raise DockerfileError("no FROM in the Dockerfile")
    stages.append(Stage(base, name, tuple(body)))
    return stages


def exec_form(arguments: str) -> list[str]:
    """ENTRYPOINT/CMD in JSON (exec) form; the shell form would start fdk under /bin/sh."""
    try:
        words = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise DockerfileError(f"not in exec form: {arguments}") from exc
    if not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
        raise DockerfileError(f"not in exec form: {arguments}")
    return words


def env_of(stage: Stage) -> dict[str, str]:
    """ENV KEY=VALUE lines (the only form this Dockerfile uses)."""
    env: dict[str, str] = {}
    for arguments in stage.arguments("ENV"):
        for word in shlex.split(arguments):
            key, sep, value = word.partition("=")
            if not sep:
                raise DockerfileError(f"ENV without KEY=VALUE: {arguments}")
            env[key] = value
    return env


# --- .dockerignore, with the rules of docker's pattern matcher --------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    source: str
    pattern: re.Pattern[str]
    exclude: bool


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay inside one path segment, `**` crosses any number, `[...]` a class."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out += "(?:.*/)?"
                i += 1
            else:
                out += ".*"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            out += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


def parse_dockerignore(text: str) -> list[IgnoreRule]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
        rules.append(IgnoreRule(pattern, _pattern_regex(pattern), exclude))
    return rules


def ignored(path: str, rules: list[IgnoreRule]) -> bool:
    """The last rule that matches the path or one of its parent directories decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for rule in rules:
        if any(rule.pattern.match(prefix) for prefix in prefixes):
            verdict = rule.exclude
    return verdict


def _may_reinclude(directory: str, rules: list[IgnoreRule]) -> bool:
    """Whether a `!` rule could let back in something under an excluded directory."""
    for rule in rules:
        first = rule.source.split("/")[0]
        if not rule.exclude and (
            rule.source == directory or rule.source.startswith(f"{directory}/") or any(c in first for c in "*?[")
        ):
            return True
    return False


def build_context(context: Path) -> list[str]:
    """Every file of the build context that `.dockerignore` lets through (relative paths).
    Excluded directories nothing can re-include are not walked (a checkout's venvs, .git)."""
    ignore = context / ".dockerignore"
    rules = parse_dockerignore(ignore.read_text()) if ignore.exists() else []
    files = []
    for directory, dirs, names in os.walk(context):
        here = Path(directory).relative_to(context)
        dirs[:] = sorted(
            d for d in dirs if not ignored((here / d).as_posix(), rules) or _may_reinclude((here / d).as_posix(), rules)
        )
        for name in sorted(names):
            relative = (Path(directory) / name).relative_to(context).as_posix()
            if not ignored(relative, rules):
                files.append(relative)
    return files


# --- assembling the image's file system -------------------------------------------------------


def copy_sources(stage: Stage) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY/ADD of the build context (not `--from`)."""
    copies = []
    for keyword in ("COPY", "ADD"):
        for arguments in stage.arguments(keyword):
            words = shlex.split(arguments)
            if any(w.startswith("--from") for w in words):
                continue
            if keyword == "ADD" or any(w.startswith("--") for w in words) or len(words) < 2:
                raise DockerfileError(f"{keyword} {arguments}: only plain COPY SRC... DEST is reproduced")
            copies.append((words[:-1], words[-1]))
    return copies


def copied_files(stage: Stage, context: Path) -> dict[str, str]:
    """Image path -> context path of every file the stage's COPY lines take from the context."""
    available = build_context(context)
    taken: dict[str, str] = {}
    for sources, dest in copy_sources(stage):
        if not dest.startswith("/"):
            dest = f"{stage.workdir.rstrip('/')}/{dest}"
        if len(sources) > 1 and not dest.endswith("/"):
            raise DockerfileError(f"COPY of several sources needs a directory destination: {dest}")
        for source in sources:
            source = os.path.normpath(source)
            matched = [f for f in available if f == source or f.startswith(f"{source}/")]
            if not matched:
                raise DockerfileError(f"COPY {source}: nothing in the build context (after .dockerignore)")
            for relative in matched:
                if relative == source:  # a file: into the directory, or as the named file
                    target = f"{dest}{Path(source).name}" if dest.endswith("/") else dest
                else:  # a directory: its contents into dest
                    target = f"{dest.rstrip('/')}/{relative[len(source) + 1 :]}"
                taken[target] = relative
    return taken


def map_path(image_path: str, roots: dict[str, Path]) -> Path:
    for prefix, root in roots.items():
        if image_path == prefix or image_path.startswith(f"{prefix}/"):
            return root / image_path[len(prefix) + 1 :]
    raise DockerfileError(f"{image_path} is outside the image paths this reproduction maps ({', '.join(roots)})")


def lay_out(files: dict[str, str], context: Path, roots: dict[str, Path]) -> None:
    for image_path, relative in files.items():
        target = map_path(image_path, roots)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(context / relative, target)


def mapped_command(command: str, roots: dict[str, Path]) -> str:
    """A RUN line with the image paths (as whole path words) replaced by their directories."""
    for prefix, root in roots.items():
        command = re.sub(rf"(?<![\w./-]){re.escape(prefix)}(?=/|\s|$)", str(root), command)
    return command


@dataclass(frozen=True)
class Image:
    """The function image laid out here: /function and /python, and what runs them."""

    function: Path
    python: Path
    entrypoint: list[str]
    env: dict[str, str]
    stages: list[Stage]

    @property
    def roots(self) -> dict[str, Path]:
        return {"/python": self.python, "/function": self.function}


def run_lines(stage: Stage, roots: dict[str, Path], bin_dir: Path) -> None:
    """The stage's RUN lines, as written, with the image paths mapped and bin_dir first on PATH.
    The machine's pip settings and proxies pass (docker build passes proxies too); nothing that
    would put other Python packages on the path does."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
    env.update({"PATH": f"{bin_dir}:/usr/bin:/bin", "PIP_NO_INPUT": "1"})
    for command in stage.arguments("RUN"):
        subprocess.run(
            ["/bin/sh", "-c", mapped_command(command, roots)],
            cwd=map_path(stage.workdir, roots),
            env=env,
            check=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            stdout=subprocess.DEVNULL,
        )


def _build_stage_output(build: Stage, context: Path) -> Path:
    """Run the build stage once per requirements/build-lines key; returns its /python."""
    key_source = json.dumps(
        {
            "python": sys.version,
            "stage": [[i.keyword, i.arguments] for i in build.instructions],
            "files": {p: (context / r).read_text() for p, r in copied_files(build, context).items()},
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    work = CACHE / key
    CACHE.mkdir(parents=True, exist_ok=True)
    # Built in place (pip writes the venv's path into the scripts it installs) under a lock;
    # the marker says the build finished.
    with open(CACHE / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (work / "complete").exists():
            return work / "python"
        shutil.rmtree(work, ignore_errors=True)
        roots = {"/python": work / "python", "/function": work / "function"}
        lay_out(copied_files(build, context), context, roots)
        # A fresh venv from this interpreter's base: nothing of the test venv leaks in.
        subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=120)
        run_lines(build, roots, work / "venv" / "bin")
        (work / "complete").write_text(key_source)
    return work / "python"


def assemble(context: Path, into: Path) -> Image:
    """The function image of `context`'s Dockerfile, its /function laid out fresh in `into`."""
    stages = parse_dockerfile((context / "Dockerfile").read_text())
    if len(stages) != 2 or stages[0].name is None:
        raise DockerfileError("expected a build stage and a run stage")
    build, run = stages
    from_build = [shlex.split(a) for a in run.arguments("COPY") if f"--from={build.name}" in a]
    if from_build != [[f"--from={build.name}", "/python", "/python"]]:
        raise DockerfileError(f"the run stage must take exactly /python from {build.name}: {from_build}")
    python = _build_stage_output(build, context)
    function = into / "function"
    function.mkdir(parents=True)
    lay_out(copied_files(run, context), context, {"/python": into / "python-extra", "/function": function})
    if (into / "python-extra").exists():
        raise DockerfileError("the run stage copies context files into /python")
    if any("/python" in command for command in run.arguments("RUN")):
        raise DockerfileError("a run stage RUN line touches /python, which this reproduction shares between runs")
    run_lines(run, {"/python": python, "/function": function}, python.parent / "venv" / "bin")
    entrypoint = exec_form(run.arguments("ENTRYPOINT")[-1])
    return Image(function=function, python=python, entrypoint=entrypoint, env=env_of(run), stages=stages)


def interpreter(image: Image) -> Path:
    """The Python the entrypoint script runs under (its `#!` line, as pip wrote it)."""
    script = map_path(image.entrypoint[0], image.roots)
    first = script.read_text().splitlines()[0]
    if not first.startswith("#!"):
        raise DockerfileError(f"{image.entrypoint[0]} is no script")
    return Path(first[2:].split()[0])


def imported_modules(root: Path) -> set[str]:
    """Top-level names of every absolute import in the .py files under root, lazy ones included."""
    names: set[str] = set()
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def unresolved_imports(image: Image) -> list[str]:
    """Modules the shipped code imports that the image's interpreter, with the image's
    PYTHONPATH, cannot find."""
    pythonpath = ":".join(str(map_path(p, image.roots)) for p in image.env.get("PYTHONPATH", "").split(":") if p)
    check = (
        "import importlib.util, json, sys\n"
        "missing = []\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        if importlib.util.find_spec(name) is None: missing.append(name)\n"
        "    except ImportError: missing.append(name)\n"
        "print(json.dumps(missing))\n"
    )
    run = subprocess.run(
        # -P: nothing but PYTHONPATH and the interpreter's own paths, as when fdk runs as a script
        # (its sys.path[0] is /python/bin, never the working directory /function).
        [str(interpreter(image)), "-P", "-c", check, json.dumps(sorted(imported_modules(image.function)))],
        cwd=image.function,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(run.stdout)
