"""``python -m health_probe --config FILE``: run the node agent until SIGTERM.
(``python -m health_probe install --config FILE`` installs it: health_probe/install.py.)

The agent serves the node's health endpoint (``endpoint_address``: GET /healthz on :8405, what
the function probes), keepalived's warm relay to the function when ``function_id`` and
``invoke_endpoint`` are set (127.0.0.1:8406, health_probe/relay.py; with ``fast_path_direct`` the
relay handles the notice itself, health_probe/direct.py), and runs the probe loop
that posts metrics to Monitoring. ``--no-metrics`` serves the endpoint and the relay only (the
lab without the alarm path).

Exit status 2 with a one-paragraph error for a bad configuration (systemd shows it and does not
restart-loop silently); 1 when credentials cannot be obtained or the endpoint cannot listen.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading

import requests

from failover.log import Logger, to_stream
from health_probe import direct
from health_probe.agent import Agent, Clock, SystemClock
from health_probe.clients import credentials, monitoring_ingestion_client
from health_probe.config import AgentConfig, ConfigError, load_config
from health_probe.endpoint import HealthEndpoint
from health_probe.invoke import warm
from health_probe.probe import probe
from health_probe.publish import post_batch
from health_probe.relay import Invoker, Relay


def build_agent(config: AgentConfig, log: Logger, clock: Clock | None = None) -> Agent:
    """Wire the real adapters: requests for probes, MonitoringClient for posts, and the system
    clock (tests hand in the emulator's scaled clock)."""
    creds = credentials(config)
    client = monitoring_ingestion_client(config, creds)
    session = requests.Session()
    return Agent(
        config=config,
        prober=lambda target, when: probe(session, target, config.timeout_seconds, when),
        poster=lambda batch: post_batch(client, batch, config.compartment_id),
        clock=clock or SystemClock(),
        log=log,
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install"]:
        from health_probe.install import main as install

        return install(argv[1:])
    parser = argparse.ArgumentParser(prog="health_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="node agent YAML file")
    parser.add_argument("--rounds", type=int, default=None, help="stop after N rounds (default: run until SIGTERM)")
    parser.add_argument(
        "--no-metrics", action="store_true", help="serve the health endpoint (and the relay) only; post no metrics"
    )
    args = parser.parse_args(argv)
    to_stream("health_probe", "stdout")  # the journal: journalctl -u vip-failover-probe -o cat
    log = Logger("health_probe")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"health_probe: {exc}", file=sys.stderr)
        return 2
    if args.no_metrics and config.endpoint_address is None:
        print(f"health_probe: {args.config}: --no-metrics needs 'endpoint_address'", file=sys.stderr)
        return 2
    log = log.bind(node=config.node)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        # First, and apart from Monitoring: the function's view of this node must not wait for
        # (or depend on) metric credentials.
        endpoint = HealthEndpoint(config, log.bind(component="endpoint")).start() if config.endpoint_address else None
    except OSError as exc:
        log.error(
            "start_failed",
            reason=f"health endpoint cannot listen on {config.endpoint_address}:{config.endpoint_port}: {exc.strerror}",
        )
        return 1
    relay = None
    try:
        # The relay's credentials are built in the background: nothing here waits for them.
        relay = start_relay(config, log) if takes_notices(config) else None
    except OSError as exc:
        # Not fatal: the health endpoint matters more, and notify invokes directly without a relay.
        log.error(
            "relay_failed",
            reason=f"relay cannot listen on {config.relay_address}:{config.relay_port}: {exc.strerror}",
            decision="run without it; notify invokes the function directly",
        )
    try:
        if args.no_metrics:
            while not stop.wait(1.0):
                pass
            return 0
        try:
            agent = build_agent(config, log)
        except Exception as exc:  # noqa: BLE001 - any credential failure ends start-up with its reason
            log.error("start_failed", reason=f"{type(exc).__name__}: {exc}", auth=config.auth)
            return 1
        agent.run(stop, max_rounds=args.rounds)
        return 0
    finally:
        for server in (relay, endpoint):
            if server is not None:
                server.stop()


def takes_notices(config: AgentConfig) -> bool:
    """Whether keepalived's notices have somewhere to go: the function, or the direct fast path."""
    return bool(config.fast_path_direct or config.function_id and config.invoke_endpoint)


def start_relay(config: AgentConfig, log: Logger) -> Relay:
    """keepalived's notices → the function through a warm client (health_probe/relay.py), or, with
    ``fast_path_direct``, → the function's core in this process (health_probe/direct.py)."""
    relay_log = log.bind(component="relay")
    factory = functools.partial(direct.warm if config.fast_path_direct else warm, config)
    invoker = Invoker(factory, relay_log, config.notify_timeout_seconds)
    return Relay(config, invoker, relay_log).start()


if __name__ == "__main__":
    sys.exit(main())
