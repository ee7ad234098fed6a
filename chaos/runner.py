"""Run a plan of trials on lanes in parallel processes and collect one record per trial.

Trials are dealt round-robin, in the plan's seeded order, to ``lanes`` worker processes (spawned,
so each starts clean). Each worker keeps one `Lane` per (failback policy, topology) its trials
need and runs them one after another; trials on one lane never overlap, so each is judged on its
own audit entries. A trial that breaks the harness itself (not the function) is recorded as an error with
its traceback rather than stopping the run.
"""

from __future__ import annotations

import random
import sys
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from chaos.faults import Fault, Trial, by_name
from chaos.invariants import Observation, check


def run_trials(trials: list[Trial], lanes: int, latency: Mapping[str, float]) -> list[dict[str, Any]]:
    """Every trial's record, in plan order. The emulator's trials run first, on parallel lanes;
    then the lab's, one at a time in the one lab this machine can hold (chaos.lab_driver)."""
    drivers = {t.fault.driver for t in trials} - {"emulator", "lab"}
    if drivers:
        raise ValueError(f"no driver for {sorted(drivers)}")
    emulator = [t for t in trials if t.fault.driver == "emulator"]
    shares = [[(t.fault.name, t.index, t.seed) for t in emulator[i::lanes]] for i in range(lanes)]
    records = []
    if emulator:
        with ProcessPoolExecutor(max_workers=lanes, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_lane, lane, share, dict(latency)) for lane, share in enumerate(shares) if share]
            records = [record for future in futures for record in future.result()]
    lab = [t for t in trials if t.fault.driver == "lab"]
    if lab:
        from chaos.lab_driver import run_lab_trials

        records += run_lab_trials(lab, latency)
    order = {(t.fault.name, t.index): n for n, t in enumerate(trials)}
    return sorted(records, key=lambda r: order[(r["fault"], r["index"])])


def judged(fault: Fault, observation: Observation) -> dict[str, Any]:
    """A trial record's verdict fields: which invariants held, writes, failures, convergence."""
    verdict = check(observation, fault.relaxed)
    return {
        "held": {str(n): ok for n, ok in verdict.held.items()},
        "writes": verdict.writes,
        "failures": verdict.failures,
        "convergence_s": verdict.convergence_s,
        "needless_moves": verdict.needless_moves,
        "exercised": observation.exercised,
        "notes": list(verdict.notes),
    }


def run_lane(lane_no: int, share: list[tuple[str, int, int]], latency: dict[str, float]) -> list[dict[str, Any]]:
    """Worker: run ``share`` on this process's lanes (one per failback policy and topology)."""
    from chaos.lane import Lane
    from chaos.scenarios import SCENARIOS

    lanes: dict[tuple[str, str], Lane] = {}
    records = []
    try:
        for done, (name, index, seed) in enumerate(share, start=1):
            fault = by_name([name])[0]
            started = time.monotonic()
            record: dict[str, Any] = {"fault": name, "index": index, "seed": seed, "lane": lane_no}
            try:
                key = (fault.policy, fault.topology)
                if key not in lanes:
                    lanes[key] = Lane(fault.policy, latency, fault.topology)
                observation = SCENARIOS[fault.scenario](lanes[key], fault, random.Random(seed))
                record.update(judged(fault, observation))
            except Exception:
                record["error"] = traceback.format_exc(limit=8)
            record["duration_s"] = round(time.monotonic() - started, 3)
            records.append(record)
            if done % 25 == 0 or done == len(share):
                print(f"chaos lane {lane_no}: {done}/{len(share)} trials", file=sys.stderr, flush=True)
    finally:
        for lane in lanes.values():
            lane.close()
    return records
