"""`python -m chaos`: run the fault matrix, write bench/reliability.json, print the table.

Two levels: the emulator's (the real function, node health on loopback endpoints; --trials,
CHAOS_TRIALS, default 1000) and the lab's (real haproxy/keepalived in network namespaces;
--lab-trials, CHAOS_LAB_TRIALS, default 100, 0 skips it). The lab level is skipped, saying why,
where network namespaces cannot be created; it refuses to start while another lab is running.
A level that does not run keeps its earlier numbers in the output file.

Exits 1 when any invariant was violated or a trial broke the harness, so `make chaos` fails
loudly; 2 when the lab level cannot start because a lab is already running.
CHAOS_SEED sets the default of --seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaos import faults, lab_driver, report
from chaos.runner import run_trials

REPO = Path(__file__).resolve().parents[1]
LATENCIES = {"realistic": faults.REALISTIC_API_LATENCY, "fast": faults.FAST_LATENCY}
DRIVER = {f.name: f.driver for f in faults.MATRIX + faults.LAB_MATRIX}


def _level(
    selected: tuple[faults.Fault, ...],
    trials: list[faults.Trial],
    total: int,
    seed: int,
    latency: Mapping[str, float],
    lanes: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run one level's trials; its records and the run data written beside the table."""
    started = time.monotonic()
    records = run_trials(trials, lanes, latency)
    return records, {
        "seed": seed,
        "trials_requested": total,
        "trial_counts": faults.trial_counts(selected, total),
        "budgets_s": {
            "fast_path": faults.FAST_PATH_BUDGET_S,
            "per_fault": {f.name: round(faults.FAST_PATH_BUDGET_S + f.extra_budget_s, 3) for f in selected},
        },
        "emulator_latency_s": dict(latency),
        "duration_s": round(time.monotonic() - started, 1),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials",
        type=int,
        default=int(os.environ.get("CHAOS_TRIALS", 1000)),
        help="emulator-level trials in total, shared over the faults by weight (default 1000)",
    )
    parser.add_argument(
        "--lab-trials",
        type=int,
        default=int(os.environ.get("CHAOS_LAB_TRIALS", 100)),
        help="lab-level trials in total (real haproxy/keepalived; default 100, 0 skips)",
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", 8)))
    parser.add_argument("--lanes", type=int, default=8, help="parallel emulator lanes (processes)")
    parser.add_argument(
        "--latency",
        choices=sorted(LATENCIES),
        default="realistic",
        help="emulator answer latency per operation (both levels)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        dest="faults",
        metavar="NAME",
        help="run only these faults (repeatable; lab faults are named lab:KIND)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "reliability.json")
    return parser


def _lab_trials(args: argparse.Namespace, lab: tuple[faults.Fault, ...], metadata: dict[str, Any]) -> int | None:
    """The lab level's trial count: 0 when skipped (saying why), None when another lab is running."""
    lab_trials = args.lab_trials if lab else 0
    if not lab_trials:
        return 0
    skipped = lab_driver.unavailable()
    if skipped:
        print(f"chaos: the lab level is skipped: {skipped}", file=sys.stderr, flush=True)
        metadata["lab_skipped"] = skipped
        return 0
    if busy := lab_driver.busy():
        print(f"chaos: {busy}", file=sys.stderr)
        return None
    return lab_trials


def _write(out: Path, this_run: dict[str, Any], records: list[dict[str, Any]], kept: set[str]) -> dict[str, Any]:
    """Merge this run into the table at `out` (levels in `kept` keep their earlier numbers) and
    its trials into the log beside it; returns the merged table."""
    previous = json.loads(out.read_text()) if out.exists() else None
    result = report.merge(previous, this_run, kept)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    trials_log = out.with_name(out.stem + "-trials.jsonl")
    earlier = trials_log.read_text().splitlines() if trials_log.exists() else []
    kept_lines = [line for line in earlier if DRIVER.get(json.loads(line).get("fault")) in kept]
    trials_log.write_text("".join(line + "\n" for line in kept_lines + [json.dumps(r) for r in records]))
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    selected = faults.by_name(args.faults) if args.faults else faults.MATRIX + faults.LAB_MATRIX
    emulator = tuple(f for f in selected if f.driver == "emulator")
    lab = tuple(f for f in selected if f.driver == "lab")
    latency = LATENCIES[args.latency]
    metadata: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    lab_trials = _lab_trials(args, lab, metadata)
    if lab_trials is None:
        return 2
    if emulator and args.trials:
        level_records, level = _level(
            emulator, faults.plan(emulator, args.trials, args.seed), args.trials, args.seed, latency, args.lanes
        )
        records += level_records
        metadata.update(level, lanes=args.lanes, function_config=faults.FUNCTION_CONFIG)
    if lab_trials:
        level_records, level = _level(lab, faults.plan(lab, lab_trials, args.seed), lab_trials, args.seed, latency, 1)
        records += level_records
        metadata["lab"] = {**level, "client_rate_per_s": lab_driver.CLIENT_RATE}
    ran = {driver for driver, did in (("emulator", emulator and args.trials), ("lab", lab_trials)) if did}
    kept = {"emulator", "lab"} - ran
    this_run = report.build(tuple(f for f in selected if f.driver in ran), records, metadata)
    result = _write(args.out, this_run, records, kept)
    print(report.markdown(result))
    totals = this_run["totals"]
    print(
        f"\n{totals['trials']} trials run ({result['totals']['trials']} in the table): {totals['violations']} "
        f"violations, {totals['harness_errors']} harness errors -> {args.out}",
        file=sys.stderr,
    )
    return 0 if totals["violations"] == 0 and totals["harness_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
