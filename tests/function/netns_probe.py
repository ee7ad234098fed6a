"""Run inside a test's own network namespace (tests/function/test_probe_timeouts.py): one node's
health URL is 198.18.255.254, on-link in that namespace and answered by nothing (its ARP goes
unanswered; nothing leaves the namespace). Prints one JSON line:
the bare probe's result and time, and the real function's answer to node-b's MASTER notice."""

from __future__ import annotations

import json
import time

from failover.probe import probe
from ocisim import Emulator
from ocisim.emulator import DEFAULT_TOPOLOGY
from tests.support.function_emulator import FunctionEmulator, nodes_config
from tests.support.health_servers import NodeVerdictServer
from tests.support.paths import REPO

DEAD_URL = "http://198.18.255.254:8405/healthz"
CONNECT, READ = 0.3, 5.0


def main() -> None:
    started = time.monotonic()
    bare = probe(DEAD_URL, READ, connect_timeout=CONNECT)
    bare_s = time.monotonic() - started
    node_b = NodeVerdictServer("node-b")
    nodes = json.loads(nodes_config({"node-a": node_b, "node-b": node_b}))
    for node in nodes:
        if node["name"] == "node-a":
            node["health_url"] = DEAD_URL
    config = {
        "NODES": json.dumps(nodes),
        "PROBE_TIMEOUT_SECONDS": str(READ),
        "PROBE_CONNECT_TIMEOUT_SECONDS": str(CONNECT),
    }
    with Emulator.start(topology=DEFAULT_TOPOLOGY, state=None, function_dir=REPO, function_config=config) as emu:
        fn = FunctionEmulator(emu)
        fn.invoke({"action": "status"})  # the container's cold start stays out of the timing
        started = time.monotonic()
        answer = fn.invoke({"source": "keepalived", "node": "node-b", "state": "MASTER"})
        invoke_s = time.monotonic() - started
        writes = len(fn.writes())
    node_b.close()
    print(
        json.dumps(
            {
                "bare": {"health": bare.health.value, "detail": bare.detail, "seconds": bare_s},
                "answer": answer,
                "invoke_s": invoke_s,
                "writes": writes,
            }
        )
    )


if __name__ == "__main__":
    main()
