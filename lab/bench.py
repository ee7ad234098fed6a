"""`make bench`: failover time per method, measured in the real lab in one run.

For each method (what keepalived's notify_master does; see lab/methods.py) and each fault
(haproxy stopped, keepalived killed, node link down), bounded trials: the client sends requests
at a fixed rate to the floating IP, the serving node is broken, and the trial records fault ->
first answer from the other node, failed requests and the emulator API calls made. The emulator
answers with REALISTIC_LATENCY, stated in the results. Also measured: the function's cold start,
warm call latency and peak RSS. Writes bench/results.json, bench/results.md and bench/failover.png.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy
import oci
import requests

from lab import control, trial
from lab.plan import REPO
from lab.state import METHODS, LabState

BENCH_DIR = REPO / "bench"
FAULTS = ("haproxy-stop", "keepalived-kill", "link-down")
# Seconds the emulator waits before answering, per operation: OCI's order of magnitude as seen
# from inside a region (reads ~0.1 s; UpdatePrivateIp "on the order of a second"; Functions
# invoke of a hot function adds ~0.1 s). Unlisted operations answer at once.
REALISTIC_LATENCY = {
    "GetPrivateIp": 0.1, "ListPrivateIps": 0.1, "GetVnic": 0.1, "GetPublicIpByPrivateIpId": 0.1,
    "ListVnicAttachments": 0.1, "GetInstance": 0.1, "UpdatePrivateIp": 0.8, "InvokeFunction": 0.1,
}
# The alarm path acts on a node that is down; a node whose keepalived died still serves, so
# there is nothing for the alarm to see. Its trials take minutes (1-minute metrics, PT1M pending).
ALARM_FAULTS = ("haproxy-stop", "link-down")
TRIAL_TIMEOUT_SECONDS = {"alarm_path": 300.0}
DEFAULT_TRIAL_TIMEOUT_SECONDS = 20.0
# The node agents run on the wall clock in their own processes, so the emulator's clock is not
# scaled in the lab: emulated time = wall time for the alarm path here.
ALARM_CLOCK_SCALE = 1.0
WARM_CALLS = 20


def stats(values: list[float]) -> dict[str, float | None]:
    """min/p50/p95/max, seconds rounded to ms; None when nothing was measured (pure)."""
    if not values:
        return {"min": None, "p50": None, "p95": None, "max": None}
    p50, p95 = numpy.percentile(values, [50, 95])
    return {"min": round(min(values), 3), "p50": round(float(p50), 3), "p95": round(float(p95), 3),
            "max": round(max(values), 3)}


def summarise_method(results: list[trial.TrialResult], rate: float, clock_scale: float = 1.0) -> dict[str, Any]:
    """One method's object of bench/results.json (pure)."""
    times = [r.failover_s for r in results if r.failover_s is not None]
    calls: dict[str, int] = {}
    for result in results:
        for operation, count in result.api_calls.items():
            calls[operation] = calls.get(operation, 0) + count
    per_fault = {}
    for fault in dict.fromkeys(r.fault for r in results):
        subset = [r for r in results if r.fault == fault]
        per_fault[fault] = {
            **stats([r.failover_s for r in subset if r.failover_s is not None]),
            "trials": len(subset),
            "failed_over": sum(1 for r in subset if r.ok),
            "failed_requests": sum(r.failed_requests for r in subset),
        }
    return {
        **stats(times),
        "trials": len(results),
        "failed_over": len(times),
        "failed_requests": sum(r.failed_requests for r in results),
        "requests": sum(r.requests for r in results),
        "api_calls": sum(calls.values()),
        "api_calls_per_trial": round(sum(calls.values()) / len(results), 2) if results else None,
        "api_calls_by_operation": calls,
        "emulator_latency_s": REALISTIC_LATENCY,
        "client_rate_per_s": rate,
        "emulator_clock_scale": clock_scale,
        "per_fault": per_fault,
    }


def run_method(method: str, faults: tuple[str, ...], trials: int, rate: float,
               log: Any) -> tuple[list[trial.TrialResult], dict[str, Any] | None]:
    """Every trial of one method in a lab of its own; for the fast path also the function."""
    alarm = method == "alarm_path"
    # Host processes, not booted nodes: every method must run in the same kind of lab, and the
    # methods other than the fast path replace keepalived's notify, which a booted node takes
    # from terraform's cloud-init (docs/lab.md).
    control.up(method, agents=alarm, clock_scale=ALARM_CLOCK_SCALE if alarm else 1.0, latency=REALISTIC_LATENCY,
               booted=False)
    state = LabState.load(control.default_plan())
    results = []
    function = None
    try:
        for fault in faults:
            for index in range(trials):
                trial.resync(state)
                result = trial.run_trial(state, fault, timeout=TRIAL_TIMEOUT_SECONDS.get(method, DEFAULT_TRIAL_TIMEOUT_SECONDS),
                                         rate=rate)
                results.append(result)
                print(json.dumps({"method": method, "fault": fault, "trial": index + 1, "from": result.from_node,
                                  "failover_s": result.failover_s, "failed_requests": result.failed_requests,
                                  "api_calls": result.api_calls}), file=log, flush=True)
        if method == "fast_path":
            trial.resync(state)  # both nodes healthy: the function's probes answer at once
            function = measure_function(state)  # after the trials: its calls stay out of them
    finally:
        control.down(state.plan)
    return results, function


def measure_function(state: LabState) -> dict[str, Any]:
    """Cold start, warm latency and peak RSS of the function as the emulator runs it under fdk.

    Warm: sequential status calls with the emulator's API latency at zero, so what is left is
    the Functions hop, fdk and the function's own work (including its two health probes).
    Cold: a new fdk process's start to its listening socket plus its first call (imports and
    client setup), both logged by the emulator for every container: what a caller arriving as
    the container starts waits."""
    emulator = state.emulator
    requests.delete(f"{emulator['endpoint']}/_admin/faults", timeout=5).raise_for_status()
    config = oci.config.from_file(emulator["oci_config_file"], emulator["oci_profile"])
    client = oci.functions.FunctionsInvokeClient(config, service_endpoint=emulator["endpoint"])
    function_id = emulator["functions"][state.facts.function_name]
    body = json.dumps({"action": "status"})

    def call() -> float:
        started = time.monotonic()
        client.invoke_function(function_id, invoke_function_body=body)
        return time.monotonic() - started

    warm = [call() for _ in range(WARM_CALLS)]
    startup = {e["pid"]: e["startup_s"] for e in container_log(state, "function container started")}
    cold = [startup[e["pid"]] + e["seconds"] for e in container_log(state, "function container first call")
            if e["pid"] in startup]
    return {"warm_call_s": stats(warm), "cold_start_s": stats(cold), "peak_rss_mb": peak_rss_mb(state)}


def container_log(state: LabState, event: str) -> list[dict[str, Any]]:
    """The emulator's log entries of one kind about the fdk processes it ran in this lab."""
    lines = state.plan.path(None, "emulator.log").read_text().splitlines()
    return [e for e in trial.parse_log(lines) if e.get("event") == event]


def peak_rss_mb(state: LabState) -> float | None:
    """Largest VmHWM among the function's fdk processes (from the emulator's log)."""
    peaks = []
    for entry in container_log(state, "function container started"):
        try:
            status = Path(f"/proc/{entry['pid']}/status").read_text()
        except OSError:
            continue
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return round(max(peaks), 1) if peaks else None


def markdown(results: dict[str, Any]) -> str:
    """The README table: one row per method, failover seconds and what each cost."""
    rows = ["| method | p50 s | p95 s | min s | max s | failed over | failed requests | API calls/trial |",
            "|---|---|---|---|---|---|---|---|"]
    for method, r in results.items():
        cells = [r[k] if r[k] is not None else "-" for k in ("p50", "p95", "min", "max")]
        rows.append(f"| {method} | {' | '.join(map(str, cells))} | {r['failed_over']}/{r['trials']} | "
                    f"{r['failed_requests']} | {r['api_calls_per_trial']} |")
    return "\n".join(rows) + "\n"


def chart(results: dict[str, Any], all_results: dict[str, list[trial.TrialResult]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    methods = [m for m in results if any(r.ok for r in all_results[m])]
    figure, axes = pyplot.subplots(figsize=(9, 4.5))
    data = [[r.failover_s for r in all_results[m] if r.ok] for m in methods]
    axes.boxplot(data, tick_labels=methods, showfliers=True)
    for x, values in enumerate(data, start=1):
        axes.scatter([x] * len(values), values, s=10, alpha=0.5)
    axes.set_yscale("log")  # the alarm path takes minutes, the others seconds
    axes.set_ylabel("fault -> first answer from the other node (s, log scale)")
    axes.set_title("Failover time in the lab (haproxy stopped, keepalived killed, link down)")
    axes.grid(axis="y", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.bench", description=__doc__)
    parser.add_argument("--trials", type=int, default=10, help="trials per method and fault")
    parser.add_argument("--methods", nargs="+", choices=METHODS,
                        default=["floor", "fast_path", "seed_script", "oci_cli", "alarm_path"])
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--alarm-trials", type=int, default=1, help="trials per fault for alarm_path (minutes each)")
    parser.add_argument("--rate", type=float, default=trial.RATE_PER_SECOND, help="client requests per second")
    parser.add_argument("--out", type=Path, default=BENCH_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    all_results: dict[str, list[trial.TrialResult]] = {}
    with open(args.out / "trials.jsonl", "w") as log:
        for method in args.methods:
            alarm = method == "alarm_path"
            faults = tuple(f for f in args.faults if f in ALARM_FAULTS) if alarm else tuple(args.faults)
            trials = args.alarm_trials if alarm else args.trials
            print(f"bench: {method} ({trials} trials x {len(faults)} faults)", file=sys.stderr, flush=True)
            method_results, function = run_method(method, faults, trials, args.rate, log)
            all_results[method] = method_results
            results[method] = summarise_method(method_results, args.rate, ALARM_CLOCK_SCALE if alarm else 1.0)
            if function:
                results[method]["function"] = function
            (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    chart(results, all_results, args.out / "failover.png")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
