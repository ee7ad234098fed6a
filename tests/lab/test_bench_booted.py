"""`make bench` on the session's booted lab: one trial of a baseline method, put in place inside
the booted nodes as the bench does it, gives a valid result record; the nodes are back to what
cloud-init deployed afterwards."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import requests

from lab import bench, machines, methods, trial
from tests.support.booted_lab import BootedLab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

# What every method's object of bench/results.json states.
RECORD_KEYS = {"min", "p50", "p95", "max", "trials", "failed_requests", "api_calls", "emulator_latency_s", "per_fault"}
PER_FAULT_KEYS = {"min", "p50", "p95", "max", "trials", "failed_over", "failed_requests"}


def test_one_bench_trial_of_the_seed_script_on_booted_nodes(booted_lab: BootedLab) -> None:
    state = booted_lab.state
    plan = state.plan
    deployed = {node.name: bench.node_file(plan, node, methods.KEEPALIVED_CONF).read_text() for node in plan.nodes}
    bench.install_baselines(state, ["seed_script"], None)
    try:
        seed = bench.use_method(state, "seed_script", deployed)
        for node in plan.nodes:  # keepalived, reloaded by systemd inside the node, runs the seed's script
            assert machines.active(plan, node, "keepalived")
            conf = bench.node_file(plan, node, methods.KEEPALIVED_CONF).read_text()
            notify = [line.strip() for line in conf.splitlines() if line.strip().startswith("notify")]
            assert notify == [
                f'notify_master "{methods.BENCH_NOTIFY}"',
                f'notify_master_rx_lower_pri "{methods.BENCH_NOTIFY}"',
            ]
        log = io.StringIO()
        results, function = bench.run_method(seed, ("haproxy-stop",), 1, trial.RATE_PER_SECOND, log)
        record = bench.summarise_method(results, trial.RATE_PER_SECOND)
    finally:
        bench.use_method(state, "fast_path", deployed)
        trial.put_vip_on(state, plan.nodes[0].name, timeout=20.0)
    assert function is None
    assert set(record) >= RECORD_KEYS and set(record["per_fault"]["haproxy-stop"]) >= PER_FAULT_KEYS
    assert (record["trials"], record["failed_over"]) == (1, 1), log.getvalue()
    assert 0 < record["p50"] < bench.DEFAULT_TRIAL_TIMEOUT_SECONDS
    # The seed's one blind write, signed with the API key from inside the node; no function call.
    calls = record["api_calls_by_operation"]
    assert calls.get("UpdatePrivateIp") == 1 and "InvokeFunction" not in calls, log.getvalue()
    for node in plan.nodes:
        assert bench.node_file(plan, node, methods.KEEPALIVED_CONF).read_text() == deployed[node.name]


@pytest.fixture(autouse=True)
def _default_latency(booted_lab: BootedLab) -> Iterator[None]:
    yield
    requests.delete(f"{booted_lab.state.emulator['endpoint']}/_admin/faults", timeout=5).raise_for_status()
