"""The bench's pure parts: one method's record of results.json (every fault's `per_fault`, the
emulator timing it states, how it met the function), which lab each method is measured in, and
the README's tables."""

from __future__ import annotations

from typing import Any

import pytest

from lab import bench, methods
from lab.trial import TrialResult

LATENCY = {
    "UpdatePrivateIp": 0.8,
    "GetPrivateIp": 0.1,
    "InvokeFunction": 0.1,
    "ImdsGetRegion": 0.005,
    "X509Federation": 0.3,
}
PER_FAULT_KEYS = {"min", "p50", "p95", "max", "trials", "failed_over", "failed_requests"}


def result(fault: str, failover: float | None, failed: int = 0, cold: bool | None = None) -> TrialResult:
    """A trial as run_trial returns it; `cold`: the function call it saw, if any."""
    log: list[dict[str, Any]] = [] if cold is None else [{"event": "function.invoke", "cold": cold}]
    calls = {"UpdatePrivateIp": 1} if failover is not None else {}
    return TrialResult(fault, "node-a", "node-b", 100.0, failover, 50, failed, calls, [], log)


def summary(results: list[TrialResult], delay: float = 17.0) -> dict[str, Any]:
    return bench.summarise_method(results, 50.0, latency=LATENCY, cold_start_delay_s=delay)


def test_every_fault_has_its_own_times_trials_and_failures() -> None:
    trials = [
        *(result("haproxy-stop", s, failed=3) for s in (1.0, 2.0, 3.0)),
        result("keepalived-kill", None),  # served throughout: no move
        result("link-down", 2.5, failed=7),
        result("crash", 3.5, failed=9),
    ]
    record = summary(trials)
    assert list(record["per_fault"]) == list(bench.FAULTS)
    assert all(set(entry) == PER_FAULT_KEYS for entry in record["per_fault"].values())
    assert record["per_fault"]["haproxy-stop"] == {
        "min": 1.0,
        "p50": 2.0,
        "p95": 2.9,
        "max": 3.0,
        "trials": 3,
        "failed_over": 3,
        "failed_requests": 9,
    }
    assert record["per_fault"]["keepalived-kill"] == {
        "min": None,
        "p50": None,
        "p95": None,
        "max": None,
        "trials": 1,
        "failed_over": 0,
        "failed_requests": 0,
    }
    assert (record["trials"], record["failed_over"], record["failed_requests"]) == (6, 5, 25)
    assert (record["api_calls"], record["api_calls_per_trial"]) == (5, 0.83)


def test_the_record_states_the_emulator_latency_and_the_cold_start_its_trials_met() -> None:
    cold = summary([result("crash", 19.0, cold=True), result("crash", 19.5, cold=True)])
    assert cold["emulator_latency_s"] == LATENCY
    assert (cold["cold_start_s"], cold["function_calls"]) == (17.0, {"cold": 2, "warm": 0})
    warm = summary([result("crash", 2.0, cold=False)])
    assert (warm["cold_start_s"], warm["function_calls"]) == (0.0, {"cold": 0, "warm": 1})
    no_function = summary([result("crash", 1.5)])  # the seed's script: no function at all
    assert (no_function["cold_start_s"], no_function["function_calls"]) == (0.0, {"cold": 0, "warm": 0})


def test_an_empty_run_has_no_times() -> None:
    record = summary([])
    assert (record["p50"], record["trials"], record["api_calls_per_trial"], record["per_fault"]) == (None, 0, None, {})


def test_each_fast_path_mode_is_a_method_that_meets_the_function_its_own_way() -> None:
    assert {m: bench.FUNCTION_MODES[m] for m in bench.FAST_PATH_MODES} == {
        "fast_path_cold": "cold",
        "fast_path_warm": "warm",
        "fast_path_provisioned": "provisioned",
    }
    assert bench.FUNCTION_MODES["fast_path"] == "cold", "the default configuration meets the function cold"
    assert set(bench.DEFAULT_METHODS) == set(bench.BENCH_METHODS)
    assert all(bench.lab_method(m) == "fast_path" for m in bench.FUNCTION_MODES)
    # A cold function's delay fits inside its trials; the others keep the shorter bound.
    assert bench.trial_timeout("fast_path") > 17.0 + bench.DEFAULT_TRIAL_TIMEOUT_SECONDS / 2
    assert (
        bench.trial_timeout("fast_path_warm")
        == bench.trial_timeout("seed_script")
        == bench.DEFAULT_TRIAL_TIMEOUT_SECONDS
    )


def test_methods_share_a_lab_only_when_it_gives_them_the_same_rights_and_function() -> None:
    groups = bench.lab_groups(list(bench.DEFAULT_METHODS))
    by_method = {m: setup for setup, group in groups for m in group}
    assert by_method["floor"] == by_method["fast_path_cold"] == by_method["fast_path_warm"] == by_method["alarm_path"]
    apart = [by_method[m] for m in ("floor", "fast_path", "seed_script", "oci_cli", "fast_path_provisioned")]
    assert all(a != b for i, a in enumerate(apart) for b in apart[i + 1 :])
    assert by_method["fast_path_ipv6"] == by_method["fast_path_route_target"]
    assert by_method["fast_path_ipv6"].topology == "multi"
    assert all(setup.emulator.profile == "realistic" for setup in by_method.values())
    provisioned = dict(by_method["fast_path_provisioned"].emulator.function_keys)
    assert provisioned == {"provisionedConcurrencyConfig": {"strategy": "CONSTANT", "count": 2}}
    assert by_method["seed_script"].emulator.extra_policy_tf == methods.baseline_policy_tf("seed_script")
    assert by_method["fast_path"].emulator.extra_policy_tf == ""
    # Labs in the order of their first method, each method once.
    assert [m for _, group in groups for m in group][:4] == ["floor", "fast_path_cold", "fast_path_warm", "alarm_path"]


@pytest.mark.parametrize(
    ("method", "expected"),
    [("fast_path", bench.FAULTS), ("alarm_path", ("haproxy-stop", "link-down", "crash"))],
)
def test_the_alarm_path_skips_the_fault_it_cannot_see(method: str, expected: tuple[str, ...]) -> None:
    assert bench.method_faults(method, list(bench.FAULTS)) == expected


def test_the_readme_tables_show_every_fault_and_the_timing() -> None:
    records = {
        "fast_path": {**summary([result(f, 18.0, cold=True) for f in bench.FAULTS]), "measured_at": "now"},
        "seed_script": summary([result("haproxy-stop", 1.5, failed=4), result("keepalived-kill", None)]),
    }
    text = bench.markdown(records)
    lines = text.splitlines()
    assert lines[0].startswith("Emulator timing") and "federation 0.3 s" in lines[0] and "0.005 s" in lines[0]
    assert "17.0 s delay" in lines[0]
    header = next(line for line in lines if line.startswith("| method | haproxy-stop"))
    assert header == "| method | haproxy-stop | keepalived-kill | link-down | crash |"
    seed = [line for line in lines if line.startswith("| seed_script |")][-1]
    assert seed == "| seed_script | 1.5 (1.5-1.5; 1/1, 4 failed) | no move (0/1, 0 failed) | not run | not run |"
    fast = [line for line in lines if line.startswith("| fast_path |")][0]
    assert "| 4/0 | 17.0 | now |" in fast  # cold/warm function calls, cold start s, when measured


def test_the_goals_are_judged_per_fault_against_the_floor_and_the_baselines() -> None:
    faults = ("haproxy-stop", "keepalived-kill")
    records = {
        "floor": summary([result(f, 0.5) for f in faults]),
        # haproxy-stop: 1.45 = 0.5 + 0.8 + 0.15 holds; keepalived-kill: 1.5 is over it
        "fast_path": summary([result("haproxy-stop", 1.45), result("keepalived-kill", 1.5, failed=2)]),
        "seed_script": summary([result("haproxy-stop", 1.7), result("keepalived-kill", 1.4, failed=1)]),
    }
    judged = {(g.fault, g.claim): g for g in bench.goals(records)}
    within = "within the floor + one write + 0.15 s"
    assert judged["haproxy-stop", within].held is True
    assert judged["haproxy-stop", within].numbers == "1.45 <= 0.5 + 0.8 + 0.15 = 1.45; 1/1 failed over"
    assert judged["keepalived-kill", within].held is False
    assert judged["keepalived-kill", within].numbers == "1.5 > 0.5 + 0.8 + 0.15 = 1.45; 1/1 failed over"
    assert judged["haproxy-stop", "faster than seed_script"].held is True
    assert judged["keepalived-kill", "faster than seed_script"].held is False
    assert judged["keepalived-kill", "faster than seed_script"].numbers == "1.5 >= 1.4"
    assert judged["haproxy-stop", "faster than oci_cli"].held is None, "not measured is neither"
    assert judged["crash", within].held is None
    killed = judged["keepalived-kill", "keepalived killed: no more failed requests than seed_script"]
    assert (killed.held, killed.numbers) == (False, "2 > 1")
    # A trial that never failed over fails the goal, whatever the others' times.
    records["fast_path"] = summary([result("haproxy-stop", 1.0), result("haproxy-stop", None)])
    assert {(g.fault, g.claim): g for g in bench.goals(records)}["haproxy-stop", within].held is False
    table = bench.markdown(records)
    assert "| haproxy-stop | within the floor + one write + 0.15 s | **no** |" in table


def test_every_method_meets_the_faults_at_the_same_spread_of_phases_over_an_advert_interval() -> None:
    phases = bench.fault_phases(10, 0.2, "link-down")
    assert sorted(phases) == pytest.approx([0.01 + 0.02 * index for index in range(10)])
    assert phases == bench.fault_phases(10, 0.2, "link-down")  # the same for every method
    assert phases != sorted(phases) and phases != bench.fault_phases(10, 0.2, "crash")
    assert bench.fault_phases(1, 1.0, "crash") == [0.5]
