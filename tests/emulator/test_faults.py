"""Injected faults, latency, racing writers, and the admin endpoint a separate process uses."""

from __future__ import annotations

import threading
import time

import oci
import pytest
import requests

from ocisim import Emulator
from tests.support.clients import move
from tests.support.topology import Topology

FAST_RETRIES = oci.retry.RetryStrategyBuilder(
    max_attempts=4,
    total_elapsed_time_seconds=10,
    retry_base_sleep_time_seconds=0.05,
    retry_max_wait_between_calls_seconds=0.2,
).get_retry_strategy()


def test_injected_429_is_retried_by_the_sdk_strategy_then_succeeds(emulator: Emulator, net, topo: Topology) -> None:
    emulator.inject_fault("GetPrivateIp", status=429, count=2)

    got = net.get_private_ip(topo.vip_id, retry_strategy=FAST_RETRIES)

    assert got.status == 200 and got.data.vnic_id == topo.vnic_a


def test_injected_429_surfaces_without_a_retry_strategy_and_is_consumed(
    emulator: Emulator, net, topo: Topology
) -> None:
    """update_private_ip does not retry by default: the caller sees the 429 itself."""
    emulator.inject_fault("UpdatePrivateIp", status=429)

    with pytest.raises(oci.exceptions.ServiceError) as caught:
        move(net, topo.vip_id, topo.vnic_b)
    assert (caught.value.status, caught.value.code) == (429, "TooManyRequests")
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_a

    move(net, topo.vip_id, topo.vnic_b)
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_b


def test_dropped_connection_before_the_call_changes_nothing(emulator: Emulator, net, topo: Topology) -> None:
    emulator.inject_fault("UpdatePrivateIp", drop=True)

    with pytest.raises(oci.exceptions.RequestException):
        move(net, topo.vip_id, topo.vnic_b)

    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_a
    assert emulator.audit() == []


def test_dropped_response_after_the_call_has_committed(emulator: Emulator, net, topo: Topology) -> None:
    """The ambiguous case a controller must survive: error seen, yet the IP moved."""
    etag = net.get_private_ip(topo.vip_id).headers["etag"]
    emulator.inject_fault("UpdatePrivateIp", drop="after")

    with pytest.raises(oci.exceptions.RequestException):
        move(net, topo.vip_id, topo.vnic_b, etag)

    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_b
    assert [e["operation"] for e in emulator.audit()] == ["UpdatePrivateIp"]


def test_delay_and_latency_slow_calls_down(emulator: Emulator, net, topo: Topology) -> None:
    emulator.set_latency("GetPrivateIp", 0.2)
    emulator.inject_fault("GetPrivateIp", delay=0.3)
    started = time.monotonic()
    net.get_private_ip(topo.vip_id)
    assert time.monotonic() - started >= 0.5
    emulator.clear_faults()
    started = time.monotonic()
    net.get_private_ip(topo.vip_id)
    assert time.monotonic() - started < 0.2


def test_two_racing_updates_with_one_etag_give_one_200_and_one_412(emulator: Emulator, net, topo: Topology) -> None:
    etag = net.get_private_ip(topo.vip_id).headers["etag"]
    emulator.set_latency("UpdatePrivateIp", 0.3)  # both requests are in flight together
    start = threading.Barrier(2)
    outcomes: list[int] = []

    def racer() -> None:
        start.wait(timeout=5)
        try:
            outcomes.append(move(net, topo.vip_id, topo.vnic_b, etag).status)
        except oci.exceptions.ServiceError as error:
            outcomes.append(error.status)

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == [200, 412]
    assert len(emulator.audit()) == 1


def test_admin_endpoint_injects_faults_and_long_polls_the_audit(emulator: Emulator, net, topo: Topology) -> None:
    admin = f"{emulator.endpoint}/_admin"
    requests.post(f"{admin}/faults", json={"operation": "GetVnic", "status": 500}, timeout=5).raise_for_status()
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        net.get_vnic(topo.vnic_a)
    assert (caught.value.status, caught.value.code) == (500, "InternalServerError")

    seen: list[list[dict]] = []
    follower = threading.Thread(
        target=lambda: seen.append(requests.get(f"{admin}/audit", params={"after": 0, "wait": 10}, timeout=15).json())
    )
    follower.start()
    time.sleep(0.2)
    started = time.monotonic()
    move(net, topo.vip_id, topo.vnic_b)
    follower.join(timeout=15)
    assert time.monotonic() - started < 2
    assert [e["after"]["vnicId"] for e in seen[0]] == [topo.vnic_b]
    assert requests.get(f"{admin}/audit", params={"after": seen[0][0]["seq"], "wait": 0.1}, timeout=5).json() == []


def test_admin_clock_scale_speeds_up_emulated_time(emulator: Emulator) -> None:
    admin = f"{emulator.endpoint}/_admin/clock"
    before = requests.get(admin, timeout=5).json()["epoch"]
    assert requests.post(admin, json={"scale": 60, "advance": 120}, timeout=5).json()["scale"] == 60
    time.sleep(0.1)
    assert requests.get(admin, timeout=5).json()["epoch"] - before >= 120 + 5


def test_a_fault_with_nothing_set_lets_a_call_through_so_the_next_fault_hits_a_later_call(
    emulator: Emulator, net, topo: Topology
) -> None:
    """How a test makes only the n-th call fail: n-1 calls pass on a fault that sets nothing."""
    emulator.inject_fault("UpdatePrivateIp", count=1)
    emulator.inject_fault("UpdatePrivateIp", status=503, count=None)

    move(net, topo.vip_id, topo.vnic_b)
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        move(net, topo.vip_id, topo.vnic_a)

    assert caught.value.status == 503
    assert [(f["status"], f["count"]) for f in emulator.faults()["faults"]] == [(503, None)]
    assert net.get_private_ip(topo.vip_id).data.vnic_id == topo.vnic_b
