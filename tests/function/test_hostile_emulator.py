"""The function under hostile conditions, against the emulator through its public interfaces
(the real SDK over HTTP, fault injection, loopback health endpoints): retry budgets that are
bounds, fdk's deadline, probes bounded in time and bytes, stale observations, the wrong node
answering, lost etag races, and VIPs that must move together."""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oci
import pytest

from failover.config import Config, Node
from failover.decide import Health
from failover.network import ApiError, Deadline, build_network
from failover.probe import probe, probe_nodes
from failover.runtime import Runtime
from failover.shell import handle
from ocisim import Emulator
from tests.support.function_emulator import ALARM_IDS, FunctionEmulator, nodes_config
from tests.support.health_servers import HostileHealthServer, NodeVerdictServer
from tests.support.logs import capture_logs
from tests.support.paths import REPO
from tests.support.topology import VIP_ID, VNICS, two_node

MASTER_B = json.dumps({"source": "keepalived", "node": "node-b", "state": "MASTER"}).encode()
VIP2_ID = "ocid1.privateip.oc1.iad.aaaaaaaasecondvipforthegrouptestsonnodea00000000000000000"


def function_env(emu: Emulator, nodes: dict[str, NodeVerdictServer], **overrides: str) -> dict[str, str]:
    """The function's configuration with the operator's API key (as the CLI runs it)."""
    return {
        "VIP_PRIVATE_IP_IDS": VIP_ID,
        "NODES": nodes_config(nodes),
        "PROBE_TIMEOUT_SECONDS": "0.3",
        "COOLDOWN_SECONDS": "0",
        "ALARM_IDS": ALARM_IDS,
        "ROLE": "operator",
        "OCI_CONFIG_FILE": emu.oci_config_file,
        "OCI_CONFIG_PROFILE": emu.oci_profile,
        "OCI_SERVICE_ENDPOINT": emu.endpoint,
        **overrides,
    }


def runtime(emu: Emulator, nodes: dict[str, NodeVerdictServer], **overrides: str) -> Runtime:
    env = function_env(emu, nodes, **overrides)
    config = Config.from_env(env)
    return Runtime(config=config, network=build_network(env, config.service_endpoint))


def admin_client(emu: Emulator) -> Any:
    from oci.core import VirtualNetworkClient

    return VirtualNetworkClient(
        oci.config.from_file(emu.oci_config_file, emu.oci_profile), service_endpoint=emu.endpoint
    )


def writes(emu: Emulator) -> list[dict[str, Any]]:
    return [e for e in emu.audit() if e["operation"] == "UpdatePrivateIp"]


# --- 1. the retry budget is a bound ---------------------------------------------------------


@pytest.mark.parametrize("budget", [1.0, 3.0])
def test_every_oci_call_ends_inside_a_small_retry_budget(emulator: Emulator, nodes, budget: float) -> None:
    """The SDK reads total_elapsed_time_seconds=0 as "no limit": a 1 s budget once retried for 13 s."""
    network = runtime(emulator, nodes, RETRY_DEADLINE_SECONDS=str(budget)).network
    emulator.inject_fault("GetPrivateIp", status=503, count=None)
    started = time.monotonic()
    with pytest.raises(ApiError):
        network.read(VIP_ID, Deadline(budget))
    assert time.monotonic() - started < budget + 0.5


def test_a_hanging_call_is_cut_to_what_is_left_of_the_budget(emulator: Emulator, nodes) -> None:
    network = runtime(emulator, nodes).network
    emulator.inject_fault("GetPrivateIp", delay=8.0, count=1)
    started = time.monotonic()
    with pytest.raises(ApiError):
        network.read(VIP_ID, Deadline(1.0))
    assert time.monotonic() - started < 1.5  # not the 5 s read timeout of a fresh call


# --- 2. the function's own deadline -----------------------------------------------------------


def short_timeout_topology(tmp_path: Path, seconds: int) -> Path:
    topology = two_node()
    for function in topology["functions"]:
        function["timeoutInSeconds"] = seconds
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(topology))
    return path


def test_the_function_answers_before_its_timeout_and_never_writes_after(tmp_path: Path, nodes) -> None:
    """GetPrivateIp hangs past the function's 4 s timeout: the caller gets a JSON answer saying
    what could not be verified (not a 504), and no write lands afterwards."""
    config = {
        "NODES": nodes_config(nodes),
        "PROBE_TIMEOUT_SECONDS": "0.3",
        "RETRY_DEADLINE_SECONDS": "20",
        "ALARM_IDS": ALARM_IDS,
    }
    nodes["node-a"].state = "down"
    with Emulator.start(
        topology=short_timeout_topology(tmp_path, 4), state=None, function_dir=REPO, function_config=config
    ) as emu:
        fn = FunctionEmulator(emu)
        emu.inject_fault("GetPrivateIp", delay=6.0, count=1)
        started = time.monotonic()
        answer = fn.invoke(MASTER_B)
        took = time.monotonic() - started
        assert took < 4.0 and answer["ok"] is False and answer["error"] == "cannot_verify", answer
        time.sleep(4.0)  # the hung read ends; nothing may follow it
        assert writes(emu) == [] and fn.holder_vnic() == VNICS["node-a"]


# --- 3. probes bounded in time and bytes, no thread left behind -------------------------------


@pytest.fixture
def hostile() -> Iterator[Any]:
    made: list[HostileHealthServer] = []

    def make(mode: str) -> HostileHealthServer:
        made.append(HostileHealthServer(mode))
        return made[-1]

    yield make
    for server in made:
        server.close()


def test_a_trickled_answer_is_cut_off_at_the_probe_timeout(hostile) -> None:
    slow = hostile("trickle")
    node = Node("node-b", "ocid1.vnic.oc1.iad.b", slow.url, 1)
    started = time.monotonic()
    result = probe_nodes([node], 0.5, 0.2)["node-b"]
    assert time.monotonic() - started < 1.5
    assert result.health is Health.UNKNOWN


def test_a_huge_answer_is_read_only_up_to_the_byte_cap(hostile) -> None:
    big = hostile("huge")
    tracemalloc.start()
    try:
        result = probe(big.url, 2.0, connect_timeout=0.5, node="node-b")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.health is Health.UNKNOWN and "larger than" in result.detail
    assert peak < 4 * 1024 * 1024  # func.yaml gives the function 128 MB


def test_no_probe_thread_outlives_the_invocation(emulator: Emulator, nodes, hostile) -> None:
    """The VIP cannot be read (fast cannot_verify) while node-b's probe is still trickling."""
    slow = hostile("trickle")
    items = json.loads(nodes_config(nodes))
    items[1]["health_url"] = slow.url
    rt = runtime(emulator, nodes, NODES=json.dumps(items), PROBE_TIMEOUT_SECONDS="0.5")
    emulator.inject_fault("GetPrivateIp", status=404, count=None)
    before = set(threading.enumerate())
    answer = handle(MASTER_B, rt)
    left = [t for t in set(threading.enumerate()) - before if "process_request" not in t.name and t.is_alive()]
    assert answer["error"] == "cannot_verify"
    assert left == [], [t.name for t in left]


# --- 4. stale observations are re-verified before a write ------------------------------------


def test_a_target_that_died_while_the_reads_were_slow_never_gets_the_vip(emulator: Emulator, nodes) -> None:
    rt = runtime(emulator, nodes)
    emulator.inject_fault("GetPrivateIp", status=503, delay=1.0, count=3)
    killer = threading.Timer(1.0, lambda: setattr(nodes["node-b"], "state", "down"))
    killer.start()
    try:
        answer = handle(b'{"action": "failover", "to": "node-b"}', rt)
    finally:
        killer.cancel()
    assert answer["decision"] == "refused" and "node-b is down" in answer["reason"], answer
    assert writes(emulator) == []


# --- 5. a probe answered by the wrong node -------------------------------------------------


def test_a_health_url_answered_by_another_node_is_unknown_never_healthy(emulator: Emulator, nodes) -> None:
    assert probe(nodes["node-a"].url, 1.0, node="node-b").health is Health.UNKNOWN
    items = json.loads(nodes_config(nodes))
    items[1]["health_url"] = nodes["node-a"].url.replace("127.0.0.1", "localhost")  # node-a's agent
    rt = runtime(emulator, nodes, NODES=json.dumps(items))
    nodes["node-b"].state = "down"  # the real node-b is dead; node-a answers for "node-b"
    answer = handle(b'{"action": "failover", "to": "node-b"}', rt)
    assert answer["decision"] == "refused" and answer["unverified"] == ["node-b"], answer
    assert "answered by 'node-a'" in answer["health"]["node-b"]["detail"]
    assert writes(emulator) == []


# --- 11. giving up after etag races is not ok ----------------------------------------------


def test_giving_up_after_etag_races_says_nothing_was_done_and_the_next_event_repairs(emulator: Emulator, nodes) -> None:
    rt = runtime(emulator, nodes)
    nodes["node-a"].state = "down"
    emulator.inject_fault("UpdatePrivateIp", status=412, count=3)
    answer = handle(MASTER_B, rt)
    assert answer["ok"] is False and answer["decision"] == "failed" and "nothing more was done" in answer["reason"]
    assert answer["moved"] == []
    again = handle(MASTER_B, rt)
    assert (again["ok"], again["decision"], again["to"]) == (True, "moved", "node-b")


# --- the move's answer is not the final object ---------------------------------------------


def test_a_moves_answer_is_not_the_final_object_only_the_next_get_is(emulator: Emulator) -> None:
    client = admin_client(emulator)
    read = client.get_private_ip(VIP_ID)
    moved = client.update_private_ip(
        VIP_ID, oci.core.models.UpdatePrivateIpDetails(vnic_id=VNICS["node-b"]), if_match=read.headers["etag"]
    )
    after = client.get_private_ip(VIP_ID)
    assert moved.data.vnic_id is None and moved.headers["etag"] != after.headers["etag"]
    assert after.data.vnic_id == VNICS["node-b"]


# --- 12. the VIPs of a group move together -------------------------------------------------


def two_vip_topology(tmp_path: Path) -> Path:
    topology = two_node()
    first = topology["privateIps"][0]
    topology["privateIps"].append(
        {**first, "id": VIP2_ID, "ipAddress": "10.0.0.5", "displayName": "vip2", "hostnameLabel": "vip2"}
    )
    path = tmp_path / "two-vips.json"
    path.write_text(json.dumps(topology))
    return path


@pytest.fixture
def two_vips(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator.start(topology=two_vip_topology(tmp_path), state=None) as emu:
        yield emu


def place(emu: Emulator, vip: str, node: str, tags: dict[str, str] | None = None) -> None:
    client = admin_client(emu)
    etag = client.get_private_ip(vip).headers["etag"]
    details = oci.core.models.UpdatePrivateIpDetails(vnic_id=VNICS[node], freeform_tags=tags or {})
    client.update_private_ip(vip, details, if_match=etag)


def holders(emu: Emulator) -> list[str]:
    client = admin_client(emu)
    by_vnic = {v: k for k, v in VNICS.items()}
    return [by_vnic[client.get_private_ip(vip).data.vnic_id] for vip in (VIP_ID, VIP2_ID)]


def test_a_split_group_is_moved_to_one_node_not_swapped(two_vips: Emulator, nodes) -> None:
    place(two_vips, VIP2_ID, "node-b")
    rt = runtime(two_vips, nodes, VIP_PRIVATE_IP_IDS=f"{VIP_ID},{VIP2_ID}")
    answer = handle(b'{"action": "failover"}', rt)
    assert holders(two_vips) == ["node-b", "node-b"], answer
    assert answer["moved"] == [VIP_ID]


def test_one_cooldown_per_group(two_vips: Emulator, nodes) -> None:
    tags = {"failover-last-move-at": f"{time.time() - 10:.3f}", "failover-last-to": "node-a"}
    place(two_vips, VIP_ID, "node-a", tags)
    rt = runtime(two_vips, nodes, VIP_PRIVATE_IP_IDS=f"{VIP_ID},{VIP2_ID}", COOLDOWN_SECONDS="60")
    start = len(writes(two_vips))
    answer = handle(b'{"action": "failover", "to": "node-b"}', rt)
    assert answer["decision"] == "refused" and "cooldown" in answer["reason"], answer
    assert holders(two_vips) == ["node-a", "node-a"] and len(writes(two_vips)) == start


def test_an_unreadable_vip_does_not_block_the_others_and_the_next_event_completes(two_vips: Emulator, nodes) -> None:
    rt = runtime(two_vips, nodes, VIP_PRIVATE_IP_IDS=f"{VIP_ID},{VIP2_ID}")
    nodes["node-a"].state = "down"
    two_vips.inject_fault("GetPrivateIp", status=404, count=1)  # the first VIP's read: not found this once
    partial = handle(MASTER_B, rt)
    assert (partial["ok"], partial["decision"], partial["moved"]) == (False, "partial", [VIP2_ID]), partial
    assert [v["decision"] for v in partial["vips"] if v["private_ip_id"] == VIP_ID] == ["cannot_verify"]
    assert holders(two_vips) == ["node-a", "node-b"]
    done = handle(MASTER_B, rt)
    assert done["moved"] == [VIP_ID] and holders(two_vips) == ["node-b", "node-b"], done


def test_an_etag_race_on_one_vip_of_a_group_still_moves_the_group_once(two_vips: Emulator, nodes) -> None:
    """Someone else touches VIP2 between our read and our write (after VIP1 moved): the next round
    decides on what the read-back found, completes the group, and rewrites nothing it moved."""
    rt = runtime(two_vips, nodes, VIP_PRIVATE_IP_IDS=f"{VIP_ID},{VIP2_ID}")
    nodes["node-a"].state = "down"
    two_vips.set_latency("UpdatePrivateIp", 1.0)
    meddler = threading.Timer(0.2, lambda: place(two_vips, VIP2_ID, "node-a", {"team": "touched"}))
    meddler.start()
    try:
        with capture_logs("failover") as logs:
            answer = handle(MASTER_B, rt)
    finally:
        meddler.join()
    ours = [
        w
        for w in writes(two_vips)
        if w["principal"]["kind"] == "user" and w["after"]["freeformTags"].get("failover-last-move-id")
    ]
    assert holders(two_vips) == ["node-b", "node-b"] and answer["ok"], answer
    assert sorted(answer["moved"]) == sorted([VIP_ID, VIP2_ID])
    assert len(ours) == 2  # one write per VIP: VIP1 is not written again after the race on VIP2
    assert "touched" in json.dumps([w["after"]["freeformTags"] for w in writes(two_vips)])
    # The race really happened, once: VIP1's write is not retried on a stale etag afterwards.
    assert len(logs.events("etag_mismatch")) == 1


# --- 8. a garbled last-move tag ------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["nan", "inf", f"{time.time() * 1000:.3f}"], ids=["nan", "inf", "milliseconds"])
def test_a_garbled_last_move_tag_is_ignored_logged_and_never_breaks_the_answer(
    emulator: Emulator, nodes, stamp: str
) -> None:
    place(emulator, VIP_ID, "node-a", {"failover-last-move-at": stamp, "failover-last-to": "node-a"})
    rt = runtime(emulator, nodes, COOLDOWN_SECONDS="60")
    with capture_logs("failover") as logs:
        answer = handle(b'{"action": "status"}', rt)
    json.dumps(answer, allow_nan=False)  # strict JSON: no NaN or Infinity in what callers parse
    assert answer["vips"][0]["last_move"] is None and answer["cooldown_left_s"] == 0
    assert logs.events("last_move_tag_ignored")
    moved = handle(b'{"action": "failover", "to": "node-b"}', rt)  # no ten-year cooldown
    assert moved["decision"] == "moved", moved
