"""The node agent wired to loopback health endpoints (tests.support.health_servers) and to an
emulator: the real wiring of ``python -m health_probe``, on the emulator's scaled clock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import oci
import yaml

from failover.log import Logger
from health_probe.__main__ import build_agent
from health_probe.agent import Agent
from health_probe.config import parse_config
from health_probe.names import NAMES
from ocisim import Emulator
from tests.support.health_servers import MonitorUriServer
from tests.support.paths import REPO


def resource_ids(emu: Emulator) -> dict[str, str]:
    """Target name → the OCID the probe reports it under (instances, and the VIP's private IP)."""
    topology = emu.topology
    ids = {i["displayName"]: i["id"] for i in topology["instances"]}
    ids["vip"] = topology["functions"][0]["config"]["VIP_PRIVATE_IP_IDS"].split(",")[0]
    return ids


def agent_config(emu: Emulator, servers: dict[str, MonitorUriServer], node: str, **overrides: Any) -> dict[str, Any]:
    """The node agent's YAML document for ``node`` (as the template renders it), on the emulator."""
    ids = resource_ids(emu)
    return {
        "node": node,
        "compartment_id": emu.compartment_id,
        "region": emu.region,
        "auth": "config_file",
        "oci_config_file": emu.oci_config_file,
        "telemetry_endpoint": emu.endpoint,
        "federation_endpoint": "",
        "interval_seconds": 10,
        "timeout_seconds": 1,
        "targets": [
            {"name": name, "role": "vip" if name == "vip" else "node", "url": server.url, "resource_id": ids[name]}
            for name, server in servers.items()
        ],
        **overrides,
    }


def notifying_config(
    emu: Emulator, servers: dict[str, MonitorUriServer], node: str, **overrides: Any
) -> dict[str, Any]:
    """``agent_config`` for a node whose keepalived notices invoke the emulator's events function."""
    return agent_config(
        emu,
        servers,
        node,
        function_id=emu.functions["vip-failover"],
        invoke_endpoint=emu.endpoint,
        notify_timeout_seconds=20,
        **overrides,
    )


def make_agent(emu: Emulator, raw: dict[str, Any]) -> Agent:
    """``python -m health_probe``'s own wiring, on the emulator's clock (its lines: capture_logs)."""
    return build_agent(parse_config(raw), Logger("health_probe", node=raw["node"]), clock=emu.clock)


def summarize(emu: Emulator, query: str, minutes: int = 10) -> list:
    """SummarizeMetricsData through the SDK over the last ``minutes`` of emulated time."""
    client = oci.monitoring.MonitoringClient(oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint)
    end = emu.clock.now_datetime() + timedelta(minutes=1)
    details = oci.monitoring.models.SummarizeMetricsDataDetails(
        namespace=NAMES.namespace, query=query, start_time=end - timedelta(minutes=minutes), end_time=end
    )
    return client.summarize_metrics_data(emu.compartment_id, details).data


def free_port() -> int:
    """A loopback port free right now (for the agent's endpoint and relay)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_notify(
    config: dict[str, Any], tmp_path: Path, arguments: tuple[str, ...]
) -> tuple[subprocess.CompletedProcess[str], list[dict], float]:
    """health_probe.notify as terraform renders it (``--relay``: the config's relay port) with
    ``arguments`` appended; without a ``relay_port`` in ``config``, a closed one. Its process,
    the JSON lines it printed, and how long it took."""
    config = {"relay_port": free_port(), **config}
    path = tmp_path / "node-agent.yaml"
    path.write_text(yaml.safe_dump(config))
    relay = f"127.0.0.1:{config['relay_port']}"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "health_probe.notify", "--config", str(path), "--relay", relay, *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done, lines, time.monotonic() - started


def run_notify(config: dict[str, Any], tmp_path: Path, state: str = "MASTER") -> tuple[int, list[dict], float]:
    """Run notify as keepalived's state-specific scripts do (``--state``)."""
    done, lines, seconds = _run_notify(config, tmp_path, ("--state", state))
    return done.returncode, lines, seconds


def run_keepalived_notify(config: dict[str, Any], tmp_path: Path, *appended: str) -> tuple[int, list[dict], str]:
    """notify as keepalived's generic ``notify`` runs it: TYPE NAME STATE PRIORITY appended."""
    done, lines, _ = _run_notify(config, tmp_path, appended)
    return done.returncode, lines, done.stderr


AGENT_READY_SECONDS = 30.0


def wait_for_event(log: Path, event: str, process: subprocess.Popen) -> list[dict[str, Any]]:
    """The agent's JSON lines once one of them is ``event`` (bounded; the process must live)."""
    deadline = time.monotonic() + AGENT_READY_SECONDS
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if any(line["event"] == event for line in lines):
            return lines
        assert process.poll() is None and time.monotonic() < deadline, f"no {event}: {log.read_text()[-2000:]}"
        time.sleep(0.05)


def spawn_agent(config: dict[str, Any], directory: Path) -> tuple[Path, subprocess.Popen]:
    """``python -m health_probe`` on ``config`` (written to directory/agent.yaml), no metrics:
    its log and process, as systemd starts it on a node."""
    path = directory / "agent.yaml"
    path.write_text(yaml.safe_dump(config))
    log = directory / "agent.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "health_probe", "--config", str(path), "--no-metrics"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return log, process
