"""The node agent's warm relay: keepalived's notify → agent (loopback) → the real function.

Real processes and sockets: ``python -m health_probe`` (the agent, with its relay on a free
127.0.0.1 port), ``python -m health_probe.notify`` as keepalived runs it, and the emulator with
the real function under fdk standing in for OCI Functions.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from health_probe.config import ConfigError, parse_config
from health_probe.relay import MAX_BODY_BYTES, is_loopback, parse_notice
from ocisim import Emulator
from tests.support.health_servers import MonitorUriServer, RawTcpPeer
from tests.support.netns import scratch_netns
from tests.support.node_agent import (
    agent_config,
    free_port,
    notifying_config,
    resource_ids,
    run_keepalived_notify,
    run_notify,
    spawn_agent,
    wait_for_event,
)
from tests.support.paths import REPO


def test_only_loopback_peers_and_well_formed_notices_pass() -> None:
    assert [is_loopback(a) for a in ("127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1")] == [True] * 4
    assert [is_loopback(a) for a in ("198.18.0.2", "0.0.0.0", "::ffff:198.18.0.2", "node-a")] == [False] * 4
    assert parse_notice(b'{"state": "MASTER"}') == ("MASTER", None)
    assert parse_notice(b'{"state": "BACKUP", "instance": "vip_ipv6"}') == ("BACKUP", "vip_ipv6")
    for bad in (
        b"MASTER",
        b'{"state": "master"}',
        b'{"state": "MASTER", "node": "node-a"}',
        b"[]",
        b'{"instance": "vip_ipv4"}',
        b'{"state": "MASTER", "instance": ""}',
        b'{"state": "MASTER", "instance": 4}',
    ):
        with pytest.raises(ValueError):
            parse_notice(bad)


def test_the_relay_may_listen_on_loopback_only(emulator: Emulator, health_servers) -> None:
    base = agent_config(emulator, health_servers, "node-b")
    assert (parse_config(base).relay_address, parse_config(base).relay_port) == ("127.0.0.1", 8406)
    for address in ("0.0.0.0", "198.18.0.3", "localhost"):
        with pytest.raises(ConfigError, match="'relay_address' must be a loopback address"):
            parse_config({**base, "relay_address": address})


@pytest.fixture
def relay_agent(
    function_emulator: Emulator, health_servers: dict[str, MonitorUriServer], tmp_path: Path
) -> Iterator[tuple[dict[str, Any], Path, subprocess.Popen]]:
    """node-b's agent (endpoint + relay, no metrics) on free loopback ports; (config, log, process)."""
    emu = function_emulator
    config = notifying_config(
        emu,
        health_servers,
        "node-b",
        relay_port=free_port(),
        endpoint_address="127.0.0.1",
        endpoint_port=free_port(),
        haproxy_url=health_servers["node-b"].url,
        floating_ips=["127.0.0.1"],
        vrrp_instances={"vip_ipv4": [resource_ids(emu)["vip"]]},
    )
    log, process = spawn_agent(config, tmp_path)
    try:
        wait_for_event(log, "relay_ready", process)
        yield config, log, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


def update_private_ip_writes(emu: Emulator) -> int:
    return sum(1 for entry in emu.audit() if entry["operation"] == "UpdatePrivateIp")


def test_notify_goes_through_the_warm_relay(
    relay_agent, function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    config, log, agent = relay_agent
    # The outcome comes long after the relay's acknowledgement: notify must wait for it, not fall back.
    function_emulator.set_latency("UpdatePrivateIp", 1.0)
    health_servers["node-a"].healthy = False  # node-a's haproxy failed: keepalived made node-b MASTER
    status, lines, _ = run_notify(config, tmp_path)
    assert status == 0
    assert [line["event"] for line in lines] == ["notify_answered"]
    assert (lines[0]["path"], lines[0]["decision"], lines[0]["to"]) == ("relay", "moved", "node-b")
    relayed = [line for line in wait_for_event(log, "relay_answered", agent) if line["event"] == "relay_answered"]
    assert [(r["state"], r["decision"]) for r in relayed] == [("MASTER", "moved")]
    assert update_private_ip_writes(function_emulator) == 1
    # A second MASTER notice (keepalived's notify_master_rx_lower_pri): answered, nothing written.
    status, lines, _ = run_notify(config, tmp_path)
    assert (status, lines[0]["path"], lines[0]["decision"]) == (0, "relay", "no_change")
    assert update_private_ip_writes(function_emulator) == 1


# What the relay path must not pay for on every VRRP transition: the agent's config (PyYAML),
# http.client (email's parser), the SDK, and argparse, typing and dataclasses (~20 ms together).
HEAVY_MODULES = {
    "yaml",
    "health_probe.config",
    "http.client",
    "email.parser",
    "oci",
    "argparse",
    "typing",
    "dataclasses",
}


def test_the_relay_path_imports_no_config_parser_http_client_or_sdk(
    relay_agent, function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    config, log, agent = relay_agent
    health_servers["node-a"].healthy = False
    path = tmp_path / "node-agent.yaml"
    path.write_text(yaml.safe_dump(config))
    relay = f"127.0.0.1:{config['relay_port']}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "health_probe.notify", "--config", str(path), "--relay", relay]
        + ["INSTANCE", "vip_ipv4", "MASTER", "100"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, done.stderr[-2000:]
    assert [(line["event"], line["path"], line["node"], line["decision"]) for line in lines] == [
        ("notify_answered", "relay", "node-b", "moved")
    ]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"health_probe.notice", "failover.log"} <= imported  # importtime listed the imports
    assert not imported & HEAVY_MODULES


def test_the_relay_maps_keepalived_instance_to_its_vips(
    relay_agent, function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    config, log, agent = relay_agent
    health_servers["node-a"].healthy = False
    status, lines, _ = run_keepalived_notify(config, tmp_path, "INSTANCE", "vip_ipv4", "MASTER", "90")
    assert status == 0 and (lines[-1]["path"], lines[-1]["instance"], lines[-1]["decision"]) == (
        "relay",
        "vip_ipv4",
        "moved",
    )
    (relayed,) = [line for line in wait_for_event(log, "relay_answered", agent) if line["event"] == "relay_answered"]
    assert relayed["vips"] == config["vrrp_instances"]["vip_ipv4"]


def test_simultaneous_notices_are_all_relayed_and_move_once(
    relay_agent, function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    config, log, agent = relay_agent
    health_servers["node-a"].healthy = False
    path = tmp_path / "notify.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "health_probe.notify", "--config", str(path), "--state"]
    runs = [
        subprocess.Popen([*command, state], cwd=REPO, stdout=subprocess.PIPE, text=True)
        for state in ("MASTER", "MASTER", "BACKUP")
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    answers = [json.loads(out.splitlines()[-1]) for out in outputs]
    assert [run.returncode for run in runs] == [0, 0, 0]
    assert all(a["event"] == "notify_answered" and a["path"] == "relay" for a in answers)
    assert sorted(a["decision"] for a in answers) == ["moved", "no_change", "no_change"]
    assert update_private_ip_writes(function_emulator) == 1


def test_the_relay_refuses_malformed_notices(relay_agent) -> None:
    config, _, _ = relay_agent
    url = f"http://127.0.0.1:{config['relay_port']}"
    with requests.Session() as session:
        session.trust_env = False
        answers = [
            session.post(f"{url}/notify", data=b'{"state": "' + b"M" * MAX_BODY_BYTES + b'"}', timeout=5),
            session.post(f"{url}/notify", data=b'{"state": "PRIMARY"}', timeout=5),
            session.post(f"{url}/elsewhere", data=b'{"state": "MASTER"}', timeout=5),
            session.post(f"{url}/notify", data=b'{"state": "MASTER", "instance": "vip_other"}', timeout=5),
        ]
    assert [a.status_code for a in answers] == [413, 400, 404, 400]
    assert "'vip_other' is not in vrrp_instances" in answers[3].json()["reason"]
    assert all(a.json()["answered"] is False and a.json()["reason"] for a in answers)


def test_notify_invokes_directly_when_the_relay_does_not_acknowledge(
    function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    emu = function_emulator
    health_servers["node-a"].healthy = False
    with socket.socket() as stuck:  # a relay that accepts connections and never answers
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(8)
        config = notifying_config(
            emu,
            health_servers,
            "node-b",
            relay_port=stuck.getsockname()[1],
        )
        status, lines, _ = run_notify(config, tmp_path)
    assert status == 0
    assert [line["event"] for line in lines] == ["relay_unavailable", "notify_answered"]
    assert "timed out" in lines[0]["reason"]
    assert (lines[1]["path"], lines[1]["decision"], lines[1]["to"]) == ("direct", "moved", "node-b")
    assert update_private_ip_writes(emu) == 1


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("endless", "the relay's answer is malformed"), ("garbage", "the relay's answer is not HTTP")],
)
def test_a_relay_answer_that_is_no_outcome_makes_notify_invoke_directly(
    mode: str, reason: str, function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    """A relay that acknowledges and then sends megabytes of no JSON, or answers something that
    is not HTTP: notify takes no outcome from it and invokes directly, well inside its bound."""
    emu = function_emulator
    health_servers["node-a"].healthy = False
    peer = RawTcpPeer(mode)
    try:
        config = notifying_config(emu, health_servers, "node-b", relay_port=peer.port)
        status, lines, elapsed = run_notify(config, tmp_path)
    finally:
        peer.close()
    assert status == 0 and elapsed < 20
    assert [line["event"] for line in lines] == ["relay_unavailable", "notify_answered"]
    assert reason in lines[0]["reason"] and lines[0]["node"] == "node-b"
    assert (lines[1]["path"], lines[1]["decision"], lines[1]["to"]) == ("direct", "moved", "node-b")


def test_an_acknowledgement_without_the_agent_s_settings_is_read_with_the_config(
    emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    """An agent started before its relay sent ``X-Node`` and ``X-Notify-Timeout-Seconds`` (the
    code upgraded under it): notify reads node-agent.yaml for them and takes the relay's outcome."""
    outcome = {"answered": True, "answer": {"decision": "no_change", "reason": "already here"}, "reason": ""}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(30)

        def answer_once() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(5)
                connection.recv(4096)
                connection.sendall(b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n" + json.dumps(outcome).encode())

        relay = threading.Thread(target=answer_once, daemon=True)
        relay.start()
        config = agent_config(
            emulator,
            health_servers,
            "node-b",
            function_id="ocid1.fnfunc.oc1.iad.x",
            invoke_endpoint="http://127.0.0.1:1",
            relay_port=listener.getsockname()[1],
        )
        status, lines, _ = run_notify(config, tmp_path)
        relay.join(timeout=30)
    assert status == 0
    assert [(line["event"], line["path"], line["node"], line["decision"]) for line in lines] == [
        ("notify_answered", "relay", "node-b", "no_change")
    ]


def test_notify_invokes_directly_when_no_agent_runs(
    function_emulator: Emulator, health_servers, tmp_path: Path
) -> None:
    emu = function_emulator
    health_servers["node-a"].healthy = False
    config = notifying_config(
        emu,
        health_servers,
        "node-b",
        relay_port=free_port(),
    )
    status, lines, _ = run_notify(config, tmp_path)
    assert status == 0
    assert [line["event"] for line in lines] == ["relay_unavailable", "notify_answered"]
    assert "ConnectionRefused" in lines[0]["reason"] and lines[1]["path"] == "direct"
    assert update_private_ip_writes(emu) == 1


# A relay bound to every address of a namespace of this test's own (198.18.254.1 on a veth pair
# inside it; nothing leaves it): a peer that is not loopback is answered 403, a loopback peer is
# served (503 here: this relay never gets a function client).
NON_LOOPBACK_SCRIPT = """
import dataclasses, json, socket, sys
from health_probe.config import parse_config
from failover.log import Logger
from health_probe.relay import Invoker, Relay

def no_client():
    raise RuntimeError("no function client in this test")

raw = json.loads(sys.argv[1])
config = dataclasses.replace(parse_config(raw), relay_address="0.0.0.0")
log = Logger("health_probe")
relay = Relay(config, Invoker(no_client, log, 5.0), log).start()
statuses = {}
for source in ("198.18.254.1", "127.0.0.1"):
    with socket.create_connection((source, config.relay_port), timeout=5, source_address=(source, 0)) as sock:
        sock.sendall(b'POST /notify HTTP/1.0\\r\\nContent-Length: 19\\r\\n\\r\\n{"state": "MASTER"}')
        statuses[source] = sock.makefile("rb").readline().split()[1].decode()
relay.stop()
print(json.dumps(statuses))
"""


@pytest.fixture
def netns() -> Iterator[str]:
    with scratch_netns(
        "hp-relay",
        (
            ["link", "set", "lo", "up"],
            ["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
            ["link", "set", "eth0", "up"],
            ["addr", "add", "198.18.254.1/24", "dev", "eth0"],
        ),
    ) as name:
        yield name


def test_a_peer_that_is_not_loopback_is_refused(netns: str, emulator: Emulator, health_servers) -> None:
    raw = agent_config(
        emulator,
        health_servers,
        "node-b",
        function_id="ocid1.fnfunc.oc1.iad.x",
        invoke_endpoint="http://127.0.0.1:1",
        relay_port=8406,
    )
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", NON_LOOPBACK_SCRIPT, json.dumps(raw)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"198.18.254.1": "403", "127.0.0.1": "503"}
