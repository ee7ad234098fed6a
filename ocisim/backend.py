"""The one backend state object: every service's state, the keys, the audit log, one lock.

Why one lock: the emulated control plane is tiny and OCI's guarantees we care about are
per-resource atomicity and etags; serialising every synchronous handler under one lock gives
exactly that with no chance of a torn read. The state file is rewritten atomically (temp file +
fsync + rename) after every mutating call, so a killed emulator resumes from the last
committed call.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import pkgutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from failover.log import Logger
from ocisim.audit import AuditLog
from ocisim.auth import Keyring, Principal, new_private_key, private_pem
from ocisim.clock import Clock
from ocisim.faults import FaultTable
from ocisim.service import Service

STATE_VERSION = 1
# Every service logs through the backend (`backend.log(event, **fields)`), as logger "ocisim".
_LOG = Logger("ocisim")
# Real UpdatePrivateIp takes about a second; keep the default small so tests stay fast.
DEFAULT_LATENCY = {"UpdatePrivateIp": 0.05}


def discover_services() -> list[Service]:
    """Every `ocisim.<pkg>` exposing `SERVICE`: core first, then by name, each after the
    services it depends on (the order their runtimes start in; they stop in reverse)."""
    import ocisim

    services = []
    for info in pkgutil.iter_modules(ocisim.__path__):
        if not info.ispkg or info.name == "topologies":
            continue
        module = importlib.import_module(f"ocisim.{info.name}")
        service = getattr(module, "SERVICE", None)
        if isinstance(service, Service):
            services.append(service)
    return start_order(sorted(services, key=lambda s: (s.name != "core", s.name)))


def start_order(services: list[Service]) -> list[Service]:
    """`services` reordered so each comes after its `depends_on` (stable otherwise)."""
    by_name = {s.name: s for s in services}
    ordered: list[Service] = []
    visiting: set[str] = set()

    def place(service: Service) -> None:
        if service in ordered:
            return
        if service.name in visiting:
            raise ValueError(f"services depend on each other in a cycle through {service.name}")
        visiting.add(service.name)
        for name in service.depends_on:
            if name in by_name:
                place(by_name[name])
        visiting.discard(service.name)
        ordered.append(service)

    for service in services:
        place(service)
    return ordered


def atomic_write(path: Path, text: str) -> None:
    """Write-then-rename (mode 0600): readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Backend:
    def __init__(
        self,
        *,
        services: list[Service],
        topology: Mapping[str, Any],
        keyring: Keyring,
        api_private_key: str,
        states: dict[str, Any],
        audit: AuditLog,
        clock: Clock,
        state_path: Path | None,
        options: Mapping[str, Any],
    ) -> None:
        self.lock = threading.RLock()
        self.services = services
        self.topology = topology
        self.keyring = keyring
        self.api_private_key = api_private_key
        self.states = states
        self.audit_log = audit
        self.clock = clock
        self.faults = FaultTable(DEFAULT_LATENCY)
        self.state_path = state_path
        self.options = dict(options)
        self.endpoint = ""  # set once the server listens
        # Live objects of the services, by service name, created by their start hooks and ended
        # by their stop hooks (function containers, the alarm loop, pending deliveries).
        self.runtime: dict[str, Any] = {}
        self.ca_bundle: str | None = None  # the CA file clients trust when serving HTTPS

    # --- identity of the emulated tenancy ------------------------------------------------------
    @property
    def region(self) -> str:
        return self.topology["region"]

    @property
    def tenancy_id(self) -> str:
        return self.topology["tenancy"]["id"]

    @property
    def user_id(self) -> str:
        return self.topology["user"]["id"]

    @property
    def compartment_id(self) -> str:
        return self.topology["compartments"][0]["id"]

    @property
    def functions(self) -> dict[str, str]:
        return {f["name"]: f["id"] for f in self.topology.get("functions", [])}

    # --- creation and persistence ------------------------------------------------------------
    @classmethod
    def open(
        cls,
        *,
        topology_path: str | os.PathLike | None,
        state_path: str | os.PathLike | None,
        clock: Clock,
        options: Mapping[str, Any],
    ) -> Backend:
        """Resume `state_path` if it exists, else seed a new state from the topology."""
        services = discover_services()
        path = Path(state_path) if state_path else None
        if path is not None and path.exists():
            data = json.loads(path.read_text())
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"{path}: unsupported state version {data.get('version')}")
            states = {
                s.name: s.load(data["services"][s.name]) if s.name in data["services"] else None for s in services
            }
            backend = cls(
                services=services,
                topology=data["topology"],
                keyring=Keyring.from_json(data["keyring"]),
                api_private_key=data["api_private_key"],
                states=states,
                audit=AuditLog.from_json(data["audit"]),
                clock=clock,
                state_path=path,
                options=options,
            )
            # A service added since the state was written starts from the saved topology.
            for service in services:
                if backend.states[service.name] is None:
                    backend.states[service.name] = service.seed(backend.topology, backend)
            return backend
        if topology_path is None:
            raise ValueError("a topology is needed to create a new state")
        topology = json.loads(Path(topology_path).read_text())
        api_key = new_private_key()
        keyring = Keyring.new()
        keyring.add_api_key(topology["tenancy"]["id"], topology["user"]["id"], api_key.public_key())
        backend = cls(
            services=services,
            topology=topology,
            keyring=keyring,
            api_private_key=private_pem(api_key),
            states={},
            audit=AuditLog(),
            clock=clock,
            state_path=path,
            options=options,
        )
        for service in services:
            backend.states[service.name] = service.seed(topology, backend)
        backend.save()
        return backend

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": STATE_VERSION,
                "topology": self.topology,
                "keyring": self.keyring.to_json(),
                "api_private_key": self.api_private_key,
                "services": {s.name: s.dump(self.states[s.name]) for s in self.services},
                "audit": self.audit_log.to_json(),
            }

    def save(self) -> None:
        """Write the whole state atomically; a no-op for an in-memory emulator."""
        if self.state_path is None:
            return
        with self.lock:
            atomic_write(self.state_path, json.dumps(self.to_json(), indent=1, sort_keys=True))

    # --- audit ---------------------------------------------------------------------------------
    def record(
        self,
        *,
        operation: str,
        principal: Principal | None,
        resource_id: str | None,
        before: Any,
        after: Any,
        opc_request_id: str | None = None,
    ) -> dict[str, Any]:
        entry = self.audit_log.append(
            time=self.clock.iso_now(),
            principal=principal.to_json() if principal else None,
            operation=operation,
            resource_id=resource_id,
            before=before,
            after=after,
            opc_request_id=opc_request_id,
        )
        self.log(
            "audit",
            seq=entry["seq"],
            operation=operation,
            resource_id=resource_id,
            principal=entry["principal"] and entry["principal"]["id"],
        )
        return entry

    # --- credentials for code the emulator runs ------------------------------------------------
    def resource_principal_env(
        self,
        principal_id: str,
        directory: str | os.PathLike,
        *,
        compartment_id: str | None = None,
        ttl_seconds: float = 3600.0,
    ) -> dict[str, str]:
        """Write an RPST and its session private key under `directory`; return the v2.2 env.

        File paths (not literal values) so the SDK can re-read them after a 401, as in OCI.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        session_key = new_private_key()
        token = self.keyring.issue_session_token(
            principal_id,
            session_key.public_key(),
            ptype="resource",
            tenancy_id=self.tenancy_id,
            compartment_id=compartment_id or self.compartment_id,
            ttl_seconds=ttl_seconds,
        )
        rpst, pem = directory / "rpst", directory / "private.pem"
        atomic_write(pem, private_pem(session_key))  # key first: a reader never pairs a new
        atomic_write(rpst, token)  # token with an old key for long
        return {
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(rpst.resolve()),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(pem.resolve()),
            "OCI_RESOURCE_PRINCIPAL_REGION": self.region,
        }

    def log(self, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
        _LOG.log(level, event, **fields)
