"""Loopback HTTP servers standing in for the nodes' haproxy health endpoints, and the node agent
wired to them and to an emulator (the real wiring of ``python -m health_probe``, on the
emulator's scaled clock). Shared by tests/probe and tests/alarm."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from datetime import timedelta
from typing import Any, Iterator

import oci
import pytest

from health_probe.__main__ import build_agent
from health_probe.agent import Agent
from health_probe.config import parse_config
from failover.log import Logger
from health_probe.names import NAMES
from ocisim import Emulator


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


def resource_ids(emu: Emulator) -> dict[str, str]:
    """Target name → the OCID the probe reports it under (instances, and the VIP's private IP)."""
    topology = emu.backend.topology
    ids = {i["displayName"]: i["id"] for i in topology["instances"]}
    ids["vip"] = topology["functions"][0]["config"]["VIP_PRIVATE_IP_IDS"].split(",")[0]
    return ids


def agent_config(emu: Emulator, servers: dict[str, HealthServer], node: str, **overrides: Any) -> dict[str, Any]:
    """The node agent's YAML document for ``node`` (as the template renders it), on the emulator."""
    ids = resource_ids(emu)
    return {
        "node": node, "compartment_id": emu.compartment_id, "region": emu.region,
        "auth": "config_file", "oci_config_file": emu.oci_config_file,
        "telemetry_endpoint": emu.endpoint, "federation_endpoint": "",
        "interval_seconds": 10, "timeout_seconds": 1,
        "targets": [{"name": name, "role": "vip" if name == "vip" else "node", "url": server.url,
                     "resource_id": ids[name]} for name, server in servers.items()],
        **overrides,
    }


def make_agent(emu: Emulator, raw: dict[str, Any]) -> Agent:
    """``python -m health_probe``'s own wiring, on the emulator's clock (its lines: capture_logs)."""
    return build_agent(parse_config(raw), Logger("health_probe", node=raw["node"]), clock=emu.clock)


def summarize(emu: Emulator, query: str, minutes: int = 10) -> list:
    """SummarizeMetricsData through the SDK over the last ``minutes`` of emulated time."""
    client = oci.monitoring.MonitoringClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
    end = emu.clock.now_datetime() + timedelta(minutes=1)
    details = oci.monitoring.models.SummarizeMetricsDataDetails(
        namespace=NAMES.namespace, query=query, start_time=end - timedelta(minutes=minutes), end_time=end)
    return client.summarize_metrics_data(emu.compartment_id, details).data
