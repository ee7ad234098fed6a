"""Booted lab nodes: each node a machine with systemd as PID 1 under `systemd-nspawn`, joined to
the node's network namespace, with its own overlay of the cached root filesystem, its own PID
namespace, /etc, /run and journal, and real cloud-init reading a NoCloud seed.

The host has no systemd-machined here (`machinectl` needs it), so a machine is found by the pid
file of its `systemd-nspawn` and entered with `nsenter` on its PID 1 ("the leader").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from lab.plan import Node, Plan
from lab.processes import pid_from, spawn, wait_gone
from lab.shell import LabError, run

BOOT_TIMEOUT_SECONDS = 420.0
START_TIMEOUT_SECONDS = 20.0
SERVICES = ("haproxy", "vip-failover-probe", "keepalived")
LOG_LINES = 25


def machine_name(node: Node) -> str:
    return f"lab-{node.name}"


def root(plan: Plan, node: Node) -> Path:
    """The node's root filesystem as the host sees it (the overlay's merged view)."""
    return plan.path(node, "root")


def _nspawn_pid_file(plan: Plan, node: Node) -> Path:
    return plan.path(node, "nspawn.pid")


def mounted(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines())


def prepare(plan: Plan, node: Node, image: Path, user_data: str) -> Path:
    """Mount the node's overlay of `image` and write its NoCloud seed: `user-data` exactly as
    given (terraform's #cloud-config) and `meta-data` with a fresh instance-id."""
    top = plan.path(node, "overlay")
    upper, work, merged = top / "upper", top / "work", root(plan, node)
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={image},upperdir={upper},workdir={work}", str(merged)])
    seed = merged / "var" / "lib" / "cloud" / "seed" / "nocloud"
    seed.mkdir(parents=True, exist_ok=True)
    (seed / "user-data").write_text(user_data)
    instance_id = f"{machine_name(node)}-{int(time.time())}"
    (seed / "meta-data").write_text(f"instance-id: {instance_id}\nlocal-hostname: {node.name}\n")
    return merged


def boot(plan: Plan, node: Node) -> None:
    """Start the machine in the background; its console goes to console.log."""
    # CAP_NET_ADMIN: the node's own firewall (iptables) and keepalived's alias, in its namespace.
    # /proc/sys/net writable, as nspawn leaves it with a network namespace of its own making (not
    # with one it is handed): the node's sysctls are its own, e.g. forwarding on a route target.
    command = [
        "env",
        "SYSTEMD_NSPAWN_API_VFS_WRITABLE=network",
        "systemd-nspawn",
        "--boot",
        "--register=no",
        "--keep-unit",
        "--console=read-only",
        "--capability=CAP_NET_ADMIN",
        f"--network-namespace-path=/run/netns/{node.netns}",
        f"--machine={machine_name(node)}",
        "-D",
        str(root(plan, node)),
    ]
    nspawn = spawn(command, plan.path(node, "console.log"), _nspawn_pid_file(plan, node))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not running(plan, node):
        if time.monotonic() > deadline or nspawn.poll() is not None:
            raise LabError(f"{node.name} did not start: see {plan.path(node, 'console.log')}")
        time.sleep(0.05)


def leader(plan: Plan, node: Node) -> int | None:
    """PID (on the host) of the machine's systemd, if it runs."""
    nspawn = pid_from(_nspawn_pid_file(plan, node), "systemd-nspawn")
    pending = [nspawn] if nspawn else []
    while pending:  # nspawn -> its inner child -> systemd
        pid = pending.pop(0)
        for child in _children(pid):
            if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                return child
            pending.append(child)
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def running(plan: Plan, node: Node) -> bool:
    return leader(plan, node) is not None


def run_in(
    plan: Plan, node: Node, *command: str, check: bool = True, timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run a command inside the machine (all its namespaces), bounded in time."""
    pid = leader(plan, node)
    if pid is None:
        raise LabError(f"{node.name} is not running")
    return run(
        ["nsenter", "-t", str(pid), "-a", "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", *command],
        check=check,
        timeout=timeout,
    )


def _cloud_init_result(plan: Plan, node: Node) -> dict | None:
    """cloud-init's result.json: written when its last stage of this boot has run."""
    try:
        return json.loads((root(plan, node) / "var" / "lib" / "cloud" / "data" / "result.json").read_text())
    except (OSError, ValueError):
        return None


def diagnosis(plan: Plan, node: Node) -> str:
    """`cloud-init status --long` and the last lines of cloud-init's output log."""
    parts = []
    if running(plan, node):
        status = run_in(plan, node, "cloud-init", "status", "--long", check=False, timeout=20)
        parts.append(f"cloud-init status --long:\n{status.stdout.strip() or status.stderr.strip()}")
    else:
        parts.append(f"the machine is not running (console: {plan.path(node, 'console.log')})")
    log = root(plan, node) / "var" / "log" / "cloud-init-output.log"
    try:
        lines = log.read_text(errors="replace").splitlines()[-LOG_LINES:]
    except OSError:
        lines = ["(no /var/log/cloud-init-output.log)"]
    parts.append("last lines of /var/log/cloud-init-output.log:\n" + "\n".join(lines))
    return "\n".join(parts)


def wait_cloud_init(plan: Plan, node: Node, timeout: float = BOOT_TIMEOUT_SECONDS) -> float:
    """Wait (bounded) until cloud-init has finished its first boot without an error; return the
    seconds it took. Raise with the node's diagnosis otherwise."""
    started = time.monotonic()
    deadline = started + timeout
    while (result := _cloud_init_result(plan, node)) is None:
        if time.monotonic() > deadline or not running(plan, node):
            why = "did not finish booting within" if running(plan, node) else "stopped during its boot, limit"
            raise LabError(f"{node.name} {why} {timeout:.0f} s\n{diagnosis(plan, node)}")
        time.sleep(0.5)
    errors = result.get("v1", {}).get("errors", [])
    if errors:
        raise LabError(f"{node.name}: cloud-init failed: {'; '.join(map(str, errors))}\n{diagnosis(plan, node)}")
    _host_visible_instance_link(plan, node)
    return time.monotonic() - started


def _host_visible_instance_link(plan: Plan, node: Node) -> None:
    """cloud-init links /var/lib/cloud/instance to an absolute path, which the host would resolve
    against its own /; a relative link names the same directory for the node and for the host."""
    link = root(plan, node) / "var" / "lib" / "cloud" / "instance"
    target = os.readlink(link)
    if target.startswith("/"):
        link.unlink()
        link.symlink_to(os.path.relpath(target, "/var/lib/cloud"))


def systemctl(plan: Plan, node: Node, *args: str) -> None:
    run_in(plan, node, "systemctl", *args, timeout=60)


def active(plan: Plan, node: Node, unit: str) -> bool:
    return run_in(plan, node, "systemctl", "is-active", "--quiet", unit, check=False).returncode == 0


def processes_matching(plan: Plan, node: Node, pattern: str) -> list[int]:
    """PIDs (inside the machine) of processes whose command line matches `pattern`."""
    if not running(plan, node):
        return []
    done = run_in(plan, node, "pgrep", "-f", pattern, check=False)
    return [int(pid) for pid in done.stdout.split()]


def kill_unit(plan: Plan, node: Node, unit: str, program: str) -> None:
    """SIGKILL a unit's processes named `program` inside the machine, its main process last (a
    child whose parent dies first is told to stop, and would stop gracefully). `systemctl kill`
    cannot: systemd inside nspawn on the hosts' cgroup v1 fails to signal through the cgroup."""
    main = run_in(plan, node, "systemctl", "show", "--property=MainPID", "--value", unit).stdout.strip()
    pids = [pid for pid in run_in(plan, node, "pgrep", "-x", program, check=False).stdout.split() if pid != main]
    for pid in [*pids, main]:
        if pid and pid != "0":
            run_in(plan, node, "kill", "-KILL", pid, check=False)


def journal(plan: Plan, node: Node, unit: str) -> str:
    """A unit's journal, message text only."""
    if not running(plan, node):
        return ""
    return run_in(plan, node, "journalctl", "--no-pager", "-o", "cat", "-u", unit, check=False, timeout=30).stdout


def crash(plan: Plan, node: Node) -> None:
    """Kill the machine at once: SIGKILL to its PID 1 ends every process in its PID namespace."""
    pid = leader(plan, node)
    nspawn = pid_from(_nspawn_pid_file(plan, node), "systemd-nspawn")
    if pid:
        os.kill(pid, signal.SIGKILL)
    if nspawn and not wait_gone([nspawn], 10.0):
        os.kill(nspawn, signal.SIGKILL)
        wait_gone([nspawn], 5.0)


def remove(plan: Plan, node: Node) -> None:
    """Stop the machine (if any) and unmount its overlay; works on half-made nodes too."""
    crash(plan, node)
    merged = root(plan, node)
    if mounted(merged):
        run(["umount", str(merged)], check=False)
        if mounted(merged):
            run(["umount", "-l", str(merged)])
