"""The probe's short connect timeout and the VIP read running alongside the probes.

A node whose link is dead must cost the connect timeout (a live node in the same VCN connects
in milliseconds), not the read timeout, and must still read as *unknown*, never *down*. The
dead address is 198.18.255.254, on-link on a veth pair inside a namespace this test creates: the
probe's packets are dropped there and never leave it. A live node whose server is stalled
(SIGSTOP) still connects, its kernel's listen backlog accepts, and is read by its late answer.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from failover.config import PROBE_CONNECT_TIMEOUT_DEFAULT_SECONDS, Config, ConfigError, Node
from failover.decide import Health
from failover.network import ApiError, Network, VipState
from failover.probe import ProbeResult, probe_nodes
from failover.runtime import Runtime
from failover.shell import handle
from tests.support.function_env import VNIC_A, VNIC_B, config, env
from tests.support.netns import scratch_netns
from tests.support.paths import REPO

MASTER_B = json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER"}).encode()
WAIT = 5.0
# How long the stalled node's server is stopped: fifty times the default connect timeout, and as
# long as the initial RTO after which a lost SYN would be sent again.
STALL_SECONDS = 1.0
# node-a's endpoint in a process of its own (so that SIGSTOP stops only it); it prints its URL
# and serves until killed, or until its stdin closes (the test process gone).
STALLABLE_NODE = """
import sys
from tests.support.health_servers import NodeVerdictServer
server = NodeVerdictServer("node-a")
print(server.url, flush=True)
sys.stdin.read()
"""


def test_connect_timeout_defaults_to_twenty_milliseconds_and_never_exceeds_the_read_timeout():
    assert Config.from_env(env()).probe_connect_timeout_seconds == 0.02  # over 20 x a VCN round trip
    capped = env(PROBE_TIMEOUT_SECONDS="0.3", PROBE_CONNECT_TIMEOUT_SECONDS="0.5")
    assert Config.from_env(capped).probe_connect_timeout_seconds == 0.3
    assert Config.from_env(env(PROBE_CONNECT_TIMEOUT_SECONDS="0.2")).probe_connect_timeout_seconds == 0.2
    assert Config.from_env(env(PROBE_CONNECT_TIMEOUT_SECONDS="3")).probe_connect_timeout_seconds == 2.0
    for bad in ("31", "0", "soon"):
        with pytest.raises(ConfigError) as err:
            Config.from_env(env(PROBE_CONNECT_TIMEOUT_SECONDS=bad))
        assert err.value.key == "PROBE_CONNECT_TIMEOUT_SECONDS"


class RendezvousNetwork(Network):
    """GetPrivateIp that waits (bounded) for the probes to have started: it returns in time only
    if the shell runs the read and the probes at once."""

    def __init__(self, probes_started: threading.Event, fail: bool = False) -> None:
        self.probes_started, self.fail, self.read_started = probes_started, fail, threading.Event()
        self.writes: list[str] = []

    def read(self, private_ip_id, deadline):
        self.read_started.set()
        if self.fail:
            raise ApiError("GetPrivateIp", 503, "ServiceUnavailable", "down", None)
        if not self.probes_started.wait(WAIT):
            raise ApiError("GetPrivateIp", None, "Sequential", "the probes did not start during the read", None)
        return VipState(private_ip_id, "10.0.0.4", (self.writes or [VNIC_A])[-1], False, f"e{len(self.writes)}", {})

    def move(self, state, vnic_id, tags, deadline):
        self.writes.append(vnic_id)
        return "req-1"

    def public_ip(self, private_ip_id, deadline):
        return None


def test_the_vip_is_read_while_the_nodes_are_probed():
    probes_started = threading.Event()
    net = RendezvousNetwork(probes_started)
    seen: list[tuple[float, float]] = []

    def prober(nodes, timeout, connect_timeout):
        probes_started.set()
        seen.append((timeout, connect_timeout))
        assert net.read_started.wait(WAIT), "the read did not start during the probes"
        return {
            "node-a": ProbeResult(Health.UNKNOWN, "no connection within 0.02s"),
            "node-b": ProbeResult(Health.HEALTHY, "HTTP 200"),
        }

    rt = Runtime(config=config(PROBE_TIMEOUT_SECONDS="2"), network=net, prober=prober, clock=lambda: 1000.0)
    answer = handle(MASTER_B, rt)
    assert (answer["decision"], answer["to"], answer["unverified"]) == ("moved", "node-b", ["node-a"])
    assert seen == [(2.0, PROBE_CONNECT_TIMEOUT_DEFAULT_SECONDS)] and len(net.writes) == 1


def test_a_failed_read_answers_cannot_verify_without_waiting_for_the_probes():
    release = threading.Event()
    net = RendezvousNetwork(threading.Event(), fail=True)

    def prober(nodes, timeout, connect_timeout):
        release.wait(WAIT)  # a probe still hanging on a dead node
        return {}

    rt = Runtime(config=config(), network=net, prober=prober, clock=lambda: 1000.0)
    try:
        answer = handle(MASTER_B, rt)
        assert not release.is_set()
        assert (answer["error"], answer["moved"]) == ("cannot_verify", []) and net.writes == []
    finally:
        release.set()


@pytest.fixture
def dead_address_netns() -> Iterator[str]:
    """A namespace of this test's own: loopback, and 198.18.255.0/24 on a veth pair inside it."""
    # eth1 has no address: ARP for 198.18.255.254 goes unanswered and no SYN is ever sent.
    setup = (
        ["link", "set", "lo", "up"],
        ["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
        ["link", "set", "eth0", "up"],
        ["link", "set", "eth1", "up"],
        ["addr", "add", "198.18.255.1/24", "dev", "eth0"],
    )
    with scratch_netns("fn-probe", setup) as name:
        yield name


def test_a_dead_node_costs_the_connect_timeout_and_stays_unknown(dead_address_netns: str) -> None:
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            dead_address_netns,
            sys.executable,
            str(REPO / "tests" / "function" / "netns_probe.py"),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.splitlines()[-1])
    bare = result["bare"]
    assert (bare["health"], bare["detail"]) == ("unknown", "no connection within 0.3s")
    assert bare["seconds"] < 1.5  # connect timeout 0.3 s; the read timeout is 5 s
    answer = result["answer"]
    # Unknown either way: the connect timeout, or at once once the namespace's neighbour entry
    # for the dead address has failed (EHOSTUNREACH) after the earlier probes.
    assert answer["health"]["node-a"]["health"] == "unknown"
    assert answer["health"]["node-a"]["detail"] in ("no connection within 0.3s", "unreachable (OSError)")
    assert (answer["decision"], answer["to"], result["writes"]) == ("moved", "node-b", 1)
    assert result["invoke_s"] < 2.5  # well under the 5 s read timeout the dead node used to cost


@pytest.fixture
def stallable_node() -> Iterator[subprocess.Popen[str]]:
    """node-a's health endpoint, served by a process of its own; its URL is the first line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-c", STALLABLE_NODE],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait(timeout=10)


def test_a_stalled_but_alive_node_is_read_healthy_by_its_late_answer(stallable_node: subprocess.Popen[str]) -> None:
    """The defaults (connect 0.1 s, read 2 s), as the function calls the probe: the stopped server's
    kernel accepts the connection at once, the answer comes when it resumes, within the read timeout."""
    assert stallable_node.stdout is not None
    url = stallable_node.stdout.readline().strip()
    defaults = config()
    node = Node("node-a", VNIC_A, url, 100)
    stallable_node.send_signal(signal.SIGSTOP)
    resume = threading.Timer(STALL_SECONDS, stallable_node.send_signal, (signal.SIGCONT,))
    try:
        started = time.monotonic()
        resume.start()
        results = probe_nodes([node], defaults.probe_timeout_seconds, defaults.probe_connect_timeout_seconds)
        took = time.monotonic() - started
    finally:
        resume.cancel()
        stallable_node.send_signal(signal.SIGCONT)
    assert (results["node-a"].health, results["node-a"].detail) == (Health.HEALTHY, "HTTP 200")
    assert results["node-a"].report is not None and results["node-a"].report["node"] == "node-a"
    # Answered only once resumed: the probe was connected, waiting on the read, all along.
    assert took >= STALL_SECONDS


def test_a_closed_port_is_down_at_once() -> None:
    """A socket bound and never listening: the node's kernel refuses the SYN (its agent is gone)."""
    defaults = config()
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        node = Node("node-b", VNIC_B, f"http://127.0.0.1:{bound.getsockname()[1]}/healthz", 50)
        started = time.monotonic()
        results = probe_nodes([node], defaults.probe_timeout_seconds, defaults.probe_connect_timeout_seconds)
        took = time.monotonic() - started
    assert (results["node-b"].health, results["node-b"].detail) == (Health.DOWN, "connection refused")
    assert took < 0.5  # a refused connection waits for no timeout (the read timeout is 2 s)
