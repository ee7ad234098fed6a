"""`make bench` on the session's booted lab: one trial of a baseline method, put in place inside
the booted nodes as the bench does it, gives a valid result record; the nodes are back to what
cloud-init deployed afterwards. The session's lab has the deployed policies only, so the seed's
script, signing with the node's instance principal as the bench has it, is refused: the bench
grants it its documented policy in a lab of its own (lab/bench.py lab_setup)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import requests

from lab import bench, machines, methods, trial
from tests.support.booted_lab import BootedLab, invoking_principals

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

# What every method's object of bench/results.json states.
RECORD_KEYS = {
    "min",
    "p50",
    "p95",
    "max",
    "trials",
    "failed_requests",
    "api_calls",
    "emulator_latency_s",
    "cold_start_s",
    "per_fault",
}
PER_FAULT_KEYS = {"min", "p50", "p95", "max", "trials", "failed_over", "failed_requests"}


def test_one_bench_trial_of_the_seed_script_on_booted_nodes_signs_as_the_node(booted_lab: BootedLab) -> None:
    state = booted_lab.state
    plan = state.plan
    deployed = {node.name: bench.node_file(plan, node, methods.KEEPALIVED_CONF).read_text() for node in plan.nodes}
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
        latency, delay = bench.emulator_timing(seed)
        record = bench.summarise_method(results, trial.RATE_PER_SECOND, latency=latency, cold_start_delay_s=delay)
    finally:
        bench.use_method(state, "fast_path", deployed)
        trial.put_vip_on(state, plan.nodes[0].name, timeout=20.0)
    assert function is None
    assert set(record) >= RECORD_KEYS and set(record["per_fault"]["haproxy-stop"]) >= PER_FAULT_KEYS
    assert (record["trials"], record["cold_start_s"]) == (1, 0.0), log.getvalue()
    # The seed's one blind write, signed with node-b's instance principal from inside the node,
    # refused by the deployed policies.
    entries = results[0].emulator_log
    (denied,) = [e for e in entries if e.get("event") == "authorization denied"]
    assert (denied["operation"], denied["principal_kind"]) == ("UpdatePrivateIp", "instance")
    # No node called the function or moved the IP. With the VIP dark, the alarm path may still
    # repair it inside the trial (the outside-in monitor fires, Notifications invokes the
    # function): then the only write is the function's, and the client saw it.
    invokers = invoking_principals(entries)
    assert all(p.startswith("ocid1.onssubscription.") for p in invokers), log.getvalue()
    writes = [e for e in entries if e.get("event") == "audit" and e.get("operation") == "UpdatePrivateIp"]
    assert all(w["principal"].startswith("ocid1.fnfunc.") for w in writes), log.getvalue()
    assert record["failed_over"] == (1 if writes else 0), log.getvalue()
    for node in plan.nodes:
        assert bench.node_file(plan, node, methods.KEEPALIVED_CONF).read_text() == deployed[node.name]


@pytest.fixture(autouse=True)
def _default_latency(booted_lab: BootedLab) -> Iterator[None]:
    yield
    requests.delete(f"{booted_lab.state.emulator['endpoint']}/_admin/faults", timeout=5).raise_for_status()
