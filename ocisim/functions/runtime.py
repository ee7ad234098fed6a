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

With the `function_python` option (a directory laid out as the function image's /python, what
the Dockerfile's `pip install --target /python` makes) the container runs func.yaml's
`entrypoint` with /python and /function mapped onto that directory and <dir>, and
PYTHONPATH=<dir>:<function_python> as the image sets it: the function sees only what its image
holds. Without it, fdk is this interpreter's and the function sees this interpreter's packages.

Like Fn, a container serves one call at a time; a call that finds every container busy
starts another (a cold start), up to the function's `maxContainers`; beyond that it waits for
one to come free, at most the function's timeout and with at most MAX_WAITING callers queued
(429 TooManyRequests otherwise). A cold call first waits the modeled `delaySeconds`, then the
real fdk start. Containers idle for `idleTimeoutSeconds` (emulated time) are stopped, except
the function's provisioned ones (`provisionedConcurrencyConfig`), which are started with the
emulator and never idled out. The first function is started warm, so its first call is
warm unless it idles out. Every call is logged as `function.invoke` (cold or not, and what its
cold start cost). Function logs (fdk's stderr) go to `function.log`.
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
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from ocisim.errors import NotAuthorizedOrNotFound, OciError, error_for_status
from ocisim.functions.models import ColdStart, expired, function_cold_start, hot_containers

MAX_WAITING = 16  # calls of one function queued for a free container; more are refused (429)
MAX_DETACHED = 16  # detached invocations running at once; more are refused (429)
# Fn keeps a container's resource-principal token fresh; so do we, well before its 1 h expiry.
RP_REFRESH_SECONDS = 1800.0
START_TIMEOUT_SECONDS = 20.0
REAP_PERIOD_BOUNDS = (0.05, 1.0)  # wall seconds between idle checks
SERVICE_NAME = "functions"


def runtime_for(backend: Any) -> Runtime | None:
    """The running containers of this emulator's functions (None without --function-dir)."""
    return backend.runtime.get(SERVICE_NAME)


def attached(backend: Any, function_id: str) -> tuple[Runtime, Pool]:
    """The running containers of that function (404 without code attached): the one lookup the
    wire handlers and the Python API share."""
    runtime = runtime_for(backend)
    pool = runtime.pools.get(function_id) if runtime else None
    if runtime is None or pool is None:
        raise NotAuthorizedOrNotFound(
            f"Function {function_id} has no code attached (start the emulator with --function-dir)"
        )
    return runtime, pool


def _func_yaml(function_dir: Path, key: str) -> str | None:
    """A top-level scalar of func.yaml (the file is flat `key: value` lines)."""
    with contextlib.suppress(OSError):
        for line in (function_dir / "func.yaml").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return line.split(":", 1)[1].strip()
    return None


def _fdk_command(function_dir: Path, python_dir: Path | None) -> list[str]:
    if python_dir is not None:
        entrypoint = _func_yaml(function_dir, "entrypoint")
        if not entrypoint:
            raise RuntimeError(f"{function_dir}/func.yaml names no entrypoint")
        image_paths = (("/python/", f"{python_dir}/"), ("/function/", f"{function_dir}/"))
        return [
            next((word.replace(a, b, 1) for a, b in image_paths if word.startswith(a)), word)
            for word in entrypoint.split()
        ]
    script = Path(sys.executable).with_name("fdk")
    entry = [str(script)] if script.exists() else [sys.executable, "-c", "from fdk.scripts.fdk import main; main()"]
    return entry + [str(function_dir / "func.py"), "handler"]


@dataclass(frozen=True)
class Answer:
    """What a container answered: fdk's status, body, content type and headers (lower-case names)."""

    status: int
    body: bytes
    content_type: str | None
    headers: Mapping[str, str]


@dataclass
class Container:
    process: asyncio.subprocess.Process
    directory: Path
    session: aiohttp.ClientSession
    busy: bool = False
    minted: float = field(default_factory=time.time)
    calls: int = 0
    idle_since: float | None = None  # emulated time it last came free; None while busy

    async def stop(self) -> None:
        await self.session.close()
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 2.0)
            except TimeoutError:
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
    python_dir: Path | None = None
    cold: ColdStart = field(default_factory=ColdStart)
    containers: list[Container] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    starting: int = 0
    waiting: int = 0
    started: int = 0
    calls: dict[str, int] = field(default_factory=lambda: {"cold": 0, "warm": 0})
    # Every fdk process launched, from launch on: a call cancelled at shutdown between launch
    # and joining `containers` must not leave its process behind.
    launched: set[asyncio.subprocess.Process] = field(default_factory=set)
    stopping: set[asyncio.Task] = field(default_factory=set)
    reaper: asyncio.Task | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "function.log"

    @property
    def hot(self) -> int:
        """Containers provisioned concurrency keeps started."""
        return hot_containers(self.function, self.cold)

    def _mint(self, directory: Path, ttl_seconds: float = 3600.0) -> dict[str, str]:
        """Write (or rewrite) the container's RPST and session key files; the v2.2 env."""
        return self.backend.resource_principal_env(
            self.function["id"],
            directory / "rp",
            compartment_id=self.function.get("compartmentId"),
            ttl_seconds=ttl_seconds,
        )

    def rotate_tokens(self, ttl_seconds: float) -> None:
        """Rewrite every container's RPST files now with tokens valid `ttl_seconds`, as the
        Functions runtime refreshes them; the refresh clock restarts, so a short-lived token
        planted here really expires instead of being replaced on the next call."""
        for container in self.containers:
            self._mint(container.directory, ttl_seconds)
            container.minted = time.time()

    def _env(self, directory: Path) -> dict[str, str]:
        function = self.function
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TZ", "SYSTEMROOT")}
        config = {**(function.get("config") or {}), **(self.backend.options.get("function_config") or {})}
        # `${emulator_endpoint}` lets the topology name the emulator's simulated node health
        # endpoints (ocisim.nodes) before the port is known.
        env.update({k: str(v).replace("${emulator_endpoint}", self.backend.endpoint) for k, v in config.items()})
        env.setdefault("OCI_SERVICE_ENDPOINT", self.backend.endpoint)
        if self.backend.ca_bundle:  # serving HTTPS: the function's SDK and probes trust our CA
            env["REQUESTS_CA_BUNDLE"] = self.backend.ca_bundle
        env.update(self._mint(directory))
        env.update(
            {
                "FN_LISTENER": f"unix:{directory / 'lsnr.sock'}",
                "FN_FORMAT": "http-stream",
                "FN_APP_ID": function.get("applicationId", ""),
                "FN_FN_ID": function["id"],
                "FN_APP_NAME": function.get("applicationName", "vip-failover-app"),
                "FN_FN_NAME": function.get("name", ""),
                "FN_MEMORY": str(function.get("memoryInMBs", 128)),
                "FN_TYPE": "sync",
                "PYTHONPATH": ":".join(str(p) for p in (self.function_dir, self.python_dir) if p is not None),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    async def _start_container(self) -> Container:
        directory = Path(tempfile.mkdtemp(prefix="fn-", dir=self.workdir))
        socket_path = directory / "lsnr.sock"
        loop = asyncio.get_running_loop()
        launched = loop.time()
        with open(self.log_path, "ab") as log:
            process = await asyncio.create_subprocess_exec(
                *_fdk_command(self.function_dir, self.python_dir),
                cwd=str(self.function_dir),
                env=self._env(directory),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.launched.add(process)
        give_up = loop.time() + START_TIMEOUT_SECONDS
        try:
            while not socket_path.exists():
                if process.returncode is not None or loop.time() > give_up:
                    raise RuntimeError(f"fdk did not start for {self.function_dir} (see {self.log_path})")
                await asyncio.sleep(0.02)
        except BaseException:  # failed, or cancelled (shutdown): never leave a half-started fdk behind
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
            shutil.rmtree(directory, ignore_errors=True)
            raise
        session = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(socket_path)))
        # startup_s: process start to a listening socket, the cold-start cost a caller waits for.
        self.backend.log(
            "function container started",
            function=self.function["id"],
            pid=process.pid,
            startup_s=round(loop.time() - launched, 3),
        )
        self.started += 1
        return Container(process=process, directory=directory, session=session)

    def _idle_out(self, idle_timeout_s: float | None) -> int:
        """Stop (in the background) containers idle for `idle_timeout_s` beyond the provisioned
        ones, and forget any whose process died; with `changed` held. How many went."""
        dead = [c for c in self.containers if c.process.returncode is not None and not c.busy]
        live = [c for c in self.containers if c.process.returncode is None]
        chosen = expired([c.idle_since for c in live], self.backend.clock.now(), idle_timeout_s, self.hot)
        for container in dead + [live[index] for index in chosen]:
            self._retire_locked(container)
        if chosen:
            self.backend.log(
                "function containers idled out",
                function=self.function["id"],
                stopped=len(chosen),
                containers=len(self.containers),
            )
        return len(chosen)

    def _retire_locked(self, container: Container) -> None:
        """Stop `container` in the background; with `changed` held. Until its process is gone
        it still counts against the bound."""
        self.containers.remove(container)
        task = asyncio.get_running_loop().create_task(self._retire(container))
        self.stopping.add(task)
        task.add_done_callback(self.stopping.discard)

    async def _retire(self, container: Container) -> None:
        await container.stop()
        self.launched.discard(container.process)
        async with self.changed:
            self.stopping.discard(asyncio.current_task())  # its room is free for a waiting call
            self.changed.notify_all()

    async def _acquire(self, wait_s: float) -> tuple[Container, float | None]:
        """An idle container (and None: a warm call), or a new one and the seconds its cold
        start took. With every container the function may have busy, waits at most `wait_s`
        for one to come free, behind at most MAX_WAITING others: a slow or hostile function
        queues callers, it never makes containers pile up."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait_s
        async with self.changed:
            self._idle_out(self.cold.idle_timeout_s)
            while True:
                idle = next((c for c in self.containers if not c.busy and c.process.returncode is None), None)
                if idle is not None:
                    idle.busy, idle.idle_since = True, None
                    return idle, None
                if len(self.containers) + self.starting + len(self.stopping) < self.cold.max_containers:
                    self.starting += 1
                    break
                if self.waiting >= MAX_WAITING or loop.time() >= give_up:
                    raise error_for_status(429, f"Every container of function {self.function['id']} is busy")
                self.waiting += 1
                try:
                    await asyncio.wait_for(self.changed.wait(), give_up - loop.time())
                except TimeoutError:
                    pass
                finally:
                    self.waiting -= 1
        began = loop.time()
        try:
            await asyncio.sleep(self.cold.delay_s)
            container = await self._start_container()
        finally:
            async with self.changed:
                self.starting -= 1
                self.changed.notify_all()
        container.busy = True
        async with self.changed:
            self.containers.append(container)
        return container, loop.time() - began

    async def _release(self, container: Container, *, timed_out: bool) -> None:
        """Back to idle; or, when its call timed out (the handler may still be running), stopped
        and replaced on demand, as Fn does."""
        async with self.changed:
            if timed_out and container in self.containers:
                self._retire_locked(container)
            else:
                container.busy, container.idle_since = False, self.backend.clock.now()
            self.changed.notify_all()

    async def provision(self, count: int) -> None:
        """Start `count` containers at once, idle and without the modeled delay: provisioned
        concurrency (or the warm first function) made ready before any call."""
        async with self.changed:
            self.starting += count
        started: list[Container | BaseException] = []
        try:
            started = await asyncio.gather(*(self._start_container() for _ in range(count)), return_exceptions=True)
        finally:
            async with self.changed:
                self.starting -= count
                for container in started:
                    if isinstance(container, Container):
                        container.idle_since = self.backend.clock.now()
                        self.containers.append(container)
                self.changed.notify_all()
        failed = next((e for e in started if isinstance(e, BaseException)), None)
        if failed is not None:
            raise failed

    async def _reap(self) -> None:
        """Idle containers out on time; start provisioned ones that are missing (one died)."""
        while True:
            async with self.changed:
                self._idle_out(self.cold.idle_timeout_s)
                running = len(self.containers) + self.starting
                missing = min(self.hot - running, self.cold.max_containers - running - len(self.stopping))
            if missing > 0:
                try:
                    await self.provision(missing)
                except (RuntimeError, OSError) as exc:
                    self.backend.log("function container failed to start", function=self.function["id"], error=str(exc))
            timeout = self.cold.idle_timeout_s
            period = 1.0 if timeout is None else self.backend.clock.real_seconds(timeout) / 4
            await asyncio.sleep(min(max(period, REAP_PERIOD_BOUNDS[0]), REAP_PERIOD_BOUNDS[1]))

    def start_reaping(self) -> None:
        self.reaper = asyncio.get_running_loop().create_task(self._reap())

    async def force_idle(self) -> int:
        """Idle out every idle container now, as if the idle timeout had passed (provisioned ones
        stay): the next call is cold unless the function is provisioned. Returns once their
        processes are gone; how many went."""
        async with self.changed:
            stopped = self._idle_out(0.0)
        await asyncio.gather(*list(self.stopping), return_exceptions=True)
        return stopped

    def to_json(self) -> dict[str, Any]:
        """What the admin endpoint reports of this function's containers and calls. The log
        file, pids and container directories let a client check what the runtime left on the
        machine (processes stopped, token files, what the function logged) without reaching
        into these objects."""
        return {
            "name": self.function.get("name"),
            "log": str(self.log_path),
            "pids": sorted(p.pid for p in self.launched if p.returncode is None),
            "instances": [
                {
                    "pid": c.process.pid,
                    "directory": str(c.directory),
                    "busy": c.busy,
                    "alive": c.process.returncode is None,
                }
                for c in self.containers
            ],
            "containers": len(self.containers),
            "busy": sum(c.busy for c in self.containers),
            "starting": self.starting,
            "stopping": len(self.stopping),
            "waiting": self.waiting,
            "provisioned": self.hot,
            "containersStarted": self.started,
            "calls": dict(self.calls),
            "coldStart": self.cold.to_json(),
        }

    async def invoke(self, body: bytes, content_type: str, call_id: str, *, timeout: float | None = None) -> Answer:
        """POST /call to an idle container as the Fn agent does, within `timeout` (default: the
        function's own timeout, which also bounds the wait for a free container)."""
        timeout = float(timeout or self.function.get("timeoutInSeconds", 30))
        container, cold_s = await self._acquire(timeout)
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
        headers = {
            "Fn-Call-Id": call_id,
            "Fn-Deadline": deadline.isoformat(),
            "Fn-Http-Method": "POST",
            "Fn-Http-Request-Url": f"/invoke/{self.function['id']}",
            "Content-Type": content_type,
        }
        if time.time() - container.minted > RP_REFRESH_SECONDS:
            self._mint(container.directory)  # the SDK re-reads both files when its token expires
            container.minted = time.time()
        started = time.monotonic()
        status = None
        try:
            async with container.session.post(
                "http://localhost/call", data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                status = response.status
                return Answer(
                    response.status,
                    await response.read(),
                    response.headers.get("Content-Type"),
                    {k.lower(): v for k, v in response.headers.items()},
                )
        except TimeoutError:
            status = 504
            return Answer(504, b"timed out", None, {})
        finally:
            seconds = round(time.monotonic() - started, 3)
            if container.calls == 0:
                # The first call pays the function's imports and client setup: with startup_s,
                # the cold start a caller sees.
                self.backend.log(
                    "function container first call",
                    function=self.function["id"],
                    pid=container.process.pid,
                    seconds=seconds,
                )
            container.calls += 1
            self.calls["warm" if cold_s is None else "cold"] += 1
            self.backend.log(
                "function.invoke",
                function=self.function["id"],
                fn_call_id=call_id,
                cold=cold_s is not None,
                cold_start_s=round(cold_s or 0.0, 3),
                seconds=seconds,
                status=status,
                pid=container.process.pid,
            )
            await self._release(container, timed_out=status == 504)

    async def stop(self) -> None:
        """All containers at once (shutdown takes one grace period, not the sum), then any
        process launched for a call that was cancelled before it got its container."""
        if self.reaper is not None:
            self.reaper.cancel()
            await asyncio.gather(self.reaper, return_exceptions=True)
        await asyncio.gather(*(container.stop() for container in self.containers), *self.stopping)
        self.containers.clear()
        for process in self.launched:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        self.launched.clear()


@dataclass
class Runtime:
    workdir: Path
    backend: Any
    pools: dict[str, Pool] = field(default_factory=dict)
    detached: set[asyncio.Task] = field(default_factory=set)

    def detach(self, invocation: Coroutine[Any, Any, Answer], call_id: str) -> None:
        """Run a detached invocation in the background (its own timeout bounds it); at most
        MAX_DETACHED at once, as OCI throttles: beyond that the call is refused with 429."""
        if len(self.detached) >= MAX_DETACHED:
            invocation.close()
            raise error_for_status(429, "Too many detached invocations in progress")

        async def run() -> None:
            try:
                answer = await invocation
            except OciError as exc:  # no container came free within the timeout
                self.backend.log("detached invocation refused", fn_call_id=call_id, status=exc.status)
                return
            self.backend.log("detached invocation finished", fn_call_id=call_id, status=answer.status)

        task = asyncio.get_running_loop().create_task(run())
        self.detached.add(task)
        task.add_done_callback(self.detached.discard)

    async def stop(self) -> None:
        for task in list(self.detached):
            task.cancel()
        await asyncio.gather(*self.detached, return_exceptions=True)
        for pool in self.pools.values():
            await pool.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _attached_functions(backend: Any, function_dir: Path) -> list[dict[str, Any]]:
    """Every topology function runs the one image in DIR (deployed once per role, each with its
    own configuration); the one whose name func.yaml declares comes first and is warmed."""
    functions = list(backend.states["functions"].values())
    name = _func_yaml(function_dir, "name")
    return sorted(functions, key=lambda f: f.get("name") != name)


async def start(backend: Any) -> None:
    # Every function's cold-start and provisioned settings are checked, code attached or not:
    # a bad topology or flag stops the emulator at start with the setting's name.
    colds = {f["id"]: function_cold_start(f, backend.options) for f in backend.states["functions"].values()}
    function_dir = backend.options.get("function_dir")
    if not function_dir:
        return
    function_dir = Path(function_dir).resolve()
    if not (function_dir / "func.py").exists():
        raise RuntimeError(f"--function-dir {function_dir}: no func.py there")
    functions = _attached_functions(backend, function_dir)
    if not functions:
        raise RuntimeError("--function-dir given but the topology defines no function")
    runtime = Runtime(workdir=Path(tempfile.mkdtemp(prefix="ocisim-functions-")), backend=backend)
    python_dir = backend.options.get("function_python")
    for function in functions:
        pool = Pool(
            backend=backend,
            function=function,
            function_dir=function_dir,
            workdir=runtime.workdir / function["id"][-12:],
            python_dir=None if python_dir is None else Path(python_dir).resolve(),
            cold=colds[function["id"]],
        )
        pool.workdir.mkdir()
        runtime.pools[function["id"]] = pool
    backend.runtime[SERVICE_NAME] = runtime
    # The first is warm at start; the others start on their first call (a cold start), unless
    # provisioned concurrency keeps some of theirs hot.
    pools = list(runtime.pools.values())
    await asyncio.gather(*(pool.provision(max(pool.hot, 1 if index == 0 else 0)) for index, pool in enumerate(pools)))
    for pool in pools:
        pool.start_reaping()
        backend.log(
            "function attached",
            function=pool.function["id"],
            name=pool.function.get("name"),
            directory=str(function_dir),
            log=str(pool.log_path),
            provisioned=pool.hot,
            cold_start=pool.cold.to_json(),
        )


async def stop(backend: Any) -> None:
    runtime = backend.runtime.pop(SERVICE_NAME, None)
    if runtime is not None:
        await runtime.stop()
