"""`make bench`: failover time per method and per fault, measured in the real lab in one run.

For each method (what keepalived's notify_master does; see lab/methods.py) and each fault
(haproxy stopped, keepalived killed, node link down, node crashed), bounded trials: the client
sends requests at a fixed rate to the floating IP, the serving node is broken, and the trial
records fault -> first answer from the other node, failed requests and the emulator API calls
made. The emulator runs OCI's `realistic` timing profile (function cold starts, instance-metadata
and federation latency; docs/emulator.md "Cold starts and token latency") and answers API calls
with REALISTIC_API_LATENCY; the results state both as the emulator reported them. The fast path is a
method per configuration (FUNCTION_MODES): `fast_path` is the default configuration (terraform's
fast_path_mode, "direct": the node agent moves the IP, no function called) with the function left
cold; `fast_path_cold`, `fast_path_warm` and `fast_path_provisioned` run fast_path_mode "function"
with the function cold, kept warm, or provisioned.
The baselines sign with instance principals under the grant each documents, in a lab of their
own (LabSetup). Also measured: the function's cold start, warm call latency and peak RSS.
Writes results.json, results.md and failover.png (`--out`, default bench/). On the multi
topology's lab, the fast path through its IPv6 VIP and its route-target path too
(fast_path_ipv6, fast_path_route_target; `--methods` runs any of them by themselves).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
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
from ocisim.faults import REALISTIC_API_LATENCY

BENCH_DIR = REPO / "bench"
NODE_WHEELS = "/var/cache/vip-bench/wheels"  # the oci CLI's wheels, copied into a booted node
FAULTS = ("haproxy-stop", "keepalived-kill", "link-down", "crash")
# The emulator's timing profile for every bench lab: cold starts after 30 s idle (17 s delay),
# 0.005 s per IMDS request, 0.3 s per federation (ocisim; sources in docs/emulator.md).
PROFILE = "realistic"
# The alarm path acts on a node that is down (its peer's probes fail): a node whose keepalived
# died still serves, so there is nothing for the alarm to see. Its trials take minutes
# (1-minute metrics, PT1M pending).
ALARM_FAULTS = ("haproxy-stop", "link-down", "crash")
# How each fast-path method meets the function (docs/emulator.md "Cold starts and token
# latency"). cold: idled out before every trial, as after any quiet spell longer than the idle
# timeout (nothing keeps it warm); warm: called right before the fault, once per node that
# notifies (the new MASTER and the one that let go); provisioned: the topology's
# provisionedConcurrencyConfig keeps containers hot. `fast_path` (DEFAULT_CONFIGURATION) is the
# default configuration: terraform's default fast_path_mode, the function left cold as a
# deployment finds it; the others run fast_path_mode "function", so the function is on their
# path. The IPv6 VIP and the route-target path meet a warm function: they measure what those
# paths add (NDP, the route's next hop), not the cold start `fast_path_cold` measures.
FUNCTION_MODES = {
    "fast_path": "cold",
    "fast_path_cold": "cold",
    "fast_path_warm": "warm",
    "fast_path_provisioned": "provisioned",
    "fast_path_ipv6": "warm",
    "fast_path_route_target": "warm",
}
DEFAULT_CONFIGURATION = "fast_path"  # the one method deployed in terraform's default fast_path_mode
WARM_CONTAINERS = 2  # the new MASTER's notice and the old holder's, at once
# Containers kept hot: the two notices of a failover at once. OCI counts PCUs, at least 20 at
# the function's 256 MB; the emulator counts containers and does not enforce that minimum.
PROVISIONED = {"strategy": "CONSTANT", "count": WARM_CONTAINERS}
# A trial lasts until the other node answers or this; a cold function adds its delay.
DEFAULT_TRIAL_TIMEOUT_SECONDS = 20.0
COLD_TRIAL_TIMEOUT_SECONDS = 45.0
ALARM_TRIAL_TIMEOUT_SECONDS = 300.0
# The node agents run on the wall clock in their own processes, so the emulator's clock is not
# scaled in the lab: emulated time = wall time for the alarm path here.
ALARM_CLOCK_SCALE = 1.0
WARM_CALLS = 20


def trial_timeout(method: str) -> float:
    """Seconds one trial of `method` may take (pure)."""
    if method == "alarm_path":
        return ALARM_TRIAL_TIMEOUT_SECONDS
    return COLD_TRIAL_TIMEOUT_SECONDS if FUNCTION_MODES.get(method) == "cold" else DEFAULT_TRIAL_TIMEOUT_SECONDS


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


def function_calls(results: list[trial.TrialResult]) -> dict[str, int]:
    """The function calls the trials saw, cold (a container started for it) and warm (pure)."""
    calls = [e for r in results for e in r.emulator_log if e.get("event") == "function.invoke"]
    cold = sum(1 for e in calls if e.get("cold"))
    return {"cold": cold, "warm": len(calls) - cold}


def summarise_method(
    results: list[trial.TrialResult],
    rate: float,
    *,
    latency: dict[str, float],
    cold_start_delay_s: float,
    clock_scale: float = 1.0,
) -> dict[str, Any]:
    """One method's object of results.json (pure). `latency`: the emulator's per-operation
    latency in force; `cold_start_delay_s`: its modeled cold-start delay, stated as the method's
    `cold_start_s` when its trials met a cold function (0 when every call was warm)."""
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
    function = function_calls(results)
    return {
        **stats(times),
        "trials": len(results),
        "failed_over": len(times),
        "failed_requests": sum(r.failed_requests for r in results),
        "requests": sum(r.requests for r in results),
        "api_calls": sum(calls.values()),
        "api_calls_per_trial": round(sum(calls.values()) / len(results), 2) if results else None,
        "api_calls_by_operation": calls,
        "function_calls": function,
        "emulator_latency_s": latency,
        "cold_start_s": cold_start_delay_s if function["cold"] else 0.0,
        "client_rate_per_s": rate,
        "emulator_clock_scale": clock_scale,
        "per_fault": per_fault,
    }


# The fast path through the multi topology's other targets (lab/trial.py TARGETS), each a method
# of results.json of its own: the IPv6 VIP, and the route-target path (fault -> the first
# answer through the new holder of the route rule's target IP).
TARGET_METHODS = {"fast_path_ipv6": "vip6", "fast_path_route_target": "route-target"}
FAST_PATH_MODES = tuple(m for m in FUNCTION_MODES if m != DEFAULT_CONFIGURATION and m not in TARGET_METHODS)
BENCH_METHODS = (*METHODS, *FAST_PATH_MODES, *TARGET_METHODS)


def lab_method(method: str) -> str:
    """The lab method (lab/state.py METHODS) a bench method runs as: every fast-path mode is
    the deployed fast path (pure)."""
    return "fast_path" if method in FUNCTION_MODES else method


@dataclass(frozen=True)
class LabSetup:
    """What a bench lab is booted with: methods with the same setup share one lab."""

    topology: str
    emulator: cloud.EmulatorSetup
    fast_path_mode: str  # terraform's, as `lab up --fast-path-mode` deploys it


def lab_setup(method: str) -> LabSetup:
    """The lab a method is measured in (pure): the multi topology for the other targets; the
    topology's provisioned concurrency for fast_path_provisioned; terraform's default
    fast_path_mode for `fast_path` (the nodes' grants, agents' configuration and firewall as it
    deploys them), "function" for every other method, so none runs with the nodes' move grants
    of direct mode; a baseline's documented grant (lab/methods.py BASELINE_VERBS) in a lab of that
    baseline only, so no method runs with another's rights; the deployed policies otherwise."""
    topology = "multi" if method in TARGET_METHODS else "two-node"
    keys = (("provisionedConcurrencyConfig", PROVISIONED),) if FUNCTION_MODES.get(method) == "provisioned" else ()
    emulator = cloud.EmulatorSetup(PROFILE, methods_.baseline_policy_tf(method), keys)
    return LabSetup(topology, emulator, cloud.DEFAULT_FAST_PATH_MODE if method == DEFAULT_CONFIGURATION else "function")


def lab_groups(methods: list[str]) -> list[tuple[LabSetup, list[str]]]:
    """The methods by the lab they need, each lab in the order its first method was given (pure)."""
    groups: list[tuple[LabSetup, list[str]]] = []
    for method in methods:
        setup = lab_setup(method)
        same = next((group for other, group in groups if other == setup), None)
        if same is None:
            groups.append((setup, [method]))
        else:
            same.append(method)
    return groups


def bench_labs(methods: list[str], booted: bool) -> Generator[tuple[str, LabState], None, None]:
    """(method, its lab) for each method given, a lab per LabSetup. Booted (the default):
    machines booted from terraform's cloud-init, each method put in place inside the nodes as
    its users would (`use_method`). `--processes`: a lab of host processes per method, its
    notify rendered in."""
    for setup, group in lab_groups(methods):
        if not booted:
            for method in group:
                alarm = method == "alarm_path"
                control.up(
                    lab_method(method),
                    agents=alarm,
                    clock_scale=ALARM_CLOCK_SCALE if alarm else 1.0,
                    latency=REALISTIC_API_LATENCY,
                    booted=False,
                    topology_name=setup.topology,
                    emulator=setup.emulator,
                    fast_path_mode=setup.fast_path_mode,
                )
                plan = control.default_plan()  # the layout `up` saved: the setup's topology
                try:
                    yield method, LabState.load(plan)
                finally:
                    control.down(plan)
            continue
        wheels = oci_cli_wheelhouse() if "oci_cli" in group else None
        control.up(
            "fast_path",
            clock_scale=ALARM_CLOCK_SCALE,
            latency=REALISTIC_API_LATENCY,
            topology_name=setup.topology,
            emulator=setup.emulator,
            fast_path_mode=setup.fast_path_mode,
        )
        plan = control.default_plan()
        try:
            state = LabState.load(plan)
            if "floor" in group:
                processes.spawn(
                    [str(PYTHON), "-m", "lab.floor_route", str(plan.run_dir)],
                    plan.path(None, "floor-route.log"),
                    plan.path(None, "floor-route.pid"),
                )
            deployed = {node.name: node_file(plan, node, methods_.KEEPALIVED_CONF).read_text() for node in plan.nodes}
            install_baselines(state, wheels)
            for method in group:
                cloud.set_latency(state.emulator["endpoint"], REALISTIC_API_LATENCY)  # measure_function resets it
                yield method, use_method(state, lab_method(method), deployed)
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


def install_baselines(state: LabState, wheels: Path | None) -> None:
    """What an ocivip user installs on each node once: the oci command-line client in a venv
    of its own (`wheels`: its wheelhouse; None: nothing to install). The seed's script uses the
    deployed venv's SDK; both sign with the node's instance principal."""
    if wheels is None:
        return
    plan = state.plan

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


def fault_phases(trials: int, advert_int: float, salt: str) -> list[float]:
    """How much longer each trial waits before its fault (pure): one trial in each of `trials`
    equal slices of a VRRP advert interval, in an order drawn from `salt` (the fault, so that
    every method meets the same phases in the same order).

    Why: after a silent fault (keepalived killed, link down, crash) the peer takes over three
    adverts plus its skew after the last advert it heard, so where the fault lands between two
    adverts moves the takeover by up to one interval. The housekeeping before a fault polls at a
    steady period, which can hold that phase still for a whole method (docs/lab.md). Spread
    over the interval alike, each method's p50 compares its path, not the phase it met."""
    slices = [round((index + 0.5) * advert_int / trials, 4) for index in range(trials)]
    random.Random(salt).shuffle(slices)
    return slices


def run_method(
    state: LabState, faults: tuple[str, ...], trials: int, rate: float, log: Any, name: str | None = None
) -> tuple[list[trial.TrialResult], dict[str, Any] | None]:
    """Every trial of one method (`name`: a bench method, default the lab's) in its lab, the
    function met as the method's FUNCTION_MODES says; for the fast path also the function."""
    method = name or state.method
    target = TARGET_METHODS.get(method, "vip")
    mode = FUNCTION_MODES.get(method)
    results = []
    function = None
    for fault in faults:
        for index, phase in enumerate(fault_phases(trials, state.plan.advert_int, fault)):
            trial.resync(state)
            prepare_function(state, mode)
            result = trial.run_trial(state, fault, timeout=trial_timeout(method), rate=rate, target=target, phase=phase)
            results.append(result)
            print(
                json.dumps(
                    {
                        "method": method,
                        "target": target,
                        "fault": fault,
                        "trial": index + 1,
                        "phase_s": phase,
                        "from": result.from_node,
                        "failover_s": result.failover_s,
                        "failed_requests": result.failed_requests,
                        "api_calls": result.api_calls,
                        "function_calls": function_calls([result]),
                    }
                ),
                file=log,
                flush=True,
            )
    if method == "fast_path":
        trial.resync(state)  # both nodes healthy: the function's probes answer at once
        function = measure_function(state)  # after the trials: its calls stay out of them
    return results, function


def _functions_client(state: LabState) -> tuple[oci.functions.FunctionsInvokeClient, str]:
    """The operator's (API key) client for the lab's failover function, and its OCID."""
    emulator = state.emulator
    config = oci.config.from_file(emulator["oci_config_file"], emulator["oci_profile"])
    client = oci.functions.FunctionsInvokeClient(config, service_endpoint=emulator["endpoint"])
    return client, emulator["functions"][state.facts.function_name]


STATUS = json.dumps({"action": "status"})


# A call still running when a cold trial is prepared (a heal's notice meeting a cold function
# runs for the whole delay) keeps its container: wait until none is, at most this long.
QUIET_TIMEOUT_SECONDS = 60.0


def prepare_function(state: LabState, mode: str | None) -> None:
    """Housekeeping before a trial, never inside it: for `cold`, once no call is running, every
    container of the function stopped (the emulator's admin API: the next call starts one); for
    `warm`, WARM_CONTAINERS status calls at once, so that many containers are idle and warm at
    the fault; nothing for `provisioned`."""
    client, function_id = _functions_client(state)
    endpoint = state.emulator["endpoint"]
    if mode == "cold":

        def idled_out() -> bool:
            pool = requests.get(f"{endpoint}/_admin/functions", timeout=5).json()["functions"][function_id]
            if pool["busy"] or pool["starting"] or pool["waiting"]:
                return False
            reply = requests.post(f"{endpoint}/_admin/functions/{function_id}/idle", timeout=30)
            reply.raise_for_status()
            return bool(reply.json()["containers"] == 0)

        control.wait_for(idled_out, QUIET_TIMEOUT_SECONDS, "the function to have no container", interval=0.5)
    elif mode == "warm":
        with ThreadPoolExecutor(WARM_CONTAINERS) as pool:
            list(
                pool.map(
                    lambda _: client.invoke_function(function_id, invoke_function_body=STATUS), range(WARM_CONTAINERS)
                )
            )


def emulator_timing(state: LabState) -> tuple[dict[str, float], float]:
    """What the emulator models now (its admin API): latency per operation, and the failover
    function's cold-start delay."""
    endpoint = state.emulator["endpoint"]
    latency = requests.get(f"{endpoint}/_admin/faults", timeout=5).json()["latency"]
    function_id = state.emulator["functions"][state.facts.function_name]
    pools = requests.get(f"{endpoint}/_admin/functions", timeout=5).json()["functions"]
    return latency, float(pools[function_id]["coldStart"]["delaySeconds"])


def measure_function(state: LabState) -> dict[str, Any]:
    """Cold start, warm latency and peak RSS of the function as the emulator runs it under fdk.

    Warm: sequential status calls with the emulator's API latency at zero, so what is left is
    the Functions hop, fdk and the function's own work (including its two health probes).
    fdk start: a new fdk process's start to its listening socket plus its first call (imports
    and client setup), both logged by the emulator for every container: what a caller arriving
    as the container starts waits, after the modeled delay (the method's `cold_start_s`)."""
    requests.delete(f"{state.emulator['endpoint']}/_admin/faults", timeout=5).raise_for_status()
    client, function_id = _functions_client(state)

    def call() -> float:
        started = time.monotonic()
        client.invoke_function(function_id, invoke_function_body=STATUS)
        return time.monotonic() - started

    call()  # the profile's idle timeout may have stopped every container: this one may be cold
    warm = [call() for _ in range(WARM_CALLS)]
    startup = {e["pid"]: e["startup_s"] for e in container_log(state, "function container started")}
    cold = [
        startup[e["pid"]] + e["seconds"]
        for e in container_log(state, "function container first call")
        if e["pid"] in startup
    ]
    return {"warm_call_s": stats(warm), "fdk_start_s": stats(cold), "peak_rss_mb": peak_rss_mb(state)}


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


def fault_cell(entry: dict[str, Any] | None) -> str:
    """One method's result for one fault in the README's table (pure)."""
    if entry is None:
        return "not run"
    tally = f"{entry['failed_over']}/{entry['trials']}, {entry['failed_requests']} failed"
    if entry["p50"] is None:
        return f"no move ({tally})"
    return f"{entry['p50']} ({entry['min']}-{entry['max']}; {tally})"


def timing_line(results: dict[str, Any]) -> str:
    """What the emulator modeled in the run, from the results themselves (pure)."""
    latency: dict[str, float] = next(
        (r["emulator_latency_s"] for r in results.values() if r.get("emulator_latency_s")), {}
    )
    delays = sorted({r["cold_start_s"] for r in results.values() if r.get("cold_start_s")})
    imds = sorted({v for k, v in latency.items() if k.startswith("Imds") and k != "ImdsV1"})
    parts = [
        f"UpdatePrivateIp {latency.get('UpdatePrivateIp', '-')} s, reads {latency.get('GetPrivateIp', '-')} s, "
        f"InvokeFunction {latency.get('InvokeFunction', '-')} s",
        f"instance metadata {'/'.join(map(str, imds)) or '-'} s a request, federation "
        f"{latency.get('X509Federation', '-')} s",
        f"function cold start {'/'.join(map(str, delays)) or '-'} s delay where cold_start_s says so",
    ]
    return "Emulator timing (`realistic` profile and ocisim/faults.py REALISTIC_API_LATENCY): " + "; ".join(parts) + "."


# The fast path's goal over the floor: one UpdatePrivateIp (the emulator's modeled latency) and
# this much for everything else (notify, probes, reads, the agent or the function itself).
GOAL_MARGIN_SECONDS = 0.15
BASELINES = ("seed_script", "oci_cli")


@dataclass(frozen=True)
class Goal:
    """One of the bench's goals, judged on one fault from results.json: whether it held (None:
    a method it needs was not measured on that fault) and the numbers it was judged on."""

    fault: str
    claim: str
    held: bool | None
    numbers: str


def goals(results: dict[str, Any]) -> list[Goal]:
    """The default fast path's goals, per fault (pure): p50 within the floor's p50 + one write +
    GOAL_MARGIN_SECONDS, every trial failed over; p50 below each baseline's; after keepalived-kill
    on the holder, no more failed requests than the seed's script."""

    def fault_of(method: str, fault: str) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = results.get(method, {}).get("per_fault", {}).get(fault)
        return entry if entry and entry.get("p50") is not None else None

    write = results.get(DEFAULT_CONFIGURATION, {}).get("emulator_latency_s", {}).get("UpdatePrivateIp")
    within = f"within the floor + one write + {GOAL_MARGIN_SECONDS} s"
    judged: list[Goal] = []
    for fault in FAULTS:
        fast, floor = fault_of(DEFAULT_CONFIGURATION, fault), fault_of("floor", fault)
        if fast is None or floor is None or write is None:
            judged.append(Goal(fault, within, None, "not measured"))
        else:
            budget = round(floor["p50"] + write + GOAL_MARGIN_SECONDS, 3)
            all_over = fast["failed_over"] == fast["trials"]
            judged.append(
                Goal(
                    fault,
                    within,
                    fast["p50"] <= budget and all_over,
                    f"{fast['p50']} {'<=' if fast['p50'] <= budget else '>'} {floor['p50']} + {write} + "
                    f"{GOAL_MARGIN_SECONDS} = {budget}; "
                    f"{fast['failed_over']}/{fast['trials']} failed over",
                )
            )
        for baseline in BASELINES:
            other = fault_of(baseline, fault)
            if fast is None or other is None:
                judged.append(Goal(fault, f"faster than {baseline}", None, "not measured"))
            else:
                judged.append(
                    Goal(
                        fault,
                        f"faster than {baseline}",
                        fast["p50"] < other["p50"],
                        f"{fast['p50']} {'<' if fast['p50'] < other['p50'] else '>='} {other['p50']}",
                    )
                )
    fast, seed = fault_of(DEFAULT_CONFIGURATION, "keepalived-kill"), fault_of("seed_script", "keepalived-kill")
    claim = "keepalived killed: no more failed requests than seed_script"
    if fast is None or seed is None:
        judged.append(Goal("keepalived-kill", claim, None, "not measured"))
    else:
        judged.append(
            Goal(
                "keepalived-kill",
                claim,
                fast["failed_requests"] <= seed["failed_requests"],
                f"{fast['failed_requests']} {'<=' if fast['failed_requests'] <= seed['failed_requests'] else '>'} "
                f"{seed['failed_requests']}",
            )
        )
    return judged


def markdown(results: dict[str, Any]) -> str:
    """The README's numbers: one row per method (every fault together), what it cost and how it
    met the function, then one column per fault (p50, min-max, failed over, failed requests)."""
    rows = [
        timing_line(results),
        "",
        "| method | p50 s | p95 s | min s | max s | failed over | failed requests | API calls/trial | "
        "function calls cold/warm | cold start s | measured |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, r in results.items():
        cells = [r[k] if r[k] is not None else "-" for k in ("p50", "p95", "min", "max")]
        calls = r.get("function_calls", {})
        rows.append(
            f"| {method} | {' | '.join(map(str, cells))} | {r['failed_over']}/{r['trials']} | "
            f"{r['failed_requests']} | {r['api_calls_per_trial']} | {calls.get('cold', '-')}/{calls.get('warm', '-')} | "
            f"{r.get('cold_start_s', '-')} | {r.get('measured_at', '-')} |"
        )
    faults = [f for f in FAULTS if any(f in r.get("per_fault", {}) for r in results.values())]
    rows += [
        "",
        "By fault: p50 s (min-max; failed over/trials, failed requests):",
        "",
        "| method | " + " | ".join(faults) + " |",
        "|---|" + "---|" * len(faults),
    ]
    for method, r in results.items():
        rows.append(f"| {method} | " + " | ".join(fault_cell(r.get("per_fault", {}).get(f)) for f in faults) + " |")
    rows += [
        "",
        f"Goals of `{DEFAULT_CONFIGURATION}` (the default configuration):",
        "",
        "| fault | goal | held | numbers |",
    ]
    rows.append("|---|---|---|---|")
    verdicts = {True: "yes", False: "**no**", None: "-"}
    rows += [f"| {g.fault} | {g.claim} | {verdicts[g.held]} | {g.numbers} |" for g in goals(results)]
    return "\n".join(rows) + "\n"


def chart(all_results: dict[str, list[trial.TrialResult]], path: Path) -> None:
    """One panel per fault: each method's failover times, box and points, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    faults = [f for f in FAULTS if any(r.fault == f for rs in all_results.values() for r in rs)]
    figure, panels = pyplot.subplots(len(faults), 1, figsize=(10, 3.2 * len(faults)), squeeze=False)
    for axes, fault in zip(panels[:, 0], faults, strict=True):
        data = {
            m: [r.failover_s for r in rs if r.fault == fault and r.failover_s is not None]
            for m, rs in all_results.items()
        }
        methods = [m for m, values in data.items() if values]
        if methods:
            axes.boxplot([data[m] for m in methods], tick_labels=methods, showfliers=True)
            for x, method in enumerate(methods, start=1):
                axes.scatter([x] * len(data[method]), data[method], s=10, alpha=0.5)
            axes.set_yscale("log")  # the alarm path takes minutes, the others seconds
        axes.set_title(f"{fault}: fault -> first answer from the other node")
        axes.set_ylabel("s (log scale)")
        axes.tick_params(axis="x", labelrotation=20)
        axes.grid(axis="y", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


DEFAULT_METHODS = ["floor", "fast_path", *FAST_PATH_MODES, "seed_script", "oci_cli", "alarm_path", *TARGET_METHODS]


def merged(previous: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    """results.json after a run that measured `measured` (each entry stamped with when):
    a run of some methods only replaces those, the others stay with their own stamp (pure)."""
    return {**{m: r for m, r in previous.items() if m not in measured}, **measured}


def method_faults(method: str, faults: list[str]) -> tuple[str, ...]:
    """The faults of `faults` a method is measured on: the alarm path's subset (pure)."""
    return tuple(f for f in faults if method != "alarm_path" or f in ALARM_FAULTS)


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
    parser.add_argument("--out", type=Path, default=BENCH_DIR, help="directory of the results (default: bench/)")
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
            faults = method_faults(method, args.faults)
            trials = args.alarm_trials if alarm else args.trials
            print(f"bench: {method} ({trials} trials x {len(faults)} faults)", file=sys.stderr, flush=True)
            latency, delay = emulator_timing(state)
            method_results, function = run_method(state, faults, trials, args.rate, log, method)
            all_results[method] = method_results
            results[method] = summarise_method(
                method_results,
                args.rate,
                latency=latency,
                cold_start_delay_s=delay,
                clock_scale=ALARM_CLOCK_SCALE if alarm else 1.0,
            )
            results[method].update(
                nodes="booted" if state.booted else "processes",
                topology=state.plan.topology,
                function_mode=FUNCTION_MODES.get(method),
                iam=f"{methods_.BASELINE_VERBS[method]} virtual-network-family (instance principals)"
                if method in methods_.BASELINE_VERBS
                else f"the deployed policies (fast_path_mode {state.fast_path_mode})",
                emulator_profile=PROFILE,
                measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            if function:
                results[method]["function"] = function
            results_file.write_text(json.dumps(merged(previous, results), indent=2) + "\n")
    every = merged(previous, results)
    (args.out / "results.md").write_text(markdown(every))
    if complete:  # the chart shows one run's trials: only a run of every method replaces it
        chart(all_results, args.out / "failover.png")
    print(markdown(every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
