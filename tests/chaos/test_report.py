"""bench/reliability.json's shape (the fixed interface `make chaos` writes) and the table, from made-up records."""

from chaos.faults import by_name
from chaos.invariants import INVARIANTS
from chaos.report import build, markdown, merge, percentile


def record(fault, writes=1, failures=1, took=1.0, broken=(), error=None):
    if error:
        return {"fault": fault, "index": 0, "error": error}
    return {
        "fault": fault,
        "index": 0,
        "held": {str(n): n not in broken for n in INVARIANTS},
        "writes": writes,
        "failures": failures,
        "convergence_s": took,
        "needless_moves": 0,
        "notes": [],
    }


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (10.0, 19.0, 20.0)
    assert percentile([], 50) is None


def test_reliability_json_has_the_accepted_shape():
    faults = by_name(["baseline", "split-brain", "probe-unknown+split-brain"])
    records = [
        record("baseline", took=0.5),
        record("baseline", took=1.5, broken=(3,)),
        record("split-brain", writes=0, failures=0, took=0.0),
        record("split-brain", error="Traceback"),
    ]
    result = build(faults, records, {"seed": 8})
    assert result["seed"] == 8 and result["totals"] == {"trials": 4, "violations": 1, "harness_errors": 1}
    baseline = result["faults"]["baseline"]
    assert {"trials", "violations", "max_writes_per_failure", "convergence_s"} <= set(baseline)
    assert baseline["trials"] == 2
    assert baseline["violations"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 0, "6": 0, "7": 0}
    assert baseline["max_writes_per_failure"] == 1 and baseline["convergence_s"] == {"p50": 0.5, "p95": 1.5, "max": 1.5}
    assert result["faults"]["split-brain"]["harness_errors"] == 1
    empty = result["faults"]["probe-unknown+split-brain"]
    assert empty["trials"] == 0 and empty["convergence_s"]["p50"] is None and "2" in empty["relaxed"]
    table = markdown(result)
    assert "violations (1-7)" in table
    assert "| baseline | 2 | 2 | 0 0 1 0 0 0 0 | 1.00 | 0.50 / 1.50 / 1.50 |" in table
    assert "probe-unknown+split-brain*" in table


def test_a_level_that_did_not_run_keeps_its_earlier_rows_and_run_data():
    emulator_run = build(by_name(["baseline"]), [record("baseline")], {"seed": 8, "duration_s": 300})
    lab_run = build(
        by_name(["lab:crash"]), [record("lab:crash", broken=(3,))], {"lab": {"seed": 3, "trials_requested": 1}}
    )
    merged = merge(emulator_run, lab_run, kept={"emulator"})
    assert list(merged["faults"]) == ["baseline", "lab:crash"] and merged["seed"] == 8
    assert merged["lab"] == {"seed": 3, "trials_requested": 1}
    assert merged["totals"] == {"trials": 2, "violations": 1, "harness_errors": 0}
    rerun = merge(merged, build(by_name(["split-brain"]), [record("split-brain")], {"seed": 9}), kept={"lab"})
    assert list(rerun["faults"]) == ["split-brain", "lab:crash"] and rerun["seed"] == 9 and rerun["lab"]["seed"] == 3
    assert merge(None, lab_run, kept={"emulator"}) == lab_run and merge(merged, lab_run, kept=set()) == lab_run


def test_an_earlier_row_without_invariant_7_shows_it_as_not_run():
    """bench/reliability.json's rows from before invariant 7 have no key "7": not a zero."""
    earlier = build(by_name(["baseline"]), [record("baseline", broken=(7,))], {"seed": 8})
    del earlier["faults"]["baseline"]["violations"]["7"]
    merged = merge(earlier, build(by_name(["split-brain"]), [record("split-brain", broken=(7,))], {}), {"emulator"})
    table = markdown(merged)
    assert "| baseline | 1 | 1 | 0 0 0 0 0 0 - |" in table and "| split-brain | 1 | 1 | 0 0 0 0 0 0 1 |" in table
    assert merged["totals"]["violations"] == 1
