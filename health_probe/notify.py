"""``python -m health_probe.notify --config FILE --state STATE``: keepalived's notify → function.

Also as keepalived's generic ``notify`` script, which appends ``TYPE NAME STATE PRIORITY``
(``python -m health_probe.notify --config FILE INSTANCE vip_ipv6 MASTER 100``): NAME is the VRRP
instance, which node-agent.yaml's ``vrrp_instances`` maps to its VIPs, so the function moves
only their groups (one instance per address family). A GROUP notice (a sync group) is logged and
left alone: its instances notify on their own. DELETED (the instance removed on reload) drops
the alias as STOP does and is sent as STOP.

The fast path: the node that just became VRRP MASTER asks the failover function to move the
floating IP to it (``{"source": "keepalived", "node": ..., "state": "MASTER"}``); a node that
leaves MASTER or starts as BACKUP (``BACKUP``, ``FAULT``, ``STOP``) tells it too, so that a
holder which let the alias go is repaired even when no peer notifies.

First through the node agent's warm relay (health_probe/relay.py, ``relay_address:relay_port``,
127.0.0.1:8406): the agent holds the credentials and the client, so no ``import oci`` and no
token fetch here; this module imports only the standard library, the agent's config (PyYAML)
and the project's logger (``failover.log``, standard library only). When the relay does not
acknowledge within ``RELAY_ACK_SECONDS`` (agent down, no credentials yet, busy) or
acknowledges but delivers no outcome, it invokes the function directly with the same
credentials as the agent (instance principals on OCI, the config file by hand), importing
``oci`` only then; with ``fast_path_direct`` (terraform's ``fast_path_mode = "direct"``) the
relay and this fallback run the function's core on the node instead of invoking it
(health_probe/direct.py). A second invoke is safe: the function re-reads and writes with if-match.
keepalived never times out a notify script, so the whole run is bounded by
``notify_timeout_seconds``: SDK retries stop at that deadline and a hard alarm ends the process.

Logs one JSON line per outcome: ``notify_answered`` (the function's decision) or
``notify_failed``, each with ``path`` ``relay`` or ``direct``; ``relay_unavailable`` before a
fallback says why.

Exit status: 0 the function answered (its decision is logged), 1 it could not be reached or
failed in time, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import signal
import sys
import time

from failover.log import Logger, to_stream
from health_probe.config import AgentConfig, ConfigError, load_config
from health_probe.notice import STATES, Outcome

# The relay acknowledges as soon as it has read the notice (loopback: milliseconds); longer
# means it is stuck, and the direct invoke still has the rest of the budget.
RELAY_ACK_SECONDS = 0.5


class NotifyTimeout(Exception):
    """The notify ran past ``notify_timeout_seconds``."""


def via_relay(
    config: AgentConfig, state: str, deadline: float, log: Logger, instance: str | None = None
) -> Outcome | None:
    """The function's outcome through the agent's relay, or None when the relay cannot deliver
    one (then the caller invokes directly)."""
    connection = http.client.HTTPConnection(config.relay_address, config.relay_port, timeout=RELAY_ACK_SECONDS)
    try:
        connection.connect()
        # Kept here: getresponse() drops the connection's reference to a socket the relay will
        # close, while the response still reads from it.
        sock = connection.sock
        body = {"state": state} if instance is None else {"state": state, "instance": instance}
        connection.request("POST", "/notify", body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            log.warning(
                "relay_unavailable",
                state=state,
                reason=f"HTTP {response.status}: {Outcome.from_wire(_json(response.read())).reason}",
            )
            return None
        # Acknowledged: the relay is invoking; wait for its outcome inside our own budget.
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        outcome = Outcome.from_wire(_json(response.read()))
    except (OSError, http.client.HTTPException) as exc:
        log.warning("relay_unavailable", state=state, reason=f"{type(exc).__name__}: {exc}")
        return None
    finally:
        connection.close()
    if not outcome.answered:
        log.warning("relay_unavailable", state=state, reason=f"the relay got no answer: {outcome.reason}")
        return None
    return outcome


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None


def direct(config: AgentConfig, state: str, vips: tuple[str, ...] | None = None) -> Outcome:
    """The cold path: build credentials and a client here, then invoke (imports oci); with
    ``fast_path_direct``, run the function's core here instead (health_probe/direct.py)."""
    if config.fast_path_direct:
        from health_probe.clients import credentials
        from health_probe.direct import build_runtime, handle_notice

        return handle_notice(lambda: build_runtime(config, credentials(config)), config, state, vips)
    from health_probe.invoke import invoke, invoke_client

    return invoke(invoke_client(config), config, state, vips)


def notify(config: AgentConfig, state: str, log: Logger, instance: str | None = None) -> int:
    """Relay first, else direct; log the outcome; return the exit status."""
    deadline = time.monotonic() + config.notify_timeout_seconds
    path = "relay"
    try:
        vips = config.vips_of(instance)
    except ValueError as exc:
        log.error("notify_failed", reason=f"{exc}: nothing sent", state=state, instance=instance)
        return 2
    try:
        outcome = via_relay(config, state, deadline, log, instance)
        if outcome is None:
            path = "direct"
            outcome = direct(config, state, vips)
    except NotifyTimeout:
        outcome = Outcome(False, reason=f"no answer within {config.notify_timeout_seconds} s")
    if not outcome.answered:
        log.error("notify_failed", path=path, reason=outcome.reason, state=state)
        return 1
    answer = outcome.answer
    log.info(
        "notify_answered",
        path=path,
        state=state,
        decision=answer.get("decision"),
        reason=answer.get("reason"),
        to=answer.get("to"),
        instance=instance,
    )
    return 0


# keepalived's generic notify states beyond STATES; DELETED drops the alias like STOP.
KEEPALIVED_STATES = {**{state: state for state in STATES}, "DELETED": "STOP"}


def keepalived_args(values: list[str]) -> tuple[str, str, str]:
    """(TYPE, NAME, STATE) from what keepalived appends to a generic notify; ValueError if not."""
    if len(values) not in (3, 4) or values[0] not in ("INSTANCE", "GROUP"):
        raise ValueError(f"expected keepalived's TYPE NAME STATE [PRIORITY], not {' '.join(values)[:120]!r}")
    kind, name, state = values[:3]
    if state not in KEEPALIVED_STATES:
        raise ValueError(f"VRRP state must be one of {', '.join(KEEPALIVED_STATES)}, not {state[:20]!r}")
    return kind, name, KEEPALIVED_STATES[state]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="health_probe.notify", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="node agent YAML file")
    parser.add_argument("--state", choices=STATES, help="the VRRP state keepalived entered")
    parser.add_argument(
        "keepalived",
        nargs="*",
        metavar="TYPE NAME STATE PRIORITY",
        help="what keepalived appends to a generic notify script",
    )
    args = parser.parse_args(argv)
    kind, instance = "INSTANCE", None
    if args.keepalived:
        try:
            kind, instance, state = keepalived_args(args.keepalived)
        except ValueError as exc:
            print(f"health_probe.notify: {exc}", file=sys.stderr)
            return 2
        if args.state is not None and args.state != state:
            print(f"health_probe.notify: --state {args.state} contradicts keepalived's {state}", file=sys.stderr)
            return 2
        args.state = state
    if args.state is None:
        parser.error("give --state STATE or keepalived's TYPE NAME STATE PRIORITY")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"health_probe.notify: {exc}", file=sys.stderr)
        return 2
    if not config.fast_path_direct and not (config.function_id and config.invoke_endpoint):
        print(
            f"health_probe.notify: {args.config}: notify needs 'function_id' and 'invoke_endpoint', or 'fast_path_direct'",
            file=sys.stderr,
        )
        return 2
    to_stream("health_probe", "stdout")
    log = Logger("health_probe", node=config.node, component="notify")
    if kind == "GROUP":
        log.info(
            "notify_ignored",
            group=instance,
            state=args.state,
            reason="a sync group's notice: its instances notify on their own",
        )
        return 0

    def expire(*_: object) -> None:
        raise NotifyTimeout()

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(max(1, math.ceil(config.notify_timeout_seconds)))
    try:
        return notify(config, args.state, log, instance)
    except NotifyTimeout:
        log.error("notify_failed", reason=f"no answer within {config.notify_timeout_seconds} s", state=args.state)
        return 1
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
