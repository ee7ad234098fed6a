"""`Emulator`: the whole emulator in a background thread, for tests and for `serve`.

Why a thread with its own event loop: tests and the lab drive the emulator with the blocking
`oci` SDK from the main thread; the server must keep answering meanwhile. `serve` uses the
same class, so the CLI and the tests run exactly the same code.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from ocisim import admin
from ocisim.auth import fingerprint, load_private_pem, private_pem
from ocisim.backend import Backend
from ocisim.chain import build_app
from ocisim.clock import Clock
from ocisim.faults import make_fault
from ocisim.functions import runtime as functions_runtime
from ocisim.monitoring.alarms import AlarmSpec
from ocisim.notifications import delivery as notifications_delivery
from ocisim.service import PROFILES
from ocisim.tls import make_tls_files

DEFAULT_TOPOLOGY = Path(__file__).parent / "topologies" / "two-node.json"
OCI_PROFILE = "DEFAULT"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 4.0
LOOP_CALL_TIMEOUT_SECONDS = 30.0  # a forced idle waits out each container's stop grace
T = TypeVar("T")


class Emulator:
    def __init__(
        self, backend: Backend, sock: socket.socket, config_dir: Path, owned_dir: Path | None, tls: bool = False
    ) -> None:
        self.backend = backend
        self._sock = sock
        self._owned_dir = owned_dir
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopped = False
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        reachable = "127.0.0.1" if host == "0.0.0.0" else host  # IPv4 only, like the lab
        self.tls = make_tls_files(config_dir / "tls", [reachable, "localhost"]) if tls else None
        self.endpoint = f"{'https' if tls else 'http'}://{reachable}:{port}"
        backend.endpoint = self.endpoint
        backend.ca_bundle = str(self.tls.ca_bundle.resolve()) if self.tls else None
        self.oci_config_file = str(self._write_oci_config(config_dir))
        self.oci_profile = OCI_PROFILE
        self._thread = threading.Thread(target=self._run, name="ocisim-server", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        topology: str | os.PathLike | None = DEFAULT_TOPOLOGY,
        state: str | os.PathLike | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        function_dir: str | os.PathLike | None = None,
        function_config: Mapping[str, str] | None = None,
        clock_scale: float = 1.0,
        config_dir: str | os.PathLike | None = None,
        function_python: str | os.PathLike | None = None,
        tls: bool = False,
        profile: str = "fast",
        cold_start: Mapping[str, Any] | None = None,
        imds_latency: float | None = None,
        federation_latency: float | None = None,
    ) -> Emulator:
        """Start serving; returns once every service is up and the endpoint answers.

        `state` None keeps everything in memory. The OCI config file and API key go to
        `config_dir`, default `<state>.oci/` beside the state file (a temp dir without one).
        `function_python` runs the function as its image does: func.yaml's entrypoint with the
        image's /python (the build stage's `pip install --target`) mapped onto that directory.
        `tls` serves HTTPS with a CA made for this run (ocisim.tls); its file is `cert_bundle`.
        `profile` "realistic" models OCI's cold starts and token latency (docs/emulator.md);
        `cold_start` ({"idleTimeoutSeconds", "delaySeconds", "maxContainers"}, any of them) and
        `imds_latency` / `federation_latency` (seconds per request) override it, and a
        topology function's own `coldStart` overrides `cold_start`.
        """
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        options = {
            "function_dir": None if function_dir is None else str(function_dir),
            "function_python": None if function_python is None else str(function_python),
            "function_config": dict(function_config or {}),
            "profile": profile,
            "cold_start": dict(cold_start or {}),
            "imds_latency_s": imds_latency,
            "federation_latency_s": federation_latency,
        }
        backend = Backend.open(topology_path=topology, state_path=state, clock=Clock(clock_scale), options=options)
        owned = None
        if config_dir is None:
            if state is None:
                owned = Path(tempfile.mkdtemp(prefix="ocisim-"))
                config_dir = owned
            else:
                config_dir = Path(f"{state}.oci")
        sock = socket.create_server((host, port), reuse_port=False)
        emulator = cls(backend, sock, Path(config_dir), owned, tls=tls)
        emulator._thread.start()
        if not emulator._ready.wait(START_TIMEOUT_SECONDS) or emulator._failure is not None:
            emulator.stop()
            raise RuntimeError("ocisim failed to start") from emulator._failure
        return emulator

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            try:
                self._loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start() through _failure
                self._failure = exc
                # The services that did start (the alarm loop, say) stop here, not at garbage
                # collection as tasks destroyed while pending.
                self._loop.run_until_complete(self._shutdown())
                return
            self._ready.set()
            self._loop.run_forever()
        finally:
            self._close_loop()
            self._ready.set()

    def _close_loop(self) -> None:
        """Cancel whatever a stop hook left running (a stop that timed out) and close the loop."""
        leftovers = asyncio.all_tasks(self._loop)
        for task in leftovers:
            task.cancel()
        if leftovers:
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    async def _serve(self) -> None:
        app = build_app(self.backend, admin.ROUTES)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(
            self._runner, self._sock, ssl_context=self.tls.server_context() if self.tls else None
        ).start()
        for service in self.backend.services:
            if service.start is not None:
                await _maybe_await(service.start(self.backend))
        self.backend.log("ready", **self.ready_line)

    async def _shutdown(self) -> None:
        for service in reversed(self.backend.services):
            if service.stop is not None:
                try:
                    await _maybe_await(service.stop(self.backend))
                except Exception as exc:  # one failing service must not keep state unsaved
                    self.backend.log("service stop failed", service=service.name, error=repr(exc))
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        """Stop services and server, save the state; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._failure is None and self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            try:
                future.result(STOP_TIMEOUT_SECONDS)
            except TimeoutError:  # the loop's thread cancels what is left; the state is still saved
                self.backend.log("stop timed out", seconds=STOP_TIMEOUT_SECONDS)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_SECONDS)
        self._sock.close()
        self.backend.save()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
        self.backend.log("stopped")

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a client needs ---------------------------------------------------------------------
    def _write_oci_config(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        key_file = directory / "api_key.pem"
        # The label OCI appends to console-made keys; the oci CLI warns without it.
        key_file.write_text(self.backend.api_private_key + "OCI_API_KEY\n")
        key_file.chmod(0o600)
        public = load_private_pem(self.backend.api_private_key).public_key()
        config = directory / "config"
        config.write_text(
            f"[{OCI_PROFILE}]\nuser={self.backend.user_id}\nfingerprint={fingerprint(public)}\n"
            f"key_file={key_file.resolve()}\ntenancy={self.backend.tenancy_id}\n"
            f"region={self.backend.region}\n"
        )
        config.chmod(0o600)
        return config.resolve()

    @property
    def region(self) -> str:
        return self.backend.region

    @property
    def compartment_id(self) -> str:
        return self.backend.compartment_id

    @property
    def tenancy_id(self) -> str:
        return self.backend.tenancy_id

    @property
    def functions(self) -> dict[str, str]:
        return self.backend.functions

    @property
    def clock(self) -> Clock:
        return self.backend.clock

    @property
    def topology(self) -> dict[str, Any]:
        """The topology the emulator was started with (a copy: editing it changes nothing)."""
        return copy.deepcopy(self.backend.topology)

    def operations(self) -> dict[str, str]:
        """Every operation the emulator serves and how it is authenticated ("signature", ...)."""
        return {route.operation: route.auth for service in self.backend.services for route in service.routes}

    def secrets(self) -> list[str]:
        """Every secret the emulator holds, for leak checks: its API key, its token-signing key,
        the Notifications service's session key (PEM bodies) and the last session tokens it
        minted (ocisim.auth.ISSUED_KEPT) with their signatures alone."""
        pems = (
            self.backend.api_private_key,
            private_pem(self.backend.keyring.token_key),
            private_pem(notifications_delivery.session_key(self.backend)),
        )
        tokens = list(self.backend.keyring.issued)
        lines = [line for pem in pems for line in pem.splitlines() if line and not line.startswith("-----")]
        return lines + tokens + [token.rsplit(".", 1)[1] for token in tokens]

    @property
    def ready_line(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "compartment_id": self.compartment_id,
            "tenancy_id": self.tenancy_id,
            "oci_config_file": self.oci_config_file,
            "oci_profile": self.oci_profile,
            "functions": self.functions,
            **({"cert_bundle": self.backend.ca_bundle} if self.tls else {}),
            "state_file": None if self.backend.state_path is None else str(self.backend.state_path.resolve()),
            "pid": os.getpid(),
        }

    def oci_config(self) -> dict[str, Any]:
        """The SDK config dict for the emulator's API key (pass `service_endpoint=endpoint`)."""
        import oci.config  # only tests and tools need the SDK; the server never does

        return oci.config.from_file(self.oci_config_file, self.oci_profile)

    # --- faults, latency, audit, deliveries, credentials ------------------------------------------------
    def inject_fault(
        self,
        operation: str,
        *,
        status: int | None = None,
        code: str | None = None,
        count: int | None = 1,
        delay: float = 0.0,
        drop: bool | str = False,
    ) -> None:
        """The next `count` calls of `operation` ("*" for any) fail, wait or lose the connection.

        `drop=True`/"before": the connection is cut before the call runs; "after": the call
        commits and then the response is lost.
        """
        self.backend.faults.inject(make_fault(operation, status=status, code=code, count=count, delay=delay, drop=drop))

    def set_latency(self, operation: str, seconds: float) -> None:
        self.backend.faults.set_latency(operation, seconds)

    def clear_faults(self) -> None:
        self.backend.faults.clear()

    def faults(self) -> dict[str, Any]:
        """The faults still pending (in injection order, each with its `count` left) and the latency."""
        return self.backend.faults.to_json()

    def set_node_health(self, name: str, healthy: bool) -> None:
        """Make a simulated node's health endpoint answer 200 (healthy) or 503 (ocisim.nodes)."""
        with self.backend.lock:
            if name not in self.backend.states["nodes"]:
                raise KeyError(f"no instance named {name!r}")
            self.backend.states["nodes"][name] = healthy
        self.backend.save()

    def audit(self, after: int = 0) -> list[dict[str, Any]]:
        return self.backend.audit_log.after(after)

    def deliveries(self) -> list[dict[str, Any]]:
        """Notifications' delivery log, oldest first: every attempt with its request and answer."""
        with self.backend.lock:
            return copy.deepcopy(self.backend.states["notifications"].deliveries)

    def published(self, topic_id: str) -> list[dict[str, Any]]:
        """The messages published to a topic (PublishMessage, alarms), oldest first."""
        with self.backend.lock:
            return [copy.deepcopy(m) for m in self.backend.states["notifications"].messages if m["topicId"] == topic_id]

    def alarm_spec(self, display_name: str) -> AlarmSpec:
        """The alarm of that display name as the emulator evaluates it (what its messages are built from)."""
        with self.backend.lock:
            alarms = self.backend.states["monitoring"].alarms.values()
            found = [alarm.spec for alarm in alarms if alarm.spec.display_name == display_name]
        if not found:
            raise KeyError(f"no alarm named {display_name!r}")
        return found[0]

    def add_api_key(self, user_id: str, public_key: rsa.RSAPublicKey) -> str:
        """Register an API key for a user of the tenancy, as uploading one in OCI does; returns its key id."""
        return self.backend.keyring.add_api_key(self.tenancy_id, user_id, public_key)

    def resource_principal_env(
        self,
        principal_id: str,
        directory: str | os.PathLike,
        *,
        compartment_id: str | None = None,
        ttl_seconds: float = 3600.0,
    ) -> dict[str, str]:
        """RPST v2.2 files for `principal_id` in `directory` and the env that points to them.

        Calling it again with the same directory rotates the token in place, as the Functions
        runtime does; the SDK re-reads the files after a 401.
        """
        return self.backend.resource_principal_env(
            principal_id, directory, compartment_id=compartment_id, ttl_seconds=ttl_seconds
        )

    # --- functions' containers -------------------------------------------------------------------
    # Tests and chaos check what the runtime left on the machine (processes, token files, the
    # function's output); these read and steer it in the server's loop, where its objects live.
    def function_containers(self, function_id: str) -> dict[str, Any]:
        """What `GET /_admin/functions` reports of that function: counts and calls, its `log`
        file, the `pids` of its fdk processes and each container's pid and directory
        (`instances`). A function without code attached raises OciError 404, as the endpoint."""

        async def report() -> dict[str, Any]:
            return self._pool(function_id).to_json()

        return self._in_loop(report())

    def function_log(self, function_id: str) -> Path:
        """The file the function's fdk output goes to (every container's stdout and stderr, its
        JSON log lines among them), for callers that read what the function logged."""
        return Path(self.function_containers(function_id)["log"])

    def container_directories(self, function_id: str) -> list[Path]:
        """Each running container's directory, oldest first; its `rp/` holds the RPST and session
        key the runtime minted, which callers read to check expiry, rotation and leaks."""
        return [Path(c["directory"]) for c in self.function_containers(function_id)["instances"]]

    def force_idle(self, function_id: str) -> dict[str, Any]:
        """As `POST /_admin/functions/ID/idle`: idle out every idle container now (provisioned
        ones stay) and return once their processes are gone, so the next call is cold."""

        async def idle() -> dict[str, Any]:
            pool = self._pool(function_id)
            return {"stopped": await pool.force_idle(), **pool.to_json()}

        return self._in_loop(idle())

    def rotate_function_tokens(self, function_id: str, ttl_seconds: float = 3600.0) -> None:
        """Rewrite the resource-principal token files of every container of that function with
        tokens valid `ttl_seconds`, as the Functions runtime refreshes them: a short ttl plants a
        token that really expires before the runtime's own next refresh."""

        async def rotate() -> None:
            self._pool(function_id).rotate_tokens(ttl_seconds)

        self._in_loop(rotate())

    def _pool(self, function_id: str) -> functions_runtime.Pool:
        return functions_runtime.attached(self.backend, function_id)[1]

    def _in_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the server's event loop (the runtime's objects are the loop's) and wait."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(LOOP_CALL_TIMEOUT_SECONDS)


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result
