"""`python -m ocisim serve`: the emulator as a process, for the lab, the demo and users.

Contract (docs/emulator.md; the lab and users rely on it): exactly one JSON line on stdout once serving (the ready
line), then JSON log lines on stderr only; SIGTERM or SIGINT stop it within 5 s with the state
saved.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from failover.log import Logger, to_stderr_root
from ocisim.emulator import DEFAULT_TOPOLOGY, Emulator
from ocisim.service import PROFILES

_LOG = Logger("ocisim")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ocisim", description="Local OCI emulator")
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulated OCI APIs on one endpoint")
    serve.add_argument(
        "--topology", default=str(DEFAULT_TOPOLOGY), help="topology JSON that seeds a new state (default: two-node)"
    )
    serve.add_argument("--state", help="state file; resumed if it exists (default: in memory)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--function-dir", help="directory of the function (func.yaml, func.py)")
    serve.add_argument(
        "--clock-scale", type=float, default=1.0, help="emulated time runs this many times faster than the wall clock"
    )
    serve.add_argument("--config-dir", help="where to write the OCI config file and API key")
    serve.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a CA made for this run (the ready line's cert_bundle)"
    )
    timing = serve.add_argument_group("timing", "cold starts and token latency (docs/emulator.md)")
    timing.add_argument(
        "--profile",
        choices=PROFILES,
        default="fast",
        help="fast: warm functions, no token latency; realistic: OCI-like (numbers and sources: docs/emulator.md)",
    )
    timing.add_argument(
        "--function-idle-timeout",
        type=float,
        metavar="SECONDS",
        help="stop a function container idle this long (emulated time)",
    )
    timing.add_argument(
        "--function-cold-start",
        type=float,
        metavar="SECONDS",
        help="what a call that finds no idle container waits before its fdk process starts",
    )
    timing.add_argument(
        "--function-max-containers", type=int, metavar="N", help="containers one function may run at once"
    )
    timing.add_argument("--imds-latency", type=float, metavar="SECONDS", help="added to every IMDS request")
    timing.add_argument(
        "--federation-latency",
        type=float,
        metavar="SECONDS",
        help="added to every instance-principal federation (/v1/x509) request",
    )
    return root


def cold_start(args: argparse.Namespace) -> dict[str, float | int]:
    """The serve-level `coldStart` the flags set (the keys a topology function's `coldStart` has)."""
    flags = {
        "idleTimeoutSeconds": args.function_idle_timeout,
        "delaySeconds": args.function_cold_start,
        "maxContainers": args.function_max_containers,
    }
    return {key: value for key, value in flags.items() if value is not None}


def serve(args: argparse.Namespace) -> int:
    to_stderr_root()
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        _LOG.info("signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        emulator = Emulator.start(
            topology=args.topology,
            state=args.state,
            port=args.port,
            host=args.host,
            function_dir=args.function_dir,
            clock_scale=args.clock_scale,
            config_dir=args.config_dir,
            tls=args.tls,
            profile=args.profile,
            cold_start=cold_start(args),
            imds_latency=args.imds_latency,
            federation_latency=args.federation_latency,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        _LOG.error("failed to start", error=repr(exc), cause=repr(exc.__cause__))
        return 1
    try:
        sys.stdout.write(json.dumps(emulator.ready_line) + "\n")
        sys.stdout.flush()
        while not stop.wait(1.0):
            pass
    finally:
        emulator.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2
