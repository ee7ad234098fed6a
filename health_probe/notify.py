"""``python -m health_probe.notify --config FILE --state STATE``: keepalived's notify → function.

The fast path: the node that just became VRRP MASTER asks the failover function to move the
floating IP to it (``{"source": "keepalived", "node": ..., "state": "MASTER"}``); a node that
leaves MASTER or starts as BACKUP (``BACKUP``, ``FAULT``, ``STOP``) tells it too, so that a
holder which let the alias go is repaired even when no peer notifies. Same credentials as the
agent (instance principals on OCI, the config file by hand or in the lab).
keepalived never times out a notify script, so the whole run is bounded by
``notify_timeout_seconds``: SDK retries stop at that deadline and a hard alarm ends the process.

Exit status: 0 the function answered (its decision is logged), 1 it could not be reached or
failed in time, 2 bad configuration.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from typing import Any

import oci

from health_probe.clients import CONNECT_TIMEOUT_SECONDS, credentials
from health_probe.config import AgentConfig, ConfigError, load_config
from health_probe.logs import JsonLog

STATES = ("MASTER", "BACKUP", "FAULT", "STOP")


class NotifyTimeout(Exception):
    """The notify ran past ``notify_timeout_seconds``."""


def notice(node: str, state: str) -> dict[str, str]:
    """The keepalived event body the function expects."""
    return {"source": "keepalived", "node": node, "state": state}


def invoke_client(config: AgentConfig) -> oci.functions.FunctionsInvokeClient:
    """FunctionsInvokeClient on the function's invoke endpoint, retrying only inside the deadline."""
    creds = credentials(config)
    retry = oci.retry.RetryStrategyBuilder(
        max_attempts_check=True, max_attempts=3, total_elapsed_time_check=True,
        total_elapsed_time_seconds=config.notify_timeout_seconds, retry_max_wait_between_calls_seconds=1,
        retry_base_sleep_time_seconds=0.2, service_error_check=True,
        service_error_retry_on_any_5xx=True).get_retry_strategy()
    return oci.functions.FunctionsInvokeClient(
        creds.config, signer=creds.signer, service_endpoint=config.invoke_endpoint, retry_strategy=retry,
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy(),
        timeout=(CONNECT_TIMEOUT_SECONDS, config.notify_timeout_seconds))


def notify(config: AgentConfig, state: str, log: JsonLog) -> int:
    """Invoke the function once (with bounded retries); log its decision; return the exit status."""
    assert config.function_id is not None and config.invoke_endpoint is not None
    body = json.dumps(notice(config.node, state))
    try:
        response = invoke_client(config).invoke_function(config.function_id, invoke_function_body=body)
        answer: Any = json.loads(response.data.content or b"null")
    except oci.exceptions.ServiceError as exc:
        log("notify_failed", level="error", reason=f"{exc.status} {exc.code}: {exc.message}", state=state)
        return 1
    except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout, NotifyTimeout) as exc:
        log("notify_failed", level="error", reason=f"function unreachable: {type(exc).__name__}", state=state)
        return 1
    except ValueError:
        log("notify_failed", level="error", reason="the function's answer is not JSON", state=state)
        return 1
    fields = answer if isinstance(answer, dict) else {"answer": answer}
    log("notify_answered", state=state, decision=fields.get("decision"), reason=fields.get("reason"),
        to=fields.get("to"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="health_probe.notify", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="node agent YAML file")
    parser.add_argument("--state", required=True, choices=STATES, help="the VRRP state keepalived entered")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"health_probe.notify: {exc}", file=sys.stderr)
        return 2
    if not config.function_id or not config.invoke_endpoint:
        print(f"health_probe.notify: {args.config}: notify needs 'function_id' and 'invoke_endpoint'", file=sys.stderr)
        return 2
    log = JsonLog(node=config.node, component="notify")

    def expire(*_: object) -> None:
        raise NotifyTimeout()

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(max(1, math.ceil(config.notify_timeout_seconds)))
    try:
        return notify(config, args.state, log)
    except NotifyTimeout:
        log("notify_failed", level="error", reason=f"no answer within {config.notify_timeout_seconds} s",
            state=args.state)
        return 1
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
