"""`python -m chaos`: run the fault matrix, write bench/reliability.json, print the table.

Exits 1 when any invariant was violated or a trial broke the harness, so `make chaos` fails
loudly. CHAOS_TRIALS / CHAOS_SEED in the environment set the defaults of --trials / --seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from chaos import faults, report
from chaos.runner import run_trials

REPO = Path(__file__).resolve().parents[1]
LATENCIES = {"realistic": faults.REALISTIC_LATENCY, "fast": faults.FAST_LATENCY}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=int(os.environ.get("CHAOS_TRIALS", 1000)),
                        help="total trials, shared over the faults by weight (default 1000)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", 8)))
    parser.add_argument("--lanes", type=int, default=8, help="parallel emulator lanes (processes)")
    parser.add_argument("--latency", choices=sorted(LATENCIES), default="realistic",
                        help="emulator answer latency per operation")
    parser.add_argument("--fault", action="append", dest="faults", metavar="NAME",
                        help="run only these faults (repeatable)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "reliability.json")
    args = parser.parse_args(argv)

    selected = faults.by_name(args.faults)
    trials = faults.plan(selected, args.trials, args.seed)
    started = time.monotonic()
    records = run_trials(trials, args.lanes, LATENCIES[args.latency])
    metadata = {
        "seed": args.seed, "trials_requested": args.trials, "lanes": args.lanes,
        "trial_counts": faults.trial_counts(selected, args.trials),
        "budgets_s": {"fast_path": faults.FAST_PATH_BUDGET_S,
                      "per_fault": {f.name: round(faults.FAST_PATH_BUDGET_S + f.extra_budget_s, 3) for f in selected}},
        "emulator_latency_s": dict(LATENCIES[args.latency]),
        "function_config": faults.FUNCTION_CONFIG,
        "duration_s": round(time.monotonic() - started, 1),
    }
    result = report.build(selected, records, metadata)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    with open(args.out.with_name(args.out.stem + "-trials.jsonl"), "w") as log:
        for record in records:
            log.write(json.dumps(record) + "\n")
    print(report.markdown(result))
    totals = result["totals"]
    print(f"\n{totals['trials']} trials in {metadata['duration_s']}s: {totals['violations']} violations, "
          f"{totals['harness_errors']} harness errors -> {args.out}", file=sys.stderr)
    return 0 if totals["violations"] == 0 and totals["harness_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
