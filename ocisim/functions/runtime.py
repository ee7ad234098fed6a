"""Function containers: fdk processes on unix sockets, started the way the Fn runtime starts them.

Each container is `fdk <dir>/func.py handler` with
* FN_LISTENER=unix:<tmp>/lsnr.sock and FN_FORMAT=http-stream (fdk binds a phony socket and
  symlinks lsnr.sock to it once it listens: that symlink is our readiness signal);
* the function's configuration (the topology's `config` map, overridden by the emulator's
  `function_config` option) as environment variables, plus OCI_SERVICE_ENDPOINT pointing at
  this emulator so the function's SDK calls come here;
* resource-principal v2.2 credentials minted by the emulator for the function's OCID;
* FN_APP_ID / FN_FN_ID / names / memory, PYTHONPATH=<dir> (the python runtime image sets
  PYTHONPATH=/function) and cwd <dir>.

Like Fn, a container serves one call at a time; a call that finds every container busy
starts another (a cold start), up to MAX_CONTAINERS. One container is started with the
emulator so the first call is warm. Function logs (fdk's stderr) go to `function.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

MAX_CONTAINERS = 4
# Fn keeps a container's resource-principal token fresh; so do we, well before its 1 h expiry.
RP_REFRESH_SECONDS = 1800.0
START_TIMEOUT_SECONDS = 20.0
_runtimes: dict[int, "Runtime"] = {}


def runtime_for(backend: Any) -> "Runtime | None":
    return _runtimes.get(id(backend))


def _fdk_command(function_dir: Path) -> list[str]:
    script = Path(sys.executable).with_name("fdk")
    entry = [str(script)] if script.exists() else [sys.executable, "-c", "from fdk.scripts.fdk import main; main()"]
    return entry + [str(function_dir / "func.py"), "handler"]


@dataclass
class Container:
    process: asyncio.subprocess.Process
    directory: Path
    session: aiohttp.ClientSession
    busy: bool = False
    minted: float = field(default_factory=time.time)
    calls: int = 0

    async def stop(self) -> None:
        await self.session.close()
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 2.0)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Pool:
    """The containers of one function."""

    backend: Any
    function: dict[str, Any]
    function_dir: Path
    workdir: Path
    containers: list[Container] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    starting: int = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / "function.log"

    def _mint(self, directory: Path) -> dict[str, str]:
        """Write (or rewrite) the container's RPST and session key files; the v2.2 env."""
        return self.backend.resource_principal_env(self.function["id"], directory / "rp",
                                                   compartment_id=self.function.get("compartmentId"))

    def _env(self, directory: Path) -> dict[str, str]:
        function = self.function
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TZ", "SYSTEMROOT")}
        config = {**(function.get("config") or {}), **(self.backend.options.get("function_config") or {})}
        # `${emulator_endpoint}` lets the topology name the emulator's simulated node health
        # endpoints (ocisim.nodes) before the port is known.
        env.update({k: str(v).replace("${emulator_endpoint}", self.backend.endpoint) for k, v in config.items()})
        env.setdefault("OCI_SERVICE_ENDPOINT", self.backend.endpoint)
        env.update(self._mint(directory))
        env.update({
            "FN_LISTENER": f"unix:{directory / 'lsnr.sock'}",
            "FN_FORMAT": "http-stream",
            "FN_APP_ID": function.get("applicationId", ""),
            "FN_FN_ID": function["id"],
            "FN_APP_NAME": function.get("applicationName", "vip-failover-app"),
            "FN_FN_NAME": function.get("name", ""),
            "FN_MEMORY": str(function.get("memoryInMBs", 128)),
            "FN_TYPE": "sync",
            "PYTHONPATH": str(self.function_dir),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    async def _start_container(self) -> Container:
        directory = Path(tempfile.mkdtemp(prefix="fn-", dir=self.workdir))
        socket_path = directory / "lsnr.sock"
        loop = asyncio.get_running_loop()
        launched = loop.time()
        with open(self.log_path, "ab") as log:
            process = await asyncio.create_subprocess_exec(
                *_fdk_command(self.function_dir), cwd=str(self.function_dir), env=self._env(directory),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        give_up = loop.time() + START_TIMEOUT_SECONDS
        while not socket_path.exists():
            if process.returncode is not None or loop.time() > give_up:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise RuntimeError(f"fdk did not start for {self.function_dir} (see {self.log_path})")
            await asyncio.sleep(0.02)
        session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket_path)))
        # startup_s: process start to a listening socket, the cold-start cost a caller waits for.
        self.backend.log("function container started", function=self.function["id"], pid=process.pid,
                         startup_s=round(loop.time() - launched, 3))
        return Container(process=process, directory=directory, session=session)

    async def _acquire(self) -> Container:
        async with self.changed:
            while True:
                idle = next((c for c in self.containers if not c.busy and c.process.returncode is None), None)
                if idle is not None:
                    idle.busy = True
                    return idle
                if len(self.containers) + self.starting < MAX_CONTAINERS:
                    self.starting += 1
                    break
                await self.changed.wait()
        try:
            container = await self._start_container()
        finally:
            async with self.changed:
                self.starting -= 1
        container.busy = True
        async with self.changed:
            self.containers.append(container)
        return container

    async def _release(self, container: Container) -> None:
        async with self.changed:
            container.busy = False
            self.changed.notify_all()

    async def warm(self) -> None:
        container = await self._acquire()
        await self._release(container)

    async def invoke(self, body: bytes, content_type: str, call_id: str) -> tuple[int, bytes, str | None]:
        """POST /call to an idle container as the Fn agent does; (status, body, content type)."""
        timeout = float(self.function.get("timeoutInSeconds", 30))
        deadline = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=timeout)
        headers = {
            "Fn-Call-Id": call_id,
            "Fn-Deadline": deadline.isoformat(),
            "Fn-Http-Method": "POST",
            "Fn-Http-Request-Url": f"/invoke/{self.function['id']}",
            "Content-Type": content_type,
        }
        container = await self._acquire()
        if time.time() - container.minted > RP_REFRESH_SECONDS:
            self._mint(container.directory)  # the SDK re-reads both files when its token expires
            container.minted = time.time()
        started = time.monotonic()
        try:
            async with container.session.post("http://localhost/call", data=body, headers=headers,
                                              timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                return response.status, await response.read(), response.headers.get("Content-Type")
        except asyncio.TimeoutError:
            return 504, b"timed out", None
        finally:
            if container.calls == 0:
                # The first call pays the function's imports and client setup: with startup_s,
                # the cold start a caller sees.
                self.backend.log("function container first call", function=self.function["id"],
                                 pid=container.process.pid, seconds=round(time.monotonic() - started, 3))
            container.calls += 1
            await self._release(container)

    async def stop(self) -> None:
        for container in self.containers:
            await container.stop()
        self.containers.clear()


@dataclass
class Runtime:
    workdir: Path
    pools: dict[str, Pool] = field(default_factory=dict)


def _attached_functions(backend: Any, function_dir: Path) -> list[dict[str, Any]]:
    """Every topology function runs the one image in DIR (deployed once per role, each with its
    own configuration); the one whose name func.yaml declares comes first and is warmed."""
    functions = list(backend.states["functions"].values())
    name = None
    with contextlib.suppress(OSError):
        for line in (function_dir / "func.yaml").read_text().splitlines():
            if line.startswith("name:"):
                name = line.split(":", 1)[1].strip()
    return sorted(functions, key=lambda f: f.get("name") != name)


async def start(backend: Any) -> None:
    function_dir = backend.options.get("function_dir")
    if not function_dir:
        return
    function_dir = Path(function_dir).resolve()
    if not (function_dir / "func.py").exists():
        raise RuntimeError(f"--function-dir {function_dir}: no func.py there")
    functions = _attached_functions(backend, function_dir)
    if not functions:
        raise RuntimeError("--function-dir given but the topology defines no function")
    runtime = Runtime(workdir=Path(tempfile.mkdtemp(prefix="ocisim-functions-")))
    for function in functions:
        runtime.pools[function["id"]] = Pool(backend=backend, function=function, function_dir=function_dir,
                                             workdir=runtime.workdir / function["id"][-12:])
        runtime.pools[function["id"]].workdir.mkdir()
    _runtimes[id(backend)] = runtime
    # Only the first is warm at start (the others start on their first call, a cold start).
    await runtime.pools[functions[0]["id"]].warm()
    for function in functions:
        backend.log("function attached", function=function["id"], name=function.get("name"), directory=str(function_dir),
                    log=str(runtime.pools[function["id"]].log_path))


async def stop(backend: Any) -> None:
    runtime = _runtimes.pop(id(backend), None)
    if runtime is None:
        return
    for pool in runtime.pools.values():
        await pool.stop()
    shutil.rmtree(runtime.workdir, ignore_errors=True)
