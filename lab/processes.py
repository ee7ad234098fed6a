"""Starting and stopping the lab's processes, each tracked by a pid file.

A pid file is trusted only while /proc says the pid still runs the expected program, so a stale
file never gets an unrelated process killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from lab.plan import REPO, Node, Plan
from lab.shell import in_netns, run


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pid_from(path: Path, program: str) -> int | None:
    """The pid in `path` if that process is alive and runs `program`."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if program in _cmdline(pid) else None


def signal_pidfile(path: Path, program: str, sig: signal.Signals) -> int | None:
    pid = pid_from(path, program)
    if pid is not None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return None
    return pid


def wait_gone(pids: Sequence[int], timeout: float) -> bool:
    """Wait (bounded) until none of `pids` runs; True if they are all gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(_cmdline(pid) and _state(pid) != "Z" for pid in pids):
            return True
        time.sleep(0.02)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def spawn(command: Sequence[str], log: Path, pid_file: Path, *, stdout: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a background process that outlives the CLI (own session); stderr to `log`, stdout
    there too unless `stdout` names its own file."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as err, open(stdout or log, "ab") as out:
        process = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True, cwd=REPO
        )
    pid_file.write_text(f"{process.pid}\n")
    return process


def kill_netns_processes(netns: str) -> list[int]:
    """SIGKILL everything inside a namespace: `ip netns del` leaves a namespace with processes alive."""
    pids = [int(p) for p in run(["ip", "netns", "pids", netns], check=False).stdout.split()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    wait_gone(pids, 5.0)
    return pids


def foreign_pids(netns: str, known_pid_files: Sequence[Path]) -> list[int]:
    """Processes in a namespace that no pid file accounts for: notify scripts still running."""
    known = set()
    for path in known_pid_files:
        with contextlib.suppress(OSError, ValueError, IndexError):
            known.add(int(path.read_text().split()[0]))
    pids = [int(p) for p in run(["ip", "netns", "pids", netns], check=False).stdout.split()]
    return [pid for pid in pids if pid not in known and _state(pid) not in ("", "Z")]


# haproxy -----------------------------------------------------------------------------------


def haproxy_files(plan: Plan, node: Node) -> tuple[Path, Path]:
    return plan.path(node, "haproxy.cfg"), plan.path(node, "haproxy.pid")


def start_haproxy(plan: Plan, node: Node) -> None:
    """haproxy in the node's namespace, on the haproxy.cfg `up` rendered for it."""
    config, pid_file = haproxy_files(plan, node)
    if pid_from(pid_file, "haproxy"):
        return
    run(in_netns(node.netns, "haproxy", "-D", "-f", str(config)))
    if not pid_from(pid_file, "haproxy"):
        raise RuntimeError(f"haproxy in {node.netns} did not write {pid_file}")


def stop_haproxy(plan: Plan, node: Node, sig: signal.Signals = signal.SIGTERM) -> None:
    pid = signal_pidfile(haproxy_files(plan, node)[1], "haproxy", sig)
    if pid:
        wait_gone([pid], 5.0)


# keepalived --------------------------------------------------------------------------------


def keepalived_pid_files(plan: Plan, node: Node) -> tuple[Path, Path, Path]:
    return (
        plan.path(node, "keepalived.pid"),
        plan.path(node, "keepalived-vrrp.pid"),
        plan.path(node, "keepalived-checkers.pid"),
    )


def start_keepalived(plan: Plan, node: Node) -> None:
    """keepalived in the node's namespace on the keepalived.conf `up` rendered for it, not
    forking, logging to a file (no syslog)."""
    main, vrrp, checkers = keepalived_pid_files(plan, node)
    if pid_from(main, "keepalived"):
        return
    for stale in (main, vrrp, checkers):  # keepalived refuses to start over a live-looking pid file
        stale.unlink(missing_ok=True)
    config = plan.path(node, "keepalived.conf")
    command = in_netns(
        node.netns,
        "keepalived",
        "-n",
        "-l",
        "-G",
        "-D",
        "-f",
        str(config),
        "-p",
        str(main),
        "-r",
        str(vrrp),
        "-c",
        str(checkers),
    )
    spawn(command, plan.path(node, "keepalived.log"), plan.path(node, "keepalived-launch.pid"))
    deadline = time.monotonic() + 10
    while not (pid_from(main, "keepalived") and pid_from(vrrp, "keepalived")):
        if time.monotonic() > deadline:
            raise RuntimeError(f"keepalived in {node.netns} did not start; see {plan.path(node, 'keepalived.log')}")
        time.sleep(0.05)


def stop_keepalived(plan: Plan, node: Node, sig: signal.Signals = signal.SIGTERM) -> None:
    """SIGTERM: keepalived drops the floating IP and tells its peer. SIGKILL (every keepalived
    process at once, as a crash): nothing is cleaned up, the alias stays."""
    main, vrrp, checkers = keepalived_pid_files(plan, node)
    # Children first: a child whose parent dies first is told to stop and would stop gracefully.
    targets = (vrrp, checkers, main) if sig == signal.SIGKILL else (main,)
    pids = [pid for path in targets if (pid := signal_pidfile(path, "keepalived", sig))]
    wait_gone(pids, 10.0)
