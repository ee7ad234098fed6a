"""The node agent against loopback health endpoints and the emulator's Monitoring, read back
with SummarizeMetricsData through the SDK, as an operator would check the metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import oci
import pytest
import yaml

from health_probe.names import NAMES
from ocisim import Emulator
from tests.support.health_servers import MonitorUriServer
from tests.support.logs import capture_logs
from tests.support.node_agent import agent_config, make_agent, resource_ids, summarize
from tests.support.paths import REPO


def test_metrics_arrive_with_the_names_dimensions_and_values(
    emulator: Emulator, health_servers: dict[str, MonitorUriServer]
) -> None:
    health_servers["node-b"].healthy = False
    agent = make_agent(emulator, agent_config(emulator, health_servers, "node-a"))
    for _ in range(3):
        agent.run_round()
        emulator.clock.advance(10)

    up = summarize(emulator, f"{NAMES.metric_up}[1m].max()")
    ids = resource_ids(emulator)
    by_target = {item.dimensions[NAMES.dim_target]: item for item in up}
    assert set(by_target) == {"node-a", "node-b", "vip"}
    for name, item in by_target.items():
        assert item.namespace == NAMES.namespace and item.name == NAMES.metric_up
        assert item.dimensions == {
            "node": name,
            "resourceId": ids[name],
            "role": "vip" if name == "vip" else "node",
            "reporter": "node-a",
        }
        expected = 0.0 if name == "node-b" else 1.0
        assert {p.value for p in item.aggregated_datapoints} == {expected}

    counts = summarize(emulator, f"{NAMES.metric_up}[1m].count()")
    assert sum(p.value for item in counts for p in item.aggregated_datapoints) == 9  # 3 rounds x 3 targets
    latency = summarize(emulator, f'{NAMES.metric_latency_ms}[1m]{{node = "node-a"}}.max()')
    assert latency and all(0 < p.value < 1000 for p in latency[0].aggregated_datapoints)
    assert health_servers["node-b"].hits == 3


def test_monitoring_unreachable_then_back_sends_the_buffered_points_and_the_buffer_stays_bounded(
    emulator: Emulator, health_servers: dict[str, MonitorUriServer]
) -> None:
    # 3 targets x (up + latency) = 6 points per round; room for two rounds
    agent = make_agent(emulator, agent_config(emulator, health_servers, "node-b", buffer_max_points=12))
    emulator.inject_fault("PostMetricData", drop=True, count=4)
    stamps = []
    with capture_logs("health_probe") as logs:
        for _ in range(4):
            stamps.append(emulator.clock.now_datetime())
            agent.run_round()
            assert len(agent.buffer.points) <= 12
            emulator.clock.advance(20)
        assert len(agent.buffer.points) == 12 and agent.buffer.dropped == 12
        assert summarize(emulator, f"{NAMES.metric_up}[1m].count()") == []

        stamps.append(emulator.clock.now_datetime())
        agent.run_round()  # Monitoring is back
    assert agent.buffer.points == ()
    counts = summarize(emulator, f"{NAMES.metric_up}[1m].count()")
    assert sum(p.value for item in counts for p in item.aggregated_datapoints) == 6  # two rounds of 3 targets
    # what survived the bound is the newest: rounds 4 and 5, none of rounds 1-3
    up = summarize(emulator, f"{NAMES.metric_up}[1m].max()", minutes=10)
    assert up and all(
        p.timestamp >= stamps[3].replace(second=0, microsecond=0) for item in up for p in item.aggregated_datapoints
    )
    events = [e["event"] for e in logs.entries]
    assert events.count("post_failed") == 1 and events.count("post_recovered") == 1
    dropped = logs.events("points_dropped")
    assert sum(e["dropped"] for e in dropped) == 18 and all(e["reason"] for e in dropped)


def test_post_metric_data_rejects_what_oci_rejects(emulator: Emulator) -> None:
    client = oci.monitoring.MonitoringClient(
        oci.config.from_file(emulator.oci_config_file), service_endpoint=emulator.endpoint
    )
    now = emulator.clock.now_datetime()
    metric = oci.monitoring.models.MetricDataDetails(
        namespace="oci_reserved",
        compartment_id=emulator.compartment_id,
        name="target_up",
        dimensions={"node": "node-a"},
        datapoints=[oci.monitoring.models.Datapoint(timestamp=now, value=1.0)],
    )
    stale = oci.monitoring.models.MetricDataDetails(
        namespace=NAMES.namespace,
        compartment_id=emulator.compartment_id,
        name="target_up",
        dimensions={"node": "node-a"},
        datapoints=[oci.monitoring.models.Datapoint(timestamp=now - timedelta(hours=3), value=1.0)],
    )
    answer = client.post_metric_data(oci.monitoring.models.PostMetricDataDetails(metric_data=[metric, stale])).data
    assert answer.failed_metrics_count == 2
    assert "oci_" in answer.failed_metrics[0].message and "2 hours" in answer.failed_metrics[1].message
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        client.post_metric_data(
            oci.monitoring.models.PostMetricDataDetails(metric_data=[metric], batch_atomicity="ATOMIC")
        )
    assert (caught.value.status, caught.value.code) == (400, "InvalidParameter")


def test_the_command_runs_rounds_and_logs_json_lines(
    emulator: Emulator, health_servers: dict[str, MonitorUriServer], tmp_path
) -> None:
    path = tmp_path / "node-agent.yaml"
    path.write_text(
        yaml.safe_dump(agent_config(emulator, health_servers, "node-a", interval_seconds=1, timeout_seconds=0.5))
    )
    done = subprocess.run(
        [sys.executable, "-m", "health_probe", "--config", str(path), "--rounds", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line)["event"] for line in done.stdout.splitlines()]
    assert events[0] == "agent_started" and events[-1] == "agent_stopped"
    counts = summarize(emulator, f"{NAMES.metric_up}[1m].count()")
    assert sum(p.value for item in counts for p in item.aggregated_datapoints) == 6
