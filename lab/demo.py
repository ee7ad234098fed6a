"""`make demo`: a real failover in the lab, narrated for a person.

Builds the lab (namespaces, haproxy, keepalived, the emulator with the function under fdk) in
terraform's default fast_path_mode (direct: the node agent moves the IP itself, no function call;
`--fast-path-mode function` to watch the agent invoke the function instead), shows the client
reaching node-a through the floating IP, stops haproxy on node-a, prints the timeline of what
happened (VRRP, each API call and who signed it, the fabric, the client), the emulator's audit
log, brings node-a back and tears everything down. Exits 1 if the IP did not
fail over (client never reached node-b, or the emulator does not hold the IP on node-b's VNIC).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from lab import cloud, control, trial
from lab.state import METHODS, LabState

FAILOVER_TIMEOUT_SECONDS = 30.0
console = Console(highlight=False, width=110)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _who(principal: Any, function_id: str) -> str:
    text = json.dumps(principal)
    if principal is None:
        return "a node, unsigned (its metadata service / federation)"
    if function_id in text or "resource" in text.lower():
        return "the function (resource principal)"
    if "ocid1.instance" in text:
        return "a node (instance principal)"
    return "the operator's API key (config file)"


def timeline(state: LabState, result: trial.TrialResult) -> list[tuple[float, str]]:
    """Every event of the failover, from the lab's own records, in time order."""
    start, end = result.fault_time - 0.05, result.fault_time + FAILOVER_TIMEOUT_SECONDS
    function_id = state.emulator["functions"][state.facts.function_name]
    events = [(result.fault_time, f"FAULT: {result.fault} on {result.from_node}")]
    events += [e for e in trial.node_events(state.plan) if start <= e[0] <= end]
    for entry in trial.api_requests(result.emulator_log):
        who = _who(entry.get("principal"), function_id)
        took = entry.get("duration_ms") or 0.0
        events.append(
            (
                _epoch(entry["time"]) - took / 1000,
                f"{entry['operation']} (HTTP {entry.get('status')}, took {took:.0f} ms), by {who}",
            )
        )
    for line in state.plan.path(None, "fabric.log").read_text().splitlines():
        route = json.loads(line)
        if route.get("event") == "route" and start <= route["time"] <= end:
            events.append((route["time"], f"fabric (the VCN) now delivers {state.plan.vip} to {route['holder']}"))
    if result.failover_s is not None:
        events.append((result.fault_time + result.failover_s, f"client: first answer from {result.to_node}"))
    return sorted(events)


def show_timeline(events: list[tuple[float, str]], origin: float) -> None:
    table = Table(title="Failover timeline (t = 0 at the fault)")
    table.add_column("t (ms)", justify="right")
    table.add_column("what happened")
    for when, what in events:
        table.add_row(f"{(when - origin) * 1000:+.0f}", what)
    console.print(table)


def show_audit(state: LabState) -> None:
    names = {vnic: name for name, vnic in state.facts.vnic_ids.items()}
    table = Table(title="The emulator's audit log (every mutating call)")
    for column in ("seq", "time", "operation", "resource", "before -> after"):
        table.add_column(column)
    for entry in cloud.audit(state.emulator["endpoint"]):
        before, after = entry.get("before") or {}, entry.get("after") or {}
        move = f"{names.get(before.get('vnicId'), '?')} -> {names.get(after.get('vnicId'), '?')}"
        table.add_row(
            str(entry["seq"]), entry["time"][11:23], entry["operation"], str(entry["resource_id"])[-12:], move
        )
    console.print(table)


# What keepalived's MASTER notice leads to, per terraform fast_path_mode (the narration's words).
FAST_PATH_NARRATION = {
    "direct": "the node agent runs the function's core itself (its instance principal, no function call)",
    "function": "the node agent invokes the failover function (its resource principal moves the IP)",
}


def run(method: str, kind: str, fast_path_mode: str | None = None) -> int:
    console.rule("[bold]oci-vip-failover: a real failover in a local lab")
    console.print(
        "Building the lab: namespaces node-a, node-b, client and a routed fabric (the VCN); real "
        "haproxy and keepalived on each node, rendered from templates/; the OCI emulator with the "
        "failover function running under fdk ..."
    )
    info = control.up(method, fast_path_mode=fast_path_mode)
    state = LabState.load(control.default_plan())
    try:
        console.print(
            f"Lab up. Floating IP {info['vip']} (10.0.0.4 in the emulator), emulator at "
            f"{info['emulator']['endpoint']}, keepalived notify_master: [bold]{method}[/bold]."
        )
        if method == "fast_path":
            console.print(
                f"fast_path_mode [bold]{info['fast_path_mode']}[/bold]: on keepalived's MASTER notice "
                f"{FAST_PATH_NARRATION[info['fast_path_mode']]}."
            )
        console.print(f"client$ curl http://{info['vip']}/  ->  [green]{control.client_get(state.plan)}[/green]")
        console.print(f"Now: {kind} on node-a, with the client sending {trial.RATE_PER_SECOND:.0f} requests/s ...")
        result = trial.run_trial(state, kind, timeout=FAILOVER_TIMEOUT_SECONDS)
        show_timeline(timeline(state, result), result.fault_time)
        holder = cloud.vip_holder(state.emulator, state.facts)
        console.print(
            f"client: {result.requests} requests, {result.failed_requests} failed; the emulator holds "
            f"10.0.0.4 on {holder}'s VNIC; API calls: {result.api_calls}"
        )
        show_audit(state)
        console.print("Bringing node-a back (haproxy and keepalived restart; with failback 'never' the IP stays) ...")
        healed = control.heal(state.plan)
        steady = trial.wait_steady(state.plan)
        console.print(
            f"healed: aliases on {healed['alias']}, serving node {steady.name}; "
            f"client$ curl -> [green]{control.client_get(state.plan)}[/green]"
        )
    finally:
        console.print("Tearing the lab down ...")
        control.down(state.plan)
    ok = result.ok and holder == result.to_node
    if ok:
        console.print(
            f"[bold green]FAILOVER OK[/bold green]: {result.from_node} -> {result.to_node} in "
            f"{result.failover_s:.2f} s (fault to first answer from {result.to_node})."
        )
        return 0
    console.print(
        f"[bold red]FAILOVER FAILED[/bold red]: client saw {result.to_node}: {result.ok}; "
        f"emulator holder: {holder}. Logs: {state.plan.run_dir}"
    )
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.demo", description=__doc__)
    parser.add_argument("--method", choices=METHODS, default="fast_path")
    parser.add_argument("--fault", choices=control.FAULTS, default="haproxy-stop")
    parser.add_argument(
        "--fast-path-mode",
        choices=cloud.FAST_PATH_MODE_VALUES,
        help=f"terraform's fast_path_mode (default: terraform's, {cloud.DEFAULT_FAST_PATH_MODE})",
    )
    args = parser.parse_args(argv)
    try:
        return run(args.method, args.fault, args.fast_path_mode)
    except control.LabError as exc:
        console.print(f"[bold red]demo failed[/bold red]: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
