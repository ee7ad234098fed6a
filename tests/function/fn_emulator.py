"""Helpers for the function tests against the emulator: loopback node health endpoints, the
topology's function, and an invoke helper using the real FunctionsInvokeClient."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from health_probe.serving import Verdict
from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY

REPO = Path(__file__).resolve().parents[2]
PROBE_TIMEOUT = 0.3
VIP_ADDRESS = "10.0.0.4"


class NodeHealth:
    """A node's health endpoint on 127.0.0.1: set ``state`` to up (200), down (503) or hang.
    The body is the node agent's own (health_probe.serving.Verdict); ``alias`` is whether
    keepalived holds the floating IP there (the topology's VIP starts on node-a)."""

    def __init__(self, name: str) -> None:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if node.state == "hang":
                    time.sleep(PROBE_TIMEOUT * 3)
                code = 200 if node.state == "up" else 503
                verdict = Verdict(
                    node=node.name,
                    serving=code == 200,
                    haproxy_up=code == 200,
                    vip_alias=((VIP_ADDRESS, node.alias),),
                    reason="serving" if code == 200 else "haproxy down",
                )
                body = json.dumps(verdict.body()).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.name = name
        self.state = "up"
        self.alias = name == "node-a"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def topology_function(topology: Path = DEFAULT_TOPOLOGY) -> dict[str, Any]:
    return json.loads(topology.read_text())["functions"][0]


def nodes_config(nodes: dict[str, NodeHealth], topology: Path = DEFAULT_TOPOLOGY) -> str:
    """The topology's NODES with each health_url replaced by the loopback endpoint."""
    items = json.loads(topology_function(topology)["config"]["NODES"])
    for item in items:
        item["health_url"] = nodes[item["name"]].url
    return json.dumps(items)


class FunctionEmulator:
    def __init__(self, emu: Emulator) -> None:
        import oci.config
        from oci.functions import FunctionsInvokeClient

        self.emu = emu
        self.function_id = emu.functions["vip-failover"]
        self.operator_id = emu.functions["vip-failover-operator"]
        config = oci.config.from_file(emu.oci_config_file, emu.oci_profile)
        self.client = FunctionsInvokeClient(config, service_endpoint=emu.endpoint, timeout=(5, 60))

    def invoke(self, body: Any, function_id: str | None = None) -> dict[str, Any]:
        """Invoke the events function (what the nodes and Notifications reach) or ``function_id``."""
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        response = self.client.invoke_function(function_id or self.function_id, invoke_function_body=raw)
        assert response.status == 200
        return json.loads(response.data.text)

    def operate(self, body: Any) -> dict[str, Any]:
        """Invoke the operators' function, as a member of the operators' group."""
        return self.invoke(body, self.operator_id)

    def writes(self) -> list[dict[str, Any]]:
        return [e for e in self.emu.audit() if e["operation"] == "UpdatePrivateIp"]

    def holder_vnic(self) -> str:
        import oci.config
        from oci.core import VirtualNetworkClient

        config = oci.config.from_file(self.emu.oci_config_file, self.emu.oci_profile)
        client = VirtualNetworkClient(config, service_endpoint=self.emu.endpoint)
        return client.get_private_ip(VIP_ID).data.vnic_id


FUNCTION = topology_function()
# The recorded fixtures' alarm and the topology's own: the deployment's alarms in these tests.
ALARM_IDS = ",".join(
    ["ocid1.alarm.oc1.iad.aaaaaaaavipfailovernodedown"]
    + [a["id"] for a in json.loads(DEFAULT_TOPOLOGY.read_text())["alarms"]]
)
VIP_ID = FUNCTION["config"]["VIP_PRIVATE_IP_IDS"]
VNICS = {n["name"]: n["vnic_id"] for n in json.loads(FUNCTION["config"]["NODES"])}


def run_cli(emulator: Emulator, env_file: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``python -m failover --env FILE ... ARGS`` as an operator types it, with the emulator's API key."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "failover",
            "--env",
            str(env_file),
            "--config-file",
            emulator.oci_config_file,
            "--endpoint",
            emulator.endpoint,
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, json.loads(result.stdout)
