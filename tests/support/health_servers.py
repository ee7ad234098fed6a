"""Fake health endpoints on 127.0.0.1, standing in for what the function, the node agent and the
emulator's Health Checks probe: haproxy's monitor-uri, the node agent's verdict endpoint, a hostile
endpoint (slow or huge bodies) and a raw TCP peer (silent, endless or not HTTP at all). Each is
bounded: a test's server never answers for longer than it says, and ``close()`` stops it."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from health_probe.serving import Verdict

# How long a "hang" node keeps its answer back: longer than the function's probe timeout in tests.
PROBE_TIMEOUT = 0.3
VIP_ADDRESS = "10.0.0.4"


class QuietHandler(BaseHTTPRequestHandler):
    """http.server's handler without its per-request line on stderr."""

    def log_message(self, *args: Any) -> None:
        pass


class LoopbackHTTPServer:
    """``handler`` served on a free 127.0.0.1 port by a daemon thread; ``url`` is its /healthz."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MonitorUriServer(LoopbackHTTPServer):
    """haproxy's monitor-uri: 200 ``ok`` or 503 ``down`` as ``healthy`` says; counts its hits."""

    def __init__(self) -> None:
        self.healthy = True
        self.hits = 0
        server = self

        class MonitorUriHandler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.hits += 1
                status = 200 if server.healthy else 503
                body = b"ok\n" if server.healthy else b"down\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(MonitorUriHandler)


class NodeVerdictServer(LoopbackHTTPServer):
    """A node's health endpoint: set ``state`` to up (200), down (503) or hang. The body is the
    node agent's own (health_probe.serving.Verdict); ``alias`` is whether keepalived holds the
    floating IP there (the topology's VIP starts on node-a), ``keepalived`` whether it runs
    (False: SIGKILLed, the node serves on; None: an agent that does not say)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "up"
        self.alias = name == "node-a"
        self.keepalived: bool | None = True
        node = self

        class VerdictHandler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if node.state == "hang":
                    time.sleep(PROBE_TIMEOUT * 3)
                code = 200 if node.state == "up" else 503
                verdict = Verdict(
                    node=node.name,
                    serving=code == 200,
                    haproxy_up=code == 200,
                    vip_alias=((VIP_ADDRESS, node.alias),),
                    reason="serving" if code == 200 else "haproxy down",
                    keepalived=node.keepalived,
                )
                body = json.dumps(verdict.body()).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(VerdictHandler)


class HostileHealthServer(LoopbackHTTPServer):
    """A health endpoint that answers 200 and then trickles its body (``mode`` "trickle"), or
    sends a huge one ("huge"), for at most ``seconds``."""

    def __init__(self, mode: str, seconds: float = 8.0) -> None:
        class HostileBodyHandler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                size = 50 * 1024 * 1024 if mode == "huge" else 200
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                give_up = time.monotonic() + seconds
                sent = 0
                try:
                    while sent < size and time.monotonic() < give_up:
                        chunk = b"x" * (1024 * 1024 if mode == "huge" else 1)
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        sent += len(chunk)
                        if mode == "trickle":
                            time.sleep(0.05)
                except OSError:
                    pass

        super().__init__(HostileBodyHandler)


class RawTcpPeer:
    """A TCP server on 127.0.0.1 that answers as `mode` says: "http" (status `self.status`),
    "silent" (reads, never answers), "endless" (200 and a body that never ends), "garbage"."""

    def __init__(self, mode: str = "http") -> None:
        self.mode, self.status, self.hits = mode, 200, 0
        self.closing = threading.Event()
        peer = self

        class RawPeerHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                peer.hits += 1
                self.request.settimeout(5)
                try:
                    self.request.recv(4096)
                    peer.answer(self.request)
                except OSError:
                    pass  # the prober hung up: what a bounded client does

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), RawPeerHandler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def answer(self, conn: socket.socket) -> None:
        if self.mode == "http":
            body = f"serving {self.status}\n".encode()
            conn.sendall(f"HTTP/1.1 {self.status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        elif self.mode == "silent":
            self.closing.wait(10)
        elif self.mode == "endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            for _ in range(10_000):  # 80 MB at most, far past what a probe reads
                if self.closing.is_set():
                    return
                conn.sendall(b"x" * 8192)
        else:
            conn.sendall(b"SSH-2.0-not-http\r\n\r\n")

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def health_servers() -> Iterator[dict[str, MonitorUriServer]]:
    """haproxy's monitor-uri of node-a, node-b and the VIP (what the node agent probes)."""
    servers = {"node-a": MonitorUriServer(), "node-b": MonitorUriServer(), "vip": MonitorUriServer()}
    yield servers
    for server in servers.values():
        server.close()
