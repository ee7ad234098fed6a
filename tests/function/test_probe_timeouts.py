"""The probe's short connect timeout and the VIP read running alongside the probes.

A node whose link is dead must cost the connect timeout (a live node in the same VCN connects
in milliseconds), not the read timeout, and must still read as *unknown*, never *down*. The
dead address is 198.18.255.254, on-link on a veth pair inside a namespace this test creates: the
probe's packets are dropped there and never leave it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from failover.config import Config, ConfigError
from failover.decide import Health
from failover.network import ApiError, Network, VipState
from failover.probe import ProbeResult
from failover.runtime import Runtime
from failover.shell import handle
from tests.support.function_env import VNIC_A, config, env
from tests.support.netns import scratch_netns
from tests.support.paths import REPO

MASTER_B = json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER"}).encode()
WAIT = 5.0


def test_connect_timeout_defaults_to_half_a_second_and_never_exceeds_the_read_timeout():
    assert Config.from_env(env()).probe_connect_timeout_seconds == 0.5
    assert Config.from_env(env(PROBE_TIMEOUT_SECONDS="0.3")).probe_connect_timeout_seconds == 0.3
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
            "node-a": ProbeResult(Health.UNKNOWN, "no connection within 0.5s"),
            "node-b": ProbeResult(Health.HEALTHY, "HTTP 200"),
        }

    rt = Runtime(config=config(PROBE_TIMEOUT_SECONDS="2"), network=net, prober=prober, clock=lambda: 1000.0)
    answer = handle(MASTER_B, rt)
    assert (answer["decision"], answer["to"], answer["unverified"]) == ("moved", "node-b", ["node-a"])
    assert seen == [(2.0, 0.5)] and len(net.writes) == 1


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
