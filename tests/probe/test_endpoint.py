"""The node's health endpoint for real: HTTP on loopback, haproxy stood in by a loopback server,
the alias check against addresses that are and are not local (also inside a network namespace),
and ``python -m health_probe --no-metrics`` as a process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from failover.log import Logger
from health_probe.config import parse_config
from health_probe.endpoint import HealthEndpoint, is_local_address, keepalived_running, nonlocal_bind_enabled
from tests.support.health_servers import MonitorUriServer
from tests.support.keepalived import StandInKeepalived
from tests.support.logs import LogCapture, capture_logs
from tests.support.netns import scratch_netns
from tests.support.node_agent import free_port
from tests.support.paths import REPO

# In 198.18.0.0/15 (benchmarking) and used by nothing on this machine: the lab uses 198.18.0-2.x.
NOT_LOCAL = "198.19.254.254"
NOT_LOCAL_V6 = "fd00:254::254"


def config(haproxy: MonitorUriServer, floating_ips: list[str], port: int | None = None) -> dict[str, Any]:
    return {
        "node": "node-a",
        "compartment_id": "ocid1.compartment.oc1..c",
        "auth": "config_file",
        "oci_config_file": "/nonexistent",
        "targets": [{"name": "node-a", "role": "node", "url": haproxy.url, "resource_id": "ocid1.instance.oc1.iad.a"}],
        "endpoint_address": "127.0.0.1",
        "endpoint_port": port or free_port(),
        "haproxy_url": haproxy.url,
        "floating_ips": floating_ips,
    }


@pytest.fixture
def haproxy() -> Iterator[MonitorUriServer]:
    server = MonitorUriServer()
    yield server
    server.close()


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with capture_logs("health_probe") as capture:
        yield capture


@pytest.fixture
def keepalived(tmp_path: Path) -> Iterator[StandInKeepalived]:
    process = StandInKeepalived(tmp_path)
    yield process
    process.close()


def run_endpoint(raw: dict[str, Any], keepalived: StandInKeepalived | None = None) -> HealthEndpoint:
    """The endpoint; its keepalived lookup sees only ``keepalived``'s view of /proc (none: an empty one)."""
    lookup = (
        keepalived.running if keepalived else lambda: keepalived_running(Path("/nonexistent"), Path("/nonexistent"))
    )
    return HealthEndpoint(parse_config(raw), Logger("health_probe"), lookup).start()


def get(url: str) -> tuple[int, dict[str, Any]]:
    response = requests.get(url, timeout=5)
    return response.status_code, response.json()


def test_the_machine_does_not_bind_nonlocal_addresses() -> None:
    # What the alias check relies on; the deployment needs it too (docs/alarm-path.md).
    assert not nonlocal_bind_enabled(), "net.ipv4.ip_nonlocal_bind=1 here: the alias check cannot work"


def test_nonlocal_bind_is_read_from_proc_and_unreadable_counts_as_on(tmp_path: Path) -> None:
    (tmp_path / "off").write_text("0\n")
    (tmp_path / "on").write_text("1\n")
    assert not nonlocal_bind_enabled(tmp_path / "off")
    assert nonlocal_bind_enabled(tmp_path / "on") and nonlocal_bind_enabled(tmp_path / "missing")


def test_the_alias_check_tells_local_from_not_local() -> None:
    assert is_local_address("127.0.0.1") and is_local_address("::1")
    assert not is_local_address(NOT_LOCAL) and not is_local_address(NOT_LOCAL_V6)


def test_serving_node_answers_200_with_why(
    haproxy: MonitorUriServer, keepalived: StandInKeepalived, logs: LogCapture
) -> None:
    endpoint = run_endpoint(config(haproxy, ["127.0.0.1"]), keepalived)
    try:
        status, body = get(endpoint.url)
    finally:
        endpoint.stop()
    assert status == 200
    assert body == {
        "node": "node-a",
        "serving": True,
        "haproxy": "up",
        "vip_alias": {"127.0.0.1": True},
        "reason": "haproxy answers and 127.0.0.1 is an address of this node",
        "serving_families": {"ipv4": True},
        "keepalived": "running",
    }
    assert haproxy.hits == 1
    assert [e["event"] for e in logs.entries] == ["endpoint_started", "serving"]


def test_keepalived_sigkilled_with_the_alias_kept_still_serves_and_says_keepalived_is_not_running(
    haproxy: MonitorUriServer, keepalived: StandInKeepalived, logs: LogCapture
) -> None:
    endpoint = run_endpoint(config(haproxy, ["127.0.0.1"]), keepalived)
    try:
        before = get(endpoint.url)
        keepalived.kill()
        after = get(endpoint.url)
    finally:
        endpoint.stop()
    assert before == (200, {**before[1], "keepalived": "running"})
    assert after == (200, {**before[1], "keepalived": "not running"})  # serving as before: extra information
    assert [(e["event"], e.get("keepalived")) for e in logs.entries][1:] == [
        ("serving", "running"),
        ("serving", "not running"),
    ]
    assert logs.entries[-1]["level"] == "warning"


def test_the_keepalived_lookup_follows_a_real_process(keepalived: StandInKeepalived) -> None:
    assert keepalived.running() is True  # by its pid file
    keepalived.pid_file.unlink()
    assert keepalived.running() is True  # no pid file: found by name among the processes
    keepalived.pid_file.write_text(f"{os.getpid()}\n")
    assert keepalived.running() is True  # a pid file naming another process does not hide it
    keepalived.kill(reap=False)
    assert keepalived.running() is False  # a zombie does not run
    keepalived.process.wait(10)
    assert keepalived.running() is False  # gone; the stale link and pid file prove nothing
    assert keepalived_running(keepalived.pid_file, keepalived.proc / "missing") is None  # cannot look


def test_the_keepalived_lookup_reads_this_machine() -> None:
    """On the machine itself: the answer is a bool (a lab's keepalived may run here or not)."""
    assert keepalived_running() in (True, False)


def test_haproxy_up_but_the_floating_ip_not_local_is_503(haproxy: MonitorUriServer) -> None:
    endpoint = run_endpoint(config(haproxy, ["127.0.0.1", NOT_LOCAL]))
    try:
        status, body = get(endpoint.url)
    finally:
        endpoint.stop()
    assert status == 503
    assert (body["serving"], body["haproxy"], body["vip_alias"]) == (False, "up", {"127.0.0.1": True, NOT_LOCAL: False})
    assert "not an address of this node" in body["reason"]


def test_an_ipv6_floating_ip_is_checked_and_reported_as_its_own_family(haproxy: MonitorUriServer) -> None:
    endpoint = run_endpoint(config(haproxy, ["127.0.0.1", "::1", NOT_LOCAL_V6]))
    try:
        status, body = get(endpoint.url)
    finally:
        endpoint.stop()
    assert status == 503 and body["vip_alias"] == {"127.0.0.1": True, "::1": True, NOT_LOCAL_V6: False}
    assert body["serving_families"] == {"ipv4": True, "ipv6": False}
    assert f"{NOT_LOCAL_V6} not an address of this node" in body["reason"]


def test_haproxy_failing_or_gone_is_503_and_each_change_is_logged_once(
    haproxy: MonitorUriServer, logs: LogCapture
) -> None:
    endpoint = run_endpoint(config(haproxy, ["127.0.0.1"]))
    try:
        haproxy.healthy = False
        answers = [get(endpoint.url) for _ in range(2)]
        haproxy.close()
        answers.append(get(endpoint.url))
        missing = requests.get(endpoint.url.replace("/healthz", "/other"), timeout=5).status_code
    finally:
        endpoint.stop()
    assert [status for status, _ in answers] == [503, 503, 503]
    assert answers[0][1]["reason"] == "haproxy does not answer (HTTP 503)"
    assert answers[2][1]["reason"] == "haproxy does not answer (ConnectionError)"
    assert all(body["haproxy"] == "down" and body["vip_alias"] == {"127.0.0.1": True} for _, body in answers)
    assert missing == 404
    assert [e["event"] for e in logs.entries] == ["endpoint_started", "not_serving"]


def test_a_slow_client_cannot_hold_the_endpoint(haproxy: MonitorUriServer) -> None:
    endpoint = run_endpoint(config(haproxy, ["127.0.0.1"]))
    try:
        host, port = endpoint.url.split("/")[2].split(":")
        with socket.create_connection((host, int(port)), timeout=5):  # opens, never sends a request
            started = time.monotonic()
            status, _ = get(endpoint.url)
            waited = time.monotonic() - started
    finally:
        endpoint.stop()
    assert status == 200 and waited < 4.0


@pytest.fixture
def netns() -> Iterator[str]:
    """A network namespace of this test's own (no traffic leaves it): an interface with a
    198.19.77.x address, like a node's NIC."""
    with scratch_netns(
        "hp-endpoint",
        (
            ["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
            ["link", "set", "eth0", "up"],
            ["addr", "add", "198.19.77.2/24", "dev", "eth0"],
        ),
    ) as name:
        yield name


def local_in(netns: str, *addresses: str) -> list[bool]:
    code = (
        "import json, sys; from health_probe.endpoint import is_local_address, nonlocal_bind_enabled; "
        "print(json.dumps([nonlocal_bind_enabled(), *[is_local_address(a) for a in sys.argv[1:]]]))"
    )
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", code, *addresses],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    nonlocal_bind, *local = json.loads(done.stdout)
    assert nonlocal_bind is False, "a fresh namespace has its own net.ipv4.ip_nonlocal_bind=0"
    return local


def test_inside_a_namespace_the_alias_check_follows_keepalived_adding_and_removing_the_alias(netns: str) -> None:
    vip = "198.19.77.4"
    assert local_in(netns, "198.19.77.2", vip) == [True, False]
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{vip}/24", "dev", "eth0"], check=True, timeout=10)
    assert local_in(netns, vip) == [True]
    # Per namespace: the root namespace (another "host") does not have it.
    assert not is_local_address(vip)
    subprocess.run(["ip", "-n", netns, "addr", "del", f"{vip}/24", "dev", "eth0"], check=True, timeout=10)
    assert local_in(netns, vip) == [False]


def test_inside_a_namespace_the_ipv6_alias_check_follows_keepalived_too(netns: str) -> None:
    vip6 = "fd00:77::4"
    assert local_in(netns, vip6) == [False]
    # nodad: usable at once, as keepalived's own IPv6 VIPs are (it adds them with IFA_F_NODAD).
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{vip6}/64", "dev", "eth0", "nodad"], check=True, timeout=10)
    assert local_in(netns, vip6) == [True] and not is_local_address(vip6)
    subprocess.run(["ip", "-n", netns, "addr", "del", f"{vip6}/64", "dev", "eth0"], check=True, timeout=10)
    assert local_in(netns, vip6) == [False]


def test_the_agent_process_serves_the_endpoint_without_metrics_and_stops_on_sigterm(
    haproxy: MonitorUriServer, tmp_path: Path
) -> None:
    port = free_port()
    path = tmp_path / "node-agent.yaml"
    path.write_text(yaml.safe_dump(config(haproxy, ["127.0.0.1"], port)))
    process = subprocess.Popen(
        [sys.executable, "-m", "health_probe", "--config", str(path), "--no-metrics"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert (status, body["serving"]) == (200, True)
    assert process.returncode == 0
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert events == ["endpoint_started", "serving"]
