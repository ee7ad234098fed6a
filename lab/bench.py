"""`make bench`: failover time per method, measured in the real lab in one run.

For each method (what keepalived's notify_master does; see lab/methods.py) and each fault
(haproxy stopped, keepalived killed, node link down), bounded trials: the client sends requests
at a fixed rate to the floating IP, the serving node is broken, and the trial records fault ->
first answer from the other node, failed requests and the emulator API calls made. The emulator
answers with REALISTIC_LATENCY, stated in the results. Also measured: the function's cold start,
warm call latency and peak RSS. Writes bench/results.json, bench/results.md and bench/failover.png.
On the multi topology's lab, the fast path through its IPv6 VIP and its route-target path too
(fast_path_ipv6, fast_path_route_target; `--methods` runs any of them by themselves).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy
import oci
import requests

from lab import cloud, control, machines, processes, trial
from lab import methods as methods_
from lab.plan import PYTHON, REPO, Node, Plan
from lab.rootfs import CACHE
from lab.shell import LabError
from lab.sources import DOWNLOAD_TIMEOUT_SECONDS
from lab.state import METHODS, LabState

BENCH_DIR = REPO / "bench"
NODE_WHEELS = "/var/cache/vip-bench/wheels"  # the oci CLI's wheels, copied into a booted node
FAULTS = ("haproxy-stop", "keepalived-kill", "link-down")
# Seconds the emulator waits before answering, per operation: OCI's order of magnitude as seen
# from inside a region (reads ~0.1 s; UpdatePrivateIp "on the order of a second"; Functions
# invoke of a hot function adds ~0.1 s). Unlisted operations answer at once.
REALISTIC_LATENCY = {
    "GetPrivateIp": 0.1,
    "ListPrivateIps": 0.1,
    "GetVnic": 0.1,
    "GetPublicIpByPrivateIpId": 0.1,
    "ListVnicAttachments": 0.1,
    "GetInstance": 0.1,
    "UpdatePrivateIp": 0.8,
    "InvokeFunction": 0.1,
}
# The alarm path acts on a node that is down; a node whose keepalived died still serves, so
# there is nothing for the alarm to see. Its trials take minutes (1-minute metrics, PT1M pending).
ALARM_FAULTS = ("haproxy-stop", "link-down")
# The route-target path's client runs the whole trial (every answer comes from behind the pair).
TRIAL_TIMEOUT_SECONDS = {"alarm_path": 300.0, "fast_path_route_target": 8.0}
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
    return {
        "min": round(min(values), 3),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "max": round(max(values), 3),
    }


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


# The fast path through the multi topology's other targets (lab/trial.py TARGETS), each a method
# of bench/results.json of its own: the IPv6 VIP, and the route-target path (fault -> the first
# answer through the new holder of the route rule's target IP).
TARGET_METHODS = {"fast_path_ipv6": "vip6", "fast_path_route_target": "route-target"}
BENCH_METHODS = (*METHODS, *TARGET_METHODS)


def bench_labs(methods: list[str], booted: bool) -> Generator[tuple[str, LabState], None, None]:
    """(method, its lab) for each method given: the two-node lab's (`method_labs`) first, then
    the multi topology's fast-path targets on one lab of that topology."""
    classic = [m for m in methods if m in METHODS]
    if classic:
        for state in method_labs(classic, booted):
            yield state.method, state
    targets = [m for m in methods if m in TARGET_METHODS]
    if not targets:
        return
    control.up("fast_path", latency=REALISTIC_LATENCY, booted=booted, topology_name="multi")
    try:
        state = LabState.load(control.default_plan())
        for method in targets:
            cloud.set_latency(state.emulator["endpoint"], REALISTIC_LATENCY)
            yield method, state
    finally:
        control.down()


def method_labs(methods: list[str], booted: bool) -> Iterator[LabState]:
    """Each method's lab, in the order given. Booted (the default): one lab of machines booted
    from terraform's cloud-init, each method put in place inside the nodes as its users would
    (`use_method`). `--processes`: a lab of host processes per method, its notify rendered in."""
    plan = control.default_plan()
    if not booted:
        for method in methods:
            alarm = method == "alarm_path"
            control.up(
                method,
                agents=alarm,
                clock_scale=ALARM_CLOCK_SCALE if alarm else 1.0,
                latency=REALISTIC_LATENCY,
                booted=False,
            )
            try:
                yield LabState.load(plan)
            finally:
                control.down(plan)
        return
    wheels = oci_cli_wheelhouse() if "oci_cli" in methods else None
    control.up("fast_path", clock_scale=ALARM_CLOCK_SCALE, latency=REALISTIC_LATENCY)
    try:
        state = LabState.load(plan)
        if "floor" in methods:
            processes.spawn(
                [str(PYTHON), "-m", "lab.floor_route", str(plan.run_dir)],
                plan.path(None, "floor-route.log"),
                plan.path(None, "floor-route.pid"),
            )
        deployed = {node.name: node_file(plan, node, methods_.KEEPALIVED_CONF).read_text() for node in plan.nodes}
        install_baselines(state, methods, wheels)
        for method in methods:
            cloud.set_latency(state.emulator["endpoint"], REALISTIC_LATENCY)  # measure_function resets it
            yield use_method(state, method, deployed)
    finally:
        control.down(plan)


def node_file(plan: Plan, node: Node, path: str) -> Path:
    """A file of a booted node's own filesystem, as the host sees it."""
    return machines.root(plan, node) / path.lstrip("/")


def write_node_file(plan: Plan, node: Node, path: str, content: str, mode: int) -> None:
    target = node_file(plan, node, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)


def oci_cli_pin() -> str:
    """The oci command-line client at the version the project pins (requirements-dev.txt)."""
    return next(
        line.split("#")[0].strip()
        for line in (REPO / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("oci-cli==")
    )


def oci_cli_wheelhouse() -> Path:
    """oci_cli_pin()'s wheels, downloaded once (log beside them): what an ocivip user
    pip-installs on a node."""
    pin = oci_cli_pin()
    target = CACHE / f"wheels-{pin.replace('==', '-')}"
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    log = target.with_name(target.name + ".log")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with open(log, "ab") as out:
        done = subprocess.run(
            [str(PYTHON), "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(partial), pin],
            stdout=out,
            stderr=out,
            timeout=DOWNLOAD_TIMEOUT_SECONDS,
            check=False,
        )
    if done.returncode != 0:
        raise LabError(f"pip download of {pin} failed; see {log}")
    partial.rename(target)
    return target


def install_baselines(state: LabState, methods: list[str], wheels: Path | None) -> None:
    """What the baselines' users install on each node once: the API key config they sign with
    (the emulator's user key) and, for oci_cli, the oci command-line client in a venv of its own."""
    plan = state.plan
    host_config = Path(state.emulator["oci_config_file"])
    key = next(line.split("=", 1)[1] for line in host_config.read_text().splitlines() if line.startswith("key_file="))
    for node in plan.nodes:
        write_node_file(plan, node, methods_.NODE_OCI_CONFIG, methods_.node_oci_config(host_config.read_text()), 0o600)
        write_node_file(plan, node, methods_.NODE_OCI_KEY, Path(key).read_text(), 0o600)
    if wheels is None:
        return

    def install(node: Node) -> None:
        shutil.copytree(wheels, node_file(plan, node, NODE_WHEELS), dirs_exist_ok=True)
        venv = methods_.OCI_CLI_VENV
        machines.run_in(plan, node, "python3", "-m", "venv", venv, timeout=120)
        machines.run_in(
            plan,
            node,
            f"{venv}/bin/pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            NODE_WHEELS,
            oci_cli_pin(),
            timeout=600,
        )

    with ThreadPoolExecutor(len(plan.nodes)) as pool:
        list(pool.map(install, plan.nodes))


def use_method(state: LabState, method: str, deployed: dict[str, str]) -> LabState:
    """Put `method` in place on every booted node: its files, keepalived.conf with its notify
    (the deployed one for the fast path), and `systemctl reload keepalived` inside the machine."""
    plan = state.plan
    control.heal(plan)
    seed = (REPO / "lab" / "seed_notify.py").read_text()
    for node in plan.nodes:
        change = methods_.node_change(
            method,
            deployed[node.name],
            control_ip=plan.control_ip,
            endpoint=state.emulator["endpoint"],
            vip_private_ip_id=state.facts.vip_private_ip_id,
            vnic_id=state.facts.vnic_ids[node.name],
            cloud_vip=plan.cloud_vip,
            seed_script=seed,
        )
        for file in change.files:
            write_node_file(plan, node, file.path, file.content, file.mode)
        write_node_file(plan, node, methods_.KEEPALIVED_CONF, change.keepalived_conf, 0o644)
        machines.systemctl(plan, node, "reload", "keepalived")
    used = dataclasses.replace(state, method=method)
    used.save()
    return used


def run_method(
    state: LabState, faults: tuple[str, ...], trials: int, rate: float, log: Any, name: str | None = None
) -> tuple[list[trial.TrialResult], dict[str, Any] | None]:
    """Every trial of one method (`name`: a bench method, default the lab's) in its lab; for the
    fast path also the function."""
    method = name or state.method
    target = TARGET_METHODS.get(method, "vip")
    results = []
    function = None
    for fault in faults:
        for index in range(trials):
            trial.resync(state)
            timeout = TRIAL_TIMEOUT_SECONDS.get(method, DEFAULT_TRIAL_TIMEOUT_SECONDS)
            result = trial.run_trial(state, fault, timeout=timeout, rate=rate, target=target)
            results.append(result)
            print(
                json.dumps(
                    {
                        "method": method,
                        "target": target,
                        "fault": fault,
                        "trial": index + 1,
                        "from": result.from_node,
                        "failover_s": result.failover_s,
                        "failed_requests": result.failed_requests,
                        "api_calls": result.api_calls,
                    }
                ),
                file=log,
                flush=True,
            )
    if method == "fast_path":
        trial.resync(state)  # both nodes healthy: the function's probes answer at once
        function = measure_function(state)  # after the trials: its calls stay out of them
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
    cold = [
        startup[e["pid"]] + e["seconds"]
        for e in container_log(state, "function container first call")
        if e["pid"] in startup
    ]
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
    rows = [
        "| method | p50 s | p95 s | min s | max s | failed over | failed requests | API calls/trial | measured |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, r in results.items():
        cells = [r[k] if r[k] is not None else "-" for k in ("p50", "p95", "min", "max")]
        rows.append(
            f"| {method} | {' | '.join(map(str, cells))} | {r['failed_over']}/{r['trials']} | "
            f"{r['failed_requests']} | {r['api_calls_per_trial']} | {r.get('measured_at', '-')} |"
        )
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


DEFAULT_METHODS = ["floor", "fast_path", "seed_script", "oci_cli", "alarm_path", *TARGET_METHODS]


def merged(previous: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """bench/results.json after a run that measured `measured` (each entry stamped with when):
    a run of some methods only replaces those, the others stay with their own stamp (pure)."""
    return {**{m: r for m, r in previous.items() if m not in measured}, **measured}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.bench", description=__doc__)
    parser.add_argument("--trials", type=int, default=10, help="trials per method and fault")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=BENCH_METHODS,
        default=DEFAULT_METHODS,
        help="what to measure (default: all); fast_path_ipv6 and fast_path_route_target run the fast path on "
        "the multi topology's lab, through its IPv6 VIP and its route-target path; a run of some methods only "
        "replaces their entries of results.json (each says when it was measured) and appends to trials.jsonl",
    )
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--alarm-trials", type=int, default=1, help="trials per fault for alarm_path (minutes each)")
    parser.add_argument("--rate", type=float, default=trial.RATE_PER_SECOND, help="client requests per second")
    parser.add_argument("--out", type=Path, default=BENCH_DIR)
    parser.add_argument(
        "--processes",
        action="store_true",
        help="nodes as host processes, a lab per method (development), instead of booted machines",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    complete = set(args.methods) >= set(DEFAULT_METHODS)
    results_file = args.out / "results.json"
    previous = json.loads(results_file.read_text()) if results_file.exists() and not complete else {}
    results: dict[str, Any] = {}
    all_results: dict[str, list[trial.TrialResult]] = {}
    labs = bench_labs(args.methods, not args.processes)
    with open(args.out / "trials.jsonl", "w" if complete else "a") as log, closing(labs):
        for method, state in labs:
            alarm = method == "alarm_path"
            faults = tuple(f for f in args.faults if f in ALARM_FAULTS) if alarm else tuple(args.faults)
            trials = args.alarm_trials if alarm else args.trials
            print(f"bench: {method} ({trials} trials x {len(faults)} faults)", file=sys.stderr, flush=True)
            method_results, function = run_method(state, faults, trials, args.rate, log, method)
            all_results[method] = method_results
            results[method] = summarise_method(method_results, args.rate, ALARM_CLOCK_SCALE if alarm else 1.0)
            results[method]["nodes"] = "booted" if state.booted else "processes"
            results[method]["topology"] = state.plan.topology
            results[method]["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            if function:
                results[method]["function"] = function
            results_file.write_text(json.dumps(merged(previous, results), indent=2) + "\n")
    every = merged(previous, results)
    (args.out / "results.md").write_text(markdown(every))
    if complete:  # the chart shows one run's trials: only a run of every method replaces it
        chart(results, all_results, args.out / "failover.png")
    print(markdown(every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
