"""The alarm path end to end: the emulator with this repo's function under fdk, on a scaled
clock, and both nodes' agents probing loopback health endpoints (tests.support.health_servers)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import oci

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.health_servers import MonitorUriServer
from tests.support.node_agent import agent_config, make_agent
from tests.support.paths import REPO
from tests.support.topology import function_nodes

CLOCK_SCALE = 60.0  # one emulated minute per wall second
WAIT_SECONDS = 30.0  # wall-clock bound of every wait


class AlarmPath:
    """An emulator with the function attached and both node agents running."""

    def __init__(self, emu: Emulator, servers: dict[str, MonitorUriServer]) -> None:
        self.emu, self.servers = emu, servers
        function = emu.topology["functions"][0]
        self.vip_id = function["config"]["VIP_PRIVATE_IP_IDS"].split(",")[0]
        self.vnics = {n["name"]: n["vnic_id"] for n in json.loads(function["config"]["NODES"])}
        self.network = oci.core.VirtualNetworkClient(
            oci.config.from_file(emu.oci_config_file), service_endpoint=emu.endpoint
        )
        self.stop = threading.Event()
        self.agents = [make_agent(emu, agent_config(emu, servers, node)) for node in ("node-a", "node-b")]
        self.threads = [threading.Thread(target=agent.run, args=(self.stop,), daemon=True) for agent in self.agents]
        for thread in self.threads:
            thread.start()

    def holder(self) -> str:
        vnic = self.network.get_private_ip(self.vip_id).data.vnic_id
        return next(name for name, vnic_id in self.vnics.items() if vnic_id == vnic)

    def moves(self) -> list[dict[str, Any]]:
        return [e for e in self.emu.audit() if e["operation"] == "UpdatePrivateIp"]

    def deliveries(self) -> list[dict[str, Any]]:
        return self.emu.deliveries()

    def delivered(self, kind: str, node: str, after: int = 0) -> list[dict[str, Any]]:
        """Answered deliveries (function reached) of alarm messages of ``kind`` about ``node``."""
        return [
            d
            for d in self.deliveries()[after:]
            if isinstance(d["request"], dict)
            and d["request"].get("type") == kind
            and d["status"] == 200
            and d["request"]["alarmMetaData"][0]["dimensions"][0].get("node") == node
        ]

    def wait_for(self, what: str, condition: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; deliveries: {self.deliveries()[-4:]}")

    def wait_emulated(self, seconds: float) -> None:
        target = self.emu.clock.now() + seconds
        self.wait_for(f"{seconds} emulated seconds", lambda: self.emu.clock.now() >= target)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def start_alarm_path(servers: dict[str, MonitorUriServer], **config: str) -> AlarmPath:
    """The emulator (function attached, clock scaled) and both agents; config overrides the function's."""
    nodes = [
        {"name": n["name"], "vnic_id": n["vnic_id"], "health_url": servers[n["name"]].url, "priority": n["priority"]}
        for n in function_nodes()
    ]
    function_config = {"NODES": json.dumps(nodes), "COOLDOWN_SECONDS": "1", "PROBE_TIMEOUT_SECONDS": "1", **config}
    emu = Emulator.start(
        topology=DEFAULT_TOPOLOGY,
        state=None,
        function_dir=REPO,
        function_config=function_config,
        clock_scale=CLOCK_SCALE,
    )
    return AlarmPath(emu, servers)
