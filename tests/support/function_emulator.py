"""The function attached to the emulator, driven the way its callers drive it: the real
FunctionsInvokeClient, and ``python -m failover`` as an operator types it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.function_env import RECORDED_ALARM_ID
from tests.support.health_servers import NodeVerdictServer
from tests.support.paths import REPO
from tests.support.topology import VIP_ID, function_nodes, two_node


def nodes_config(nodes: dict[str, NodeVerdictServer], topology: Path = DEFAULT_TOPOLOGY) -> str:
    """The topology's NODES with each health_url replaced by the loopback endpoint."""
    items = function_nodes(topology)
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


# The recorded fixtures' alarm and the topology's own: the deployment's alarms in these tests.
ALARM_IDS = ",".join([RECORDED_ALARM_ID] + [a["id"] for a in two_node()["alarms"]])


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
