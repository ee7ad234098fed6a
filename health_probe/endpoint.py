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
* HTTP: the standard library's single-threaded ``HTTPServer`` in a daemon thread. One request
  at a time, each bounded by a socket timeout and the short haproxy check, so a flood or a slow
  client cannot grow threads or memory; the function probes each node once per call.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import requests

from failover.log import Logger
from health_probe.config import AgentConfig
from health_probe.serving import Verdict, family, judge

HAPROXY_TIMEOUT_SECONDS = 0.5
# Per connection: reading the request and writing the answer; a client slower than this is cut.
CLIENT_TIMEOUT_SECONDS = 2.0
NONLOCAL_BIND = {name: Path(f"/proc/sys/net/{name}/ip_nonlocal_bind") for name in ("ipv4", "ipv6")}


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


def haproxy_answers(url: str, timeout: float = HAPROXY_TIMEOUT_SECONDS) -> tuple[bool, str]:
    """(up, detail) of one GET of haproxy's local health URL; 2xx is up."""
    try:
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment must not answer for haproxy
            response = session.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return False, type(exc).__name__
    return 200 <= response.status_code < 300, f"HTTP {response.status_code}"


def observe(config: AgentConfig) -> Verdict:
    """Look now: haproxy, each floating IP, the sysctl; then judge."""
    up, detail = haproxy_answers(config.haproxy_url)
    aliases = {ip: is_local_address(ip) for ip in config.floating_ips}
    blind = {name for name in {family(ip) for ip in aliases} if nonlocal_bind_enabled(NONLOCAL_BIND[name])}
    return judge(config.node, up, detail, aliases, blind)


class HealthEndpoint:
    """The running endpoint; logs each change of the verdict (not every request)."""

    def __init__(self, config: AgentConfig, log: Logger) -> None:
        assert config.endpoint_address is not None
        self._config = config
        self._log = log
        self._last: bool | None = None
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
        verdict = observe(self._config)
        if verdict.serving != self._last:
            say = self._log.info if verdict.serving else self._log.warning
            say(
                "serving" if verdict.serving else "not_serving",
                reason=verdict.reason,
                haproxy="up" if verdict.haproxy_up else "down",
                vip_alias=dict(verdict.vip_alias),
            )
            self._last = verdict.serving
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
