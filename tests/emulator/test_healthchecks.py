"""Health Checks in the emulator, through the real `oci.healthchecks.HealthChecksClient`: the API
the outside-in option uses, the guard that keeps probes on loopback and lab addresses, the runner
probing real loopback peers (healthy, failing, silent, endless, malformed), its metrics in
Monitoring, and the outside-in alarm (terraform's own query) firing through Notifications."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import oci
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab.outside_in import ALARM_ID, MONITOR_ID, terraform_settings, with_outside_in
from ocisim import Emulator
from ocisim.healthchecks.models import (
    PROBED_NETWORKS,
    VANTAGE_POINTS,
    TargetRefused,
    check_target,
    new_monitor,
    present,
    summary,
)
from ocisim.healthchecks.prober import MAX_BODY_BYTES
from ocisim.healthchecks.results import NETWORK, ProbeOutcome, metric_items, probe_url, result_summary
from tests.support.health_servers import RawTcpPeer
from tests.support.netns import scratch_netns
from tests.support.paths import ALARM_FIXTURES
from tests.support.topology import two_node

FIXTURE = ALARM_FIXTURES / "ocisim-outside-in-split-v1.5.json"
Models = oci.healthchecks.models


# --- loopback peers, each bounded ------------------------------------------------------------------
@pytest.fixture
def peers() -> Iterator[Callable[[str], RawTcpPeer]]:
    made: list[RawTcpPeer] = []

    def make(mode: str = "http") -> RawTcpPeer:
        made.append(RawTcpPeer(mode))
        return made[-1]

    yield make
    for peer in made:
        peer.close()


# --- helpers -----------------------------------------------------------------------------------------
def client(emu: Emulator) -> oci.healthchecks.HealthChecksClient:
    return oci.healthchecks.HealthChecksClient(emu.oci_config(), service_endpoint=emu.endpoint)


def details(emu: Emulator, **overrides: Any) -> Models.CreateHttpMonitorDetails:
    fields: dict[str, Any] = {
        "compartment_id": emu.compartment_id,
        "targets": ["127.0.0.1"],
        "protocol": "HTTP",
        "display_name": "outside-in",
        "interval_in_seconds": 10,
        "port": 9,
        "path": "/",
    }
    return Models.CreateHttpMonitorDetails(**{**fields, **overrides})


def results(emu: Emulator, monitor_id: str, count: int, within: float = 20.0) -> list[Any]:
    """The newest `count` probe results, waiting (bounded) until that many exist."""
    hc, deadline = client(emu), time.monotonic() + within
    while True:
        found = hc.list_http_probe_results(monitor_id, limit=count).data
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


# --- the API -----------------------------------------------------------------------------------------
def test_create_get_and_list_monitors(emulator: Emulator) -> None:
    hc = client(emulator)
    created = hc.create_http_monitor(
        details(
            emulator,
            path="/healthz",
            headers={"Host": "vip.example"},
            vantage_point_names=["aws-iad", "azr-ord", "goo-chs"],
        )
    ).data
    other = hc.create_http_monitor(details(emulator, display_name="other", interval_in_seconds=60)).data

    got = hc.get_http_monitor(created.id)
    assert got.headers["etag"] and got.data.targets == ["127.0.0.1"] and got.data.path == "/healthz"
    assert got.data.headers == {"Host": "vip.example"} and got.data.timeout_in_seconds == 10
    assert got.data.results_url == f"{emulator.endpoint}/20180501/httpProbeResults/{created.id}"
    listed = hc.list_http_monitors(emulator.compartment_id, sort_by="displayName").data
    assert [m.display_name for m in listed] == ["other", "outside-in"]
    assert hc.list_http_monitors(emulator.compartment_id, display_name="other").data[0].id == other.id
    first = hc.list_http_monitors(emulator.compartment_id, limit=1)
    assert len(first.data) == 1 and first.next_page
    assert hc.list_http_monitors("ocid1.compartment.oc1..elsewhere").data == []
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        hc.get_http_monitor("ocid1.httpmonitor.oc1..nosuchmonitor")
    assert missing.value.status == 404


def test_vantage_points_span_three_providers_and_filter_by_name(emulator: Emulator) -> None:
    hc = client(emulator)
    points = hc.list_health_checks_vantage_points().data
    assert len({p.provider_name for p in points}) >= 3 and all(p.geo.city_name for p in points)
    [iad] = hc.list_health_checks_vantage_points(name="aws-iad").data
    assert iad.provider_name == "AWS" and iad.geo.admin_div_code == "VA"


@pytest.mark.parametrize(
    "overrides, says",
    [
        ({"interval_in_seconds": 15}, "intervalInSeconds must be one of 10, 30, 60"),
        ({"interval_in_seconds": 10, "timeout_in_seconds": 30}, "must not exceed intervalInSeconds"),
        ({"vantage_point_names": ["aws-iad", "nowhere-1"]}, "Unknown vantage points ['nowhere-1']"),
        ({"headers": {"Authorization": "Bearer x"}}, "do not support the Authorization header"),
        ({"targets": []}, "targets (a non-empty list) is required"),
        ({"port": 70000}, "port must be an integer from 1 to 65535"),
    ],
)
def test_bad_details_are_refused_and_create_nothing(emulator: Emulator, overrides: dict[str, Any], says: str) -> None:
    hc = client(emulator)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        hc.create_http_monitor(details(emulator, **overrides))
    assert refused.value.status == 400 and says in refused.value.message
    assert hc.list_http_monitors(emulator.compartment_id).data == []


@pytest.mark.parametrize("target", ["203.0.113.10", "10.0.0.4", "8.8.8.8", "169.254.169.254", "example.com"])
def test_only_loopback_and_lab_targets_are_ever_probed(emulator: Emulator, target: str) -> None:
    hc = client(emulator)
    with pytest.raises(oci.exceptions.ServiceError) as refused:
        hc.create_http_monitor(details(emulator, targets=["127.0.0.1", target]))
    assert refused.value.status == 400 and target in refused.value.message
    assert "loopback" in refused.value.message or "resolves no names" in refused.value.message
    assert hc.list_http_monitors(emulator.compartment_id).data == []
    assert hc.create_http_monitor(details(emulator, targets=["198.18.0.4", "127.0.0.1", "::1"])).data.id


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_the_guard_admits_exactly_loopback_and_the_lab(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    inside = any(address in network for network in PROBED_NETWORKS)
    if inside:
        assert check_target(str(address)) == str(address)
    else:
        with pytest.raises(TargetRefused):
            check_target(str(address))


def test_a_topology_monitor_on_a_public_address_stops_the_start(tmp_path: Path) -> None:
    topology = outside_in_topology(80)
    topology["healthChecks"]["httpMonitors"][0]["targets"] = ["203.0.113.10"]
    path = tmp_path / "public-target.json"
    path.write_text(json.dumps(topology))
    with pytest.raises(ValueError, match="never 203.0.113.10"):
        Emulator.start(topology=path, state=None)


def test_a_target_slipped_into_the_state_is_still_never_probed(
    peers: Callable[[str], RawTcpPeer], tmp_path: Path
) -> None:
    peer, state = peers("http"), tmp_path / "state.json"
    with Emulator.start(state=state, clock_scale=20) as emu:
        monitor = client(emu).create_http_monitor(details(emu, port=peer.port)).data
    saved = json.loads(state.read_text())  # the state file edited by hand between two runs
    (saved_monitor,) = (m for m in saved["services"]["healthchecks"]["monitors"] if m["id"] == monitor.id)
    saved_monitor["targets"] = ["8.8.8.8"]
    state.write_text(json.dumps(saved))
    with Emulator.start(state=state, clock_scale=20) as emu:
        later = [r for r in results(emu, monitor.id, 6) if r.target == "8.8.8.8"]
    assert later and all(r.error_category == "SYSTEM" and not r.is_healthy for r in later)
    assert "never 8.8.8.8" in later[0].error_message


# --- pure: one outcome as OCI shows it ----------------------------------------------------------
MONITOR = {
    "id": MONITOR_ID,
    "displayName": "vip-failover-outside-in",
    "compartmentId": "ocid1.compartment.oc1..c",
    "protocol": "HTTP",
    "port": 80,
    "path": "/healthz?x=1",
}


@pytest.mark.parametrize(
    "outcome, healthy, names",
    [
        (
            ProbeOutcome(status_code=200, response_ms=3.0, duration_ms=4.0, body_bytes=5),
            1.0,
            ["HTTP.isHealthy", "HTTP.RequestTime"],
        ),
        (ProbeOutcome(status_code=404, response_ms=3.0, duration_ms=4.0), 0.0, ["HTTP.isHealthy", "HTTP.RequestTime"]),
        (
            ProbeOutcome(status_code=None, error_category=NETWORK, timed_out=True, duration_ms=10_000.0),
            0.0,
            ["HTTP.isHealthy"],
        ),
    ],
)
def test_an_outcome_becomes_a_result_and_oci_healthchecks_datapoints(
    outcome: ProbeOutcome, healthy: float, names: list[str]
) -> None:
    result = result_summary(MONITOR, "198.18.0.4", "goo-chs", 1796180640.5, outcome)
    items = metric_items(MONITOR, result)
    assert result["startTime"] == 1796180640500.0 and result["isHealthy"] is bool(healthy)
    assert [i["name"] for i in items] == names and {i["namespace"] for i in items} == {"oci_healthchecks"}
    assert items[0]["datapoints"] == [{"timestamp": "2026-12-02T03:04:00.500Z", "value": healthy}]
    assert items[0]["dimensions"] == {
        "resourceId": MONITOR_ID,
        "resourceDisplayName": "vip-failover-outside-in",
        "target": "198.18.0.4",
        "vantagePoint": "goo-chs",
        "protocol": "HTTP",
    }
    assert probe_url(MONITOR, "::1") == "http://[::1]:80/healthz?x=1"


def wire_names(model: type) -> set[str]:
    return set(model().attribute_map.values())


def test_every_field_the_emulator_sends_is_one_the_sdk_models_read() -> None:
    """The SDK drops a field it does not know without a word: compare the names themselves."""
    monitor = new_monitor(
        {
            "compartmentId": "c",
            "displayName": "d",
            "targets": ["127.0.0.1"],
            "protocol": "HTTP",
            "intervalInSeconds": 30,
        },
        monitor_id=MONITOR_ID,
        time_created="t",
        region="r",
    )
    assert set(present(monitor, "http://e")) == wire_names(Models.HttpMonitor)
    assert set(summary(monitor, "http://e")) == wire_names(Models.HttpMonitorSummary)
    result = result_summary(MONITOR, "127.0.0.1", "aws-iad", 1.0, ProbeOutcome(status_code=200))
    assert {"key", *result} == wire_names(Models.HttpProbeResultSummary)
    assert set(result["connection"]) == wire_names(Models.TcpConnection)
    assert set(result["dns"]) == wire_names(Models.DNS)
    for point in VANTAGE_POINTS:
        assert set(point) == wire_names(Models.HealthChecksVantagePointSummary)
        assert set(point["geo"]) == wire_names(Models.Geolocation)


# --- the runner --------------------------------------------------------------------------------------
def test_each_vantage_point_probes_at_the_interval_and_sees_the_service_fail(
    peers: Callable[[str], RawTcpPeer],
) -> None:
    peer = peers("http")
    with Emulator.start(state=None, clock_scale=20) as emu:
        monitor = client(emu).create_http_monitor(details(emu, port=peer.port, path="/")).data
        first = results(emu, monitor.id, 3)
        peer.status = 503
        time.sleep(emu.clock.real_seconds(25))
        latest = results(emu, monitor.id, 3)
        spacing = sorted({r.start_time for r in client(emu).list_http_probe_results(monitor.id, limit=100).data})
    assert {r.vantage_point_name for r in first} == {"aws-iad", "azr-ord", "goo-chs"}
    assert all(r.is_healthy and r.status_code == 200 and r.error_category == "NONE" for r in first)
    assert all(not r.is_healthy and r.status_code == 503 for r in latest)
    gaps = [b - a for a, b in zip(spacing, spacing[1:], strict=False)]
    assert gaps and all(9_000 <= gap <= 12_500 for gap in gaps), gaps  # every 10 s of emulated time


def test_the_metrics_land_in_monitoring_under_oci_healthchecks(peers: Callable[[str], RawTcpPeer]) -> None:
    peer = peers("http")
    with Emulator.start(state=None, clock_scale=20) as emu:
        monitor = client(emu).create_http_monitor(details(emu, port=peer.port)).data
        results(emu, monitor.id, 6)
        monitoring = oci.monitoring.MonitoringClient(emu.oci_config(), service_endpoint=emu.endpoint)
        end = emu.clock.now_datetime()
        summary = monitoring.summarize_metrics_data(
            emu.compartment_id,
            oci.monitoring.models.SummarizeMetricsDataDetails(
                namespace="oci_healthchecks",
                query=f'HTTP.isHealthy[1m]{{resourceId = "{monitor.id}"}}.groupBy(vantagePoint).mean()',
                start_time=end - timedelta(minutes=5),
                end_time=end + timedelta(minutes=1),
            ),
        ).data
    assert {s.dimensions["vantagePoint"] for s in summary} == {"aws-iad", "azr-ord", "goo-chs"}
    assert all(p.value == 1.0 for s in summary for p in s.aggregated_datapoints)


@pytest.mark.parametrize(
    "mode, category, timed_out",
    [("silent", "NETWORK", True), ("garbage", "TRANSPORT", False), ("refused", "TRANSPORT", False)],
)
def test_hostile_peers_cost_at_most_the_timeout_and_read_as_unreachable(
    peers: Callable[[str], RawTcpPeer], mode: str, category: str, timed_out: bool
) -> None:
    port = 9 if mode == "refused" else peers(mode).port  # nothing listens on the discard port
    with Emulator.start(state=None, clock_scale=20) as emu:
        started = time.monotonic()
        monitor = client(emu).create_http_monitor(details(emu, port=port)).data
        found = results(emu, monitor.id, 3, within=10)
        waited = time.monotonic() - started
    assert len(found) == 3 and all(r.error_category == category and not r.is_healthy for r in found)
    assert all(r.is_timed_out is timed_out and r.status_code is None for r in found)
    assert waited < 5, "one probe round is bounded by the (scaled) 10 s timeout"


def test_an_endless_body_is_read_up_to_the_bound_and_still_counts(peers: Callable[[str], RawTcpPeer]) -> None:
    peer = peers("endless")
    with Emulator.start(state=None, clock_scale=20) as emu:
        monitor = client(emu).create_http_monitor(details(emu, port=peer.port)).data
        found = results(emu, monitor.id, 3, within=10)
    assert found and all(r.is_healthy and r.encoded_body_size == MAX_BODY_BYTES for r in found)


def test_stopping_the_emulator_cancels_probes_stuck_on_a_silent_peer(peers: Callable[[str], RawTcpPeer]) -> None:
    peer = peers("silent")
    emu = Emulator.start(state=None)  # real time: a 10 s probe timeout is 10 s of waiting
    client(emu).create_http_monitor(details(emu, port=peer.port))
    deadline = time.monotonic() + 5
    while peer.hits < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    emu.stop()
    assert peer.hits == 3 and time.monotonic() - started < 2


def test_monitors_and_results_survive_a_restart(peers: Callable[[str], RawTcpPeer], tmp_path: Path) -> None:
    peer, state = peers("http"), tmp_path / "state.json"
    with Emulator.start(state=state, clock_scale=20) as emu:
        monitor = client(emu).create_http_monitor(details(emu, port=peer.port)).data
        before = {r.key for r in results(emu, monitor.id, 3)}
    with Emulator.start(state=state, clock_scale=20) as emu:
        assert client(emu).get_http_monitor(monitor.id).data.display_name == "outside-in"
        after = {r.key for r in client(emu).list_http_probe_results(monitor.id, limit=100).data}
        newer = results(emu, monitor.id, len(after) + 3)
    assert before <= after and len(newer) >= len(after) + 3


def test_a_node_principal_may_not_read_the_monitors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.iam import node_signer, start

    with start(tmp_path) as emu:
        client(emu).create_http_monitor(details(emu))
        as_node = oci.healthchecks.HealthChecksClient(
            {"region": emu.region}, signer=node_signer(emu, "node-a", monkeypatch), service_endpoint=emu.endpoint
        )
        with pytest.raises(oci.exceptions.ServiceError) as denied:
            as_node.list_http_monitors(emu.compartment_id)
    assert denied.value.status == 404 and denied.value.code == "NotAuthorizedOrNotFound"


# --- the outside-in alarm, end to end ---------------------------------------------------------------
def outside_in_topology(port: int) -> dict[str, Any]:
    """two-node.json plus the monitor (of loopback `port`) and the alarm terraform's outside-in option deploys."""
    return with_outside_in(two_node(), "127.0.0.1", port=port)


def shape(value: object) -> object:
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def test_the_outside_in_alarm_fires_through_notifications_as_recorded(
    peers: Callable[[str], RawTcpPeer], tmp_path: Path
) -> None:
    peer = peers("http")
    path = tmp_path / "outside-in.json"
    path.write_text(json.dumps(outside_in_topology(peer.port)))
    with Emulator.start(topology=path, state=None, clock_scale=60) as emu:
        results(emu, MONITOR_ID, 3)
        peer.status = 503  # clients can no longer get an answer through the public IP
        deadline, delivered = time.monotonic() + 30, []
        while not delivered and time.monotonic() < deadline:
            time.sleep(0.2)
            delivered = [d["request"] for d in emu.deliveries() if d["request"]["alarmMetaData"][0]["id"] == ALARM_ID]
    assert delivered, "the outside-in alarm never reached Notifications"
    message = delivered[0]
    meta = message["alarmMetaData"][0]
    assert message["type"] == "OK_TO_FIRING" and meta["namespace"] == "oci_healthchecks"
    assert meta["dimensions"] == [{"resourceId": MONITOR_ID}]
    assert meta["query"] == terraform_settings()["query_format"] % MONITOR_ID
    assert list(meta["metricValues"][0].values()) == ["0.00"]
    if os.environ.get("OCISIM_RECORD_FIXTURES") == "1":
        FIXTURE.write_text(json.dumps(message, indent=1) + "\n")
    recorded = json.loads(FIXTURE.read_text())
    assert shape(recorded) == shape(message)
    assert recorded["alarmMetaData"][0]["dimensions"] == meta["dimensions"]
    assert recorded["alarmMetaData"][0]["query"] == meta["query"] and recorded["body"] == message["body"]


# --- probing from another network namespace (the lab's client namespace) ------------------------
@pytest.fixture
def vantage_netns() -> Iterator[str]:
    """A namespace of this test's own with only loopback: what answers there is not what answers here."""
    with scratch_netns("ocisim-vp", (["link", "set", "lo", "up"],)) as name:
        yield name


def test_probes_leave_from_the_vantage_namespace(vantage_netns: str, tmp_path: Path) -> None:
    here = socket.socket()  # bound, never listening: this port refuses in the emulator's namespace
    here.bind(("127.0.0.1", 0))
    port = here.getsockname()[1]
    monitored = outside_in_topology(port)["healthChecks"]["httpMonitors"][0]["path"]
    (tmp_path / monitored.lstrip("/")).write_text("ok")  # what http.server answers 200 for
    there = subprocess.Popen(
        ["ip", "netns", "exec", vantage_netns, sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        seen: dict[str, list[Any]] = {}
        for netns in (None, vantage_netns):
            topology = outside_in_topology(port)
            if netns:
                topology["healthChecks"]["vantageNetns"] = netns
            path = tmp_path / f"topology-{netns}.json"
            path.write_text(json.dumps(topology))
            with Emulator.start(topology=path, state=None, clock_scale=20) as emu:
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    seen[str(netns)] = found = results(emu, MONITOR_ID, 3)
                    if netns is None or all(r.is_healthy for r in found):
                        break
                    time.sleep(0.2)  # the server in the namespace may still be starting
    finally:
        there.kill()
        there.wait(10)
        here.close()
    assert all(r.error_category == "TRANSPORT" for r in seen["None"])
    assert all(r.is_healthy and r.status_code == 200 for r in seen[vantage_netns])


def test_an_unknown_vantage_namespace_stops_the_start(tmp_path: Path) -> None:
    topology = outside_in_topology(80)
    topology["healthChecks"]["vantageNetns"] = "no-such-namespace"
    path = tmp_path / "topology.json"
    path.write_text(json.dumps(topology))
    with pytest.raises(RuntimeError) as failed:
        Emulator.start(topology=path, state=None)
    assert "no network namespace 'no-such-namespace'" in str(failed.value.__cause__)
