"""Loopback stand-ins for the nodes' health endpoints, whose answer the harness sets.

Each node is an HTTP server on 127.0.0.1 that answers what the trial says the function's
probe should see: ``up`` (200), ``down`` (503: haproxy says no), ``hang`` (no answer within
the probe timeout: the function cannot tell, its probe is *unknown*), ``trickle`` (a hostile
endpoint: 200 headers at once, then its body a byte at a time for ``hang_seconds``: *unknown*,
cut off at the probe timeout), ``impostor`` (a 200 that names another node: *unknown*). Whether the node really
serves clients is the trial's ground truth, kept apart in ``serving``: a node can be fine while
the function cannot reach it (``hang`` and serving), or crashed (``hang`` and not serving).
Each answer also says whether the node's keepalived runs (the agent's ``keepalived`` field,
"running" or "not running", as health_probe/serving.py words it and failover/probe.py reads
it): running unless the trial killed it (a SIGKILLed keepalived leaves the alias, so the node
serves on). Every change is stamped on a timeline, keepalived's state with it, so the invariant
checks can ask what was true when.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaos.invariants import Change
from health_probe.serving import keepalived_word

PROBE_STATES = ("up", "down", "hang", "trickle", "impostor")


class HealthEndpoint:
    """One node's /healthz; ``hang_seconds`` must exceed the function's probe timeout."""

    def __init__(self, name: str, hang_seconds: float) -> None:
        self.name = name
        self.probe = "up"
        self.keepalived = True
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if endpoint.probe == "hang":
                    time.sleep(hang_seconds)
                if endpoint.probe == "trickle":
                    self._trickle()
                    return
                up = endpoint.probe in ("up", "impostor")
                name = "some-other-node" if endpoint.probe == "impostor" else endpoint.name
                answer = {"node": name, "serving": up, "keepalived": keepalived_word(endpoint.keepalived)}
                body = json.dumps(answer).encode()  # as the node agent answers
                try:
                    self.send_response(200 if up else 503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the probe gave up first (its timeout): nothing to answer

            def _trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                give_up = time.monotonic() + hang_seconds
                try:
                    while time.monotonic() < give_up:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass  # the probe hung up: what it should do

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        self._thread = threading.Thread(target=self.server.serve_forever, name=f"health-{name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Nodes:
    """The nodes of one lane and the timeline of what the harness made them do."""

    def __init__(self, names: tuple[str, ...], hang_seconds: float) -> None:
        self.endpoints = {name: HealthEndpoint(name, hang_seconds) for name in names}
        self.timeline: list[Change] = []

    def set(self, node: str, probe: str, serving: bool | None = None, keepalived: bool | None = None) -> None:
        """Make ``node``'s endpoint answer ``probe``; ``serving`` defaults to probe == up,
        ``keepalived`` (whether it runs there) to what it was."""
        if probe not in PROBE_STATES:
            raise ValueError(f"probe must be one of {PROBE_STATES}")
        endpoint = self.endpoints[node]
        endpoint.probe = probe
        if keepalived is not None:
            endpoint.keepalived = keepalived
        serves = probe == "up" if serving is None else serving
        self.timeline.append(Change(time.time(), node, probe, serves, endpoint.keepalived))

    def reset(self) -> None:
        """Every node up and serving, its keepalived running; the timeline starts again."""
        self.timeline = []
        for name in self.endpoints:
            self.set(name, "up", keepalived=True)

    def close(self) -> None:
        for endpoint in self.endpoints.values():
            endpoint.close()
