"""Simulated node health: the instances' haproxy health endpoints, served by the emulator itself.

Why: the function probes each node's health URL before it moves the floating IP. Where no real
nodes exist (the embedded default, `make test`, an acceptance run of `ocisim serve`), those
URLs must still answer, and must answer on loopback: the topology's own addresses (10.0.0.x)
are data of the emulated cloud and are never sent a packet. The lab replaces these URLs with
its real haproxy endpoints in network namespaces.

The topology's function config names them as `${emulator_endpoint}/_sim/nodes/<name>/healthz`;
the Functions service expands `${emulator_endpoint}` when it starts the function.
"""

from collections.abc import Mapping
from typing import Any

from ocisim.nodes.routes import ROUTES
from ocisim.service import Service


def _seed(topology: Mapping[str, Any], backend: Any) -> dict[str, bool]:
    """Every instance starts healthy, keyed by display name (the name the function config uses)."""
    return {i["displayName"]: True for i in topology.get("instances", [])}


SERVICE = Service(name="nodes", routes=ROUTES, seed=_seed)
