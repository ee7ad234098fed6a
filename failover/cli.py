"""Operator CLI on the same shell as the function.

    python -m failover [--env FILE] [--config-file PATH] [--profile NAME] [--endpoint URL] status
    python -m failover ... move --to NODE [--dry-run] [--force]
    python -m failover ... failback [--dry-run] [--force]
    python -m failover ... pause --for 30m --reason TEXT | resume
    python -m failover ... doctor [--json]

The CLI acts with the operator's own credentials (``ROLE=operator``: manual moves, ``--force``
included), which IAM checks on every OCI call it makes. Configuration comes from the same
keys as the function's (environment variables), optionally read from ``--env FILE``: a JSON
object of those keys, e.g. the function's ``config`` map from the emulator's topology or
``fn inspect``. Credentials are an API key in ``~/.oci/config`` (or
``--config-file``); ``--endpoint`` points every OCI call at another endpoint (the emulator).
The answer is the function's JSON answer; the exit code is 0 when nothing failed or was refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .config import ConfigError
from .doctor import table
from .network import Deadline
from .pause import PauseError, parse_duration, pause_until, set_pause
from .runtime import runtime_for
from .shell import invoke
from .survey import Readers, config_report, examine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m failover", description="Move or inspect the floating private IP.")
    parser.add_argument(
        "--env", metavar="FILE", help="JSON object of configuration keys (VIP_PRIVATE_IP_IDS, NODES, ...)"
    )
    parser.add_argument("--config-file", help="OCI config file (default: OCI_CONFIG_FILE or ~/.oci/config)")
    parser.add_argument("--profile", help="profile in the OCI config file (default: DEFAULT)")
    parser.add_argument("--endpoint", help="OCI endpoint override, e.g. the emulator's http://127.0.0.1:PORT")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="where the VIP is, node health, last move")
    move = commands.add_parser("move", help="fail over to a node (default: the best healthy other node)")
    move.add_argument("--to", metavar="NODE")
    failback = commands.add_parser("failback", help="move back to the preferred (highest-priority) node")
    for sub in (move, failback):
        sub.add_argument("--dry-run", action="store_true", help="decide and report, write nothing")
        sub.add_argument("--force", action="store_true", help="skip the target's health check and the cooldown")
    pause = commands.add_parser("pause", help="hold automatic moves of the VIP group for a while (maintenance)")
    pause.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="e.g. 30m, 2h (at most 7d)")
    pause.add_argument("--reason", required=True, help="why; shown to whoever looks next")
    commands.add_parser("resume", help="end a pause now")
    doctor = commands.add_parser("doctor", help="check every link of the failover chain; moves nothing")
    doctor.add_argument("--json", action="store_true", help='one JSON object: {"ok", "checks": [...]}')
    args = parser.parse_args(argv)

    env = dict(os.environ)
    if args.env:
        try:
            with open(args.env, encoding="utf-8") as handle:
                extra = json.load(handle)
        except (OSError, ValueError) as exc:
            parser.error(f"--env {args.env}: {exc}")
        if not isinstance(extra, dict):
            parser.error(f"--env {args.env}: must hold a JSON object")
        env.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    # A person's API key, even where resource-principal variables linger in the shell; the
    # operator's own credentials are what authorise a manual move here (IAM on the API calls).
    env.pop("OCI_RESOURCE_PRINCIPAL_VERSION", None)
    env["ROLE"] = "operator"
    for key, value in (
        ("OCI_CONFIG_FILE", args.config_file),
        ("OCI_CONFIG_PROFILE", args.profile),
        ("OCI_SERVICE_ENDPOINT", args.endpoint),
    ):
        if value:
            env[key] = value

    if args.command == "doctor":
        return _doctor(env, args.json)
    if args.command in ("pause", "resume"):
        return _print(_pause(args, env, parser))
    if args.command == "status":
        body = {"action": "status"}
    else:
        body = {
            "action": "failover" if args.command == "move" else "failback",
            "dry_run": args.dry_run,
            "force": args.force,
        }
        if args.command == "move" and args.to is not None:
            body["to"] = args.to  # "" (an unset $NODE) is refused by the parser, never "any node"
    answer = invoke(json.dumps(body).encode(), env)
    _print(answer)
    return 0 if answer.get("ok") and answer.get("decision") not in ("refused", "error") else 1


def _print(answer: dict[str, Any]) -> int:
    json.dump(answer, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if answer.get("ok") else 1


def _doctor(env: dict[str, str], as_json: bool) -> int:
    """Exit 0 only when every link holds; the table for people, ``--json`` for scripts."""
    try:
        runtime = runtime_for(env)
    except ConfigError as exc:
        report = config_report(exc)
    else:
        report = examine(
            runtime.config,
            runtime.network,
            Readers(env, runtime.config.service_endpoint),
            runtime.prober,
            Deadline(runtime.config.retry_deadline_seconds),
        )
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(table(report) + "\n")
    return 0 if report["ok"] else 1


def _pause(args: argparse.Namespace, env: dict[str, str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Bad input is refused before anything is read or written."""
    pause = None
    if args.command == "pause":
        try:
            pause = pause_until(parse_duration(args.duration), args.reason)
        except PauseError as exc:
            parser.error(str(exc))
    try:
        runtime = runtime_for(env)
    except ConfigError as exc:
        return {"ok": False, "error": "config_error", "reason": f"function configuration: {exc}"}
    return set_pause(runtime.network, runtime.config, pause, Deadline(runtime.config.retry_deadline_seconds))
