"""The node's health endpoint: ``GET /healthz`` on ``endpoint_address:endpoint_port`` (8405).

The failover function probes it before every decision; it answers 200 only while this node can
serve the floating IP now (``serving.judge``), else 503, with a JSON body saying why. Thin
adapters around the pure verdict:

* haproxy: one GET of ``haproxy_url`` (its monitor-uri on 127.0.0.1:8404) with a short timeout;
* the alias: ``is_local_address`` binds a UDP socket to (floating IP, 0). The kernel accepts
  that bind only for an address it routes as *local in the caller's network namespace*
  (``inet_addr_type() == RTN_LOCAL``): an address on one of this namespace's interfaces, such as
  keepalived's alias (an IPv6 floating IP: an AF_INET6 socket, same rule). No packet is sent
  and nothing is shelled out. It is reliable as long as ``net.ipv4.ip_nonlocal_bind`` (for IPv6
  ``net.ipv6.ip_nonlocal_bind``) is 0 (with 1 every bind succeeds; it is read per namespace
  from /proc and the verdict refuses to vouch), IP_FREEBIND is not set (it is not), and nobody
  routes the floating IP as local by other means (an AnyIP ``local`` route); see
  tests/probe/test_endpoint.py, which also checks it inside a network namespace;
* keepalived: ``keepalived_running`` reads the pid in ``/run/keepalived.pid`` (where keepalived and
  its systemd unit keep it) and that process's ``/proc/<pid>/stat``; a pid file that is missing
  or stale (a SIGKILLed keepalived leaves it behind) falls back to scanning ``/proc`` for any
  running process named keepalived, at most ``MAX_PROC_ENTRIES`` entries. A zombie does not
  count. Both are world-readable, so the agent's unprivileged DynamicUser reads them. Only this
  node's processes are seen when the node has its own PID namespace (an instance, a booted lab
  node); an agent sharing one with other nodes' keepalived sees theirs too and says "running",
  so the function never finds that node unmanaged (it acts as before rule 4b);
* HTTP: the standard library's single-threaded ``HTTPServer`` in a daemon thread. One request
  at a time, each bounded by a socket timeout and the short haproxy check, so a flood or a slow
  client cannot grow threads or memory; the function probes each node once per call.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import requests

from failover.log import Logger
from health_probe.config import AgentConfig
from health_probe.serving import Verdict, family, is_keepalived, judge, keepalived_word, pid_in

HAPROXY_TIMEOUT_SECONDS = 0.5
# Per connection: reading the request and writing the answer; a client slower than this is cut.
CLIENT_TIMEOUT_SECONDS = 2.0
NONLOCAL_BIND = {name: Path(f"/proc/sys/net/{name}/ip_nonlocal_bind") for name in ("ipv4", "ipv6")}
KEEPALIVED_PID_FILE = Path("/run/keepalived.pid")
PROC = Path("/proc")
# A node runs a few hundred processes; /proc holds them and some 60 other entries. The scan for
# keepalived stops here whatever /proc holds, so one answer stays a few milliseconds.
MAX_PROC_ENTRIES = 65536


def is_local_address(ip: str) -> bool:
    """Whether ``ip`` (IPv4 or IPv6) is an address of this network namespace (see the module docstring)."""
    kind = socket.AF_INET6 if family(ip) == "ipv6" else socket.AF_INET
    with socket.socket(kind, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((ip, 0))
        except OSError:
            return False
    return True


def nonlocal_bind_enabled(path: Path = NONLOCAL_BIND["ipv4"]) -> bool:
    """ip_nonlocal_bind of this namespace at ``path``; unreadable counts as on (cannot vouch)."""
    try:
        return path.read_text().strip() != "0"
    except OSError:
        return True


def keepalived_running(pid_file: Path = KEEPALIVED_PID_FILE, proc: Path = PROC) -> bool | None:
    """Whether a keepalived process runs here (see the module docstring); None when ``proc``
    cannot be listed."""
    pid = pid_in(_read(pid_file) or "")
    if pid is not None and is_keepalived(_read(proc / str(pid) / "stat") or ""):
        return True
    try:
        with os.scandir(proc) as entries:
            for n, entry in enumerate(entries):
                if n >= MAX_PROC_ENTRIES:
                    break
                if entry.name.isdigit() and is_keepalived(_read(Path(entry.path) / "stat") or ""):
                    return True
    except OSError:
        return None
    return False


def _read(path: Path) -> str | None:
    """A small /proc or /run file's text; None when it is gone (a process that just ended) or unreadable."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def haproxy_answers(url: str, timeout: float = HAPROXY_TIMEOUT_SECONDS) -> tuple[bool, str]:
    """(up, detail) of one GET of haproxy's local health URL; 2xx is up."""
    try:
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment must not answer for haproxy
            response = session.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return False, type(exc).__name__
    return 200 <= response.status_code < 300, f"HTTP {response.status_code}"


def observe(config: AgentConfig, keepalived: Callable[[], bool | None] = keepalived_running) -> Verdict:
    """Look now: haproxy, each floating IP, the sysctl, keepalived (``keepalived``: how); then judge."""
    up, detail = haproxy_answers(config.haproxy_url)
    aliases = {ip: is_local_address(ip) for ip in config.floating_ips}
    blind = {name for name in {family(ip) for ip in aliases} if nonlocal_bind_enabled(NONLOCAL_BIND[name])}
    return judge(config.node, up, detail, aliases, blind, keepalived())


class HealthEndpoint:
    """The running endpoint; logs each change of the verdict (not every request)."""

    def __init__(
        self, config: AgentConfig, log: Logger, keepalived: Callable[[], bool | None] = keepalived_running
    ) -> None:
        assert config.endpoint_address is not None
        self._config = config
        self._keepalived = keepalived
        self._log = log
        self._last: tuple[bool, bool | None] | None = None
        self._server = HTTPServer((config.endpoint_address, config.endpoint_port), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, name="health-endpoint", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}/healthz"

    def start(self) -> HealthEndpoint:
        self._thread.start()
        self._log.info(
            "endpoint_started",
            url=self.url,
            floating_ips=list(self._config.floating_ips),
            nonlocal_bind=nonlocal_bind_enabled(NONLOCAL_BIND["ipv4"]),
        )
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def verdict(self) -> Verdict:
        verdict = observe(self._config, self._keepalived)
        if (verdict.serving, verdict.keepalived) != self._last:
            say = self._log.info if verdict.serving and verdict.keepalived is not False else self._log.warning
            say(
                "serving" if verdict.serving else "not_serving",
                reason=verdict.reason,
                haproxy="up" if verdict.haproxy_up else "down",
                vip_alias=dict(verdict.vip_alias),
                keepalived=keepalived_word(verdict.keepalived),
            )
            self._last = (verdict.serving, verdict.keepalived)
        return verdict

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class HealthzHandler(BaseHTTPRequestHandler):
            timeout = CLIENT_TIMEOUT_SECONDS

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] != "/healthz":
                    self._answer(404, {"error": "not found; GET /healthz"})
                    return
                verdict = endpoint.verdict()
                self._answer(verdict.status, verdict.body())

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body, {"Cache-Control": "no-store"})

            def log_message(self, *args: object) -> None:
                """Silent per request: the verdict's changes are logged instead."""

        return HealthzHandler


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    """One whole JSON answer with its length, for the agent's two small HTTP servers."""
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)
