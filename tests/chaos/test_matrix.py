"""The matrix as data and the seeded plan (pure)."""

import pytest

from chaos.faults import (
    FAST_PATH_BUDGET_S,
    MATRIX,
    MULTI_GROUP_S,
    RETRY_DEADLINE_S,
    backoff_bound,
    by_name,
    plan,
    trial_counts,
)
from chaos.scenarios import SCENARIOS


def test_every_fault_has_a_script_and_a_unique_name():
    assert len({f.name for f in MATRIX}) == len(MATRIX)
    assert all(f.scenario in SCENARIOS for f in MATRIX if f.driver == "emulator")
    assert all(set(f.relaxed) <= {2} and f.description for f in MATRIX)


def test_each_operation_the_function_calls_gets_every_api_fault():
    for op in ("GetPrivateIp", "UpdatePrivateIp", "GetPublicIpByPrivateIpId"):
        kinds = {f.name.split(":", 1)[1] for f in MATRIX if f.name.startswith(op + ":")}
        assert kinds == {"429-burst", "500-burst", "503-burst", "409-burst", "timeout", "drop-before", "drop-after"}


def test_trials_are_shared_by_weight_and_sum_to_the_total():
    counts = trial_counts(MATRIX, 1000)
    assert sum(counts.values()) == 1000 and min(counts.values()) >= 1
    assert counts["api-outage:503"] < counts["baseline"]
    with pytest.raises(ValueError):
        trial_counts(MATRIX, 3)


def test_the_plan_is_seeded_and_shuffled():
    first, again, other = plan(MATRIX, 200, 1), plan(MATRIX, 200, 1), plan(MATRIX, 200, 2)
    assert [(t.fault.name, t.index, t.seed) for t in first] == [(t.fault.name, t.index, t.seed) for t in again]
    assert [t.fault.name for t in first] != [t.fault.name for t in other]
    assert [t.fault.name for t in first] != sorted(t.fault.name for t in first)


def test_budgets_add_what_the_fault_withholds():
    assert backoff_bound(0) == 0 and backoff_bound(1) == pytest.approx(0.4)
    assert backoff_bound(3) == pytest.approx(0.4 + 0.6 + 1.0)  # 0.2*2**n + 0.2 jitter, at most 2 s apart
    [baseline] = by_name(["baseline"])
    assert FAST_PATH_BUDGET_S + baseline.extra_budget_s == FAST_PATH_BUDGET_S
    with pytest.raises(KeyError):
        by_name(["no-such-fault"])


def test_the_multi_topology_faults_run_on_their_own_lane_and_the_rest_stay_on_two_nodes():
    multi = {f.name: f for f in MATRIX if f.topology == "multi"}
    assert set(multi) == {
        "multi:holder-down",
        "multi:two-down",
        "multi:partial-write",
        "multi:ipv6-412",
        "multi:keepalived-kill",
    }
    assert all(f.driver == "emulator" for f in multi.values())
    assert {f.scenario for f in multi.values()} == {"multi", "keepalived_kill"}
    assert {f.topology for f in MATRIX if f.name not in multi} == {"two-node"}
    # Each VIP beyond the first adds its read, write and read-back; a partial write its retry deadline.
    assert multi["multi:holder-down"].extra_budget_s == pytest.approx(MULTI_GROUP_S)
    assert multi["multi:partial-write"].extra_budget_s == pytest.approx(MULTI_GROUP_S + RETRY_DEADLINE_S)
    counts = trial_counts(tuple(multi.values()), 60)
    assert sum(counts.values()) == 60 and counts["multi:partial-write"] < counts["multi:holder-down"]


def test_a_killed_keepalived_has_its_rows_on_both_topologies_within_the_fast_path_budget():
    kills = {f.name: f for f in MATRIX if f.scenario == "keepalived_kill"}
    assert {n: f.params["mode"] for n, f in kills.items()} == {
        "keepalived-kill": "peer-managed",
        "keepalived-kill:no-managed-peer": "no-managed-peer",
        "keepalived-kill:split-brain": "split-brain",
        "multi:keepalived-kill": "peer-managed",
    }
    # Nothing withheld: the peer's notice and one move (per VIP on the multi topology).
    assert {f.extra_budget_s for n, f in kills.items() if f.topology == "two-node"} == {0.0}
    assert kills["multi:keepalived-kill"].extra_budget_s == pytest.approx(MULTI_GROUP_S)
