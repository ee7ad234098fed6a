"""Loopback HTTP servers standing in for the nodes' haproxy health endpoints."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest


class HealthServer:
    """A /healthz endpoint on 127.0.0.1 answering 200 or 503 like haproxy's monitor-uri."""

    def __init__(self) -> None:
        self.healthy = True
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.hits += 1
                status = 200 if server.healthy else 503
                body = b"ok\n" if server.healthy else b"down\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/healthz"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def health_servers() -> Iterator[dict[str, HealthServer]]:
    servers = {"node-a": HealthServer(), "node-b": HealthServer(), "vip": HealthServer()}
    yield servers
    for server in servers.values():
        server.close()
