"""``python -m health_probe.notify --config FILE [--relay ADDRESS:PORT] --state STATE``: keepalived → function.

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
token fetch here. Every millisecond before the relay has the notice is failover time, so with
``--relay ADDRESS:PORT`` (as terraform renders the command) the relay path reads no
configuration: it imports the standard library's socket and json, the notice's vocabulary and
the project's logger only (no PyYAML, no http.client: the relay's HTTP/1.0 answer is read here,
bounded in time and size), and learns the node and ``notify_timeout_seconds`` from the relay's
acknowledgement. node-agent.yaml is read only when needed: without ``--relay``, for a GROUP
notice, and for the fallback. Neither argparse nor typing nor dataclasses either (about 20 ms
together): on a 2-core host, exec to the notice at the relay takes ~35 ms (Python alone ~12),
where reading the config and using http.client first took ~100.

When the relay does not acknowledge within ``RELAY_ACK_SECONDS`` (agent down, no credentials
yet, busy) or acknowledges but delivers no outcome, it invokes the function directly with the same credentials as the agent (instance principals on OCI, the
config file by hand), importing ``oci`` only then; with ``fast_path_direct`` (terraform's
``fast_path_mode = "direct"``) the relay and this fallback run the function's core on the node
instead of invoking it (health_probe/direct.py). A second invoke is safe: the function re-reads
and writes with if-match. keepalived never times out a notify script, so the whole run is
bounded by ``notify_timeout_seconds`` from its start: SDK retries stop at that deadline and a
hard alarm ends the process.

Logs one JSON line per outcome: ``notify_answered`` (the function's decision) or
``notify_failed``, each with ``path`` ``relay`` or ``direct``; ``relay_unavailable`` before a
fallback says why. An instance that ``vrrp_instances`` does not map is refused by the relay,
and then here (``notify_failed``, exit 2): nothing is sent to the function.

Exit status: 0 the function answered (its decision is logged), 1 it could not be reached or
failed in time, 2 bad configuration.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import time

from failover.log import Logger, to_stream
from health_probe.notice import STATES, Outcome

# Not `typing.TYPE_CHECKING`: typing costs ~3 ms here (mypy reads this one the same way).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from health_probe.config import AgentConfig

# The relay acknowledges as soon as it has read the notice (loopback: milliseconds); longer
# means it is stuck, and the direct invoke still has the rest of the budget.
RELAY_ACK_SECONDS = 0.5
# What notify reads of the relay's answer: its status line and headers, then the outcome.
MAX_HEAD_BYTES = 4096
MAX_OUTCOME_BYTES = 64 * 1024


class NotifyTimeout(Exception):
    """The notify ran past ``notify_timeout_seconds``."""


class BadConfiguration(Exception):
    """node-agent.yaml is unreadable, invalid, or names no function to notify (exit 2)."""


class UnknownInstance(Exception):
    """keepalived named a VRRP instance that ``vrrp_instances`` does not map (exit 2)."""


class RelayUnavailable(Exception):
    """The relay delivered no outcome (the caller invokes directly); the message says why."""


class Run:
    """One notify: what it knows of the agent's configuration so far, and its hard bound.

    The relay path learns the node and ``notify_timeout_seconds`` from the relay's
    acknowledgement (the agent read the same node-agent.yaml); the configuration itself is read
    (PyYAML) only when notify needs it: the fallback, a GROUP notice, or no ``--relay``."""

    def __init__(self, config_path: str, state: str, instance: str | None) -> None:
        self.started = time.monotonic()
        self.config_path = config_path
        self.state = state
        self.instance = instance
        self.config: AgentConfig | None = None
        self.node: str | None = None
        self.timeout_seconds = 0.0

    @property
    def deadline(self) -> float:
        return self.started + self.timeout_seconds

    @property
    def log(self) -> Logger:
        return Logger("health_probe", node=self.node, component="notify")

    def bound(self, node: str, timeout_seconds: float) -> None:
        """Arm the hard alarm at ``timeout_seconds`` after the start (keepalived never times out
        a notify script), SDK retries and socket waits included."""
        self.node, self.timeout_seconds = node, timeout_seconds
        signal.signal(signal.SIGALRM, _expire)
        signal.setitimer(signal.ITIMER_REAL, max(0.001, self.deadline - time.monotonic()))

    def load(self) -> AgentConfig:
        """node-agent.yaml, read once; BadConfiguration when notify cannot use it."""
        if self.config is None:
            from health_probe.config import ConfigError, load_config

            try:
                config = load_config(self.config_path)
            except ConfigError as exc:
                raise BadConfiguration(str(exc)) from None
            if not config.fast_path_direct and not (config.function_id and config.invoke_endpoint):
                raise BadConfiguration(
                    f"{self.config_path}: notify needs 'function_id' and 'invoke_endpoint', or 'fast_path_direct'"
                )
            self.config = config
            self.bound(config.node, config.notify_timeout_seconds)
        return self.config


def _expire(*_: object) -> None:
    raise NotifyTimeout()


def via_relay(run: Run, relay: tuple[str, int]) -> Outcome:
    """The function's outcome through the agent's relay (HTTP/1.0 on loopback, read here with a
    total deadline and bounded sizes); RelayUnavailable when it delivers none."""
    body = {"state": run.state} if run.instance is None else {"state": run.state, "instance": run.instance}
    data = json.dumps(body).encode()
    request = b"POST /notify HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(data)
    acknowledge_by = time.monotonic() + RELAY_ACK_SECONDS
    try:
        with socket.socket(_family(relay[0]), socket.SOCK_STREAM) as sock:
            sock.settimeout(RELAY_ACK_SECONDS)
            sock.connect(relay)
            sock.sendall(request + data)
            status, headers, rest = _read_head(sock, acknowledge_by)
            if status != 200:
                answer = Outcome.from_wire(_json(_read_to_end(sock, rest, acknowledge_by)))
                raise RelayUnavailable(f"HTTP {status}: {answer.reason}")
            # Acknowledged: the relay is invoking; wait for its outcome inside our own budget.
            node, timeout_seconds = headers.get("x-node"), _seconds(headers.get("x-notify-timeout-seconds"))
            if node and timeout_seconds:
                run.bound(node, timeout_seconds)
            else:  # an agent started before its relay said these: read them where it did
                run.load()
            outcome = Outcome.from_wire(_json(_read_to_end(sock, rest, run.deadline)))
    except OSError as exc:
        raise RelayUnavailable(f"{type(exc).__name__}: {exc}") from None
    if not outcome.answered:
        raise RelayUnavailable(f"the relay got no answer: {outcome.reason}")
    return outcome


def _read_head(sock: socket.socket, deadline: float) -> tuple[int, dict[str, str], bytes]:
    """(status, headers by lower-case name, what followed them) of an HTTP answer."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            raise RelayUnavailable(f"the relay's answer has no end of headers within {MAX_HEAD_BYTES} bytes")
        chunk = _recv(sock, deadline)
        if not chunk:
            raise RelayUnavailable("the relay closed the connection before answering")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise RelayUnavailable(f"the relay's answer is not HTTP: {status_line[:80]!r}")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(parts[1]), headers, rest


def _read_to_end(sock: socket.socket, data: bytes, deadline: float) -> bytes:
    """The body after the headers: the relay closes the connection after it. Past
    ``MAX_OUTCOME_BYTES`` it is cut (and then malformed JSON: no outcome)."""
    while len(data) <= MAX_OUTCOME_BYTES:
        chunk = _recv(sock, deadline)
        if not chunk:
            break
        data += chunk
    return data


def _recv(sock: socket.socket, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("timed out")
    sock.settimeout(remaining)
    return sock.recv(65536)


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if 0 < value < float("inf") else None


def direct(config: AgentConfig, state: str, vips: tuple[str, ...] | None = None) -> Outcome:
    """The cold path: build credentials and a client here, then invoke (imports oci); with
    ``fast_path_direct``, run the function's core here instead (health_probe/direct.py)."""
    if config.fast_path_direct:
        from health_probe.clients import credentials
        from health_probe.direct import build_runtime, handle_notice

        return handle_notice(lambda: build_runtime(config, credentials(config)), config, state, vips)
    from health_probe.invoke import invoke, invoke_client

    return invoke(invoke_client(config), config, state, vips)


def instance_vips(run: Run, config: AgentConfig) -> tuple[str, ...] | None:
    """The VIPs of the instance keepalived named (None: every VIP); UnknownInstance if unmapped."""
    try:
        return config.vips_of(run.instance)
    except ValueError as exc:
        raise UnknownInstance(str(exc)) from None


def notify(run: Run, relay: tuple[str, int] | None) -> int:
    """Relay first, else direct; log the outcome; return the exit status. Without ``relay``,
    the configuration is read first and names it."""
    path = "relay"
    try:
        if relay is None:
            config = run.load()
            instance_vips(run, config)
            relay = (config.relay_address, config.relay_port)
        try:
            outcome = via_relay(run, relay)
        except RelayUnavailable as unavailable:
            config = run.load()
            run.log.warning("relay_unavailable", state=run.state, reason=str(unavailable))
            path = "direct"
            outcome = direct(config, run.state, instance_vips(run, config))
    except UnknownInstance as exc:
        run.log.error("notify_failed", reason=f"{exc}: nothing sent", state=run.state, instance=run.instance)
        return 2
    except NotifyTimeout:
        outcome = Outcome(False, reason=f"no answer within {run.timeout_seconds:g} s")
    if not outcome.answered:
        run.log.error("notify_failed", path=path, reason=outcome.reason, state=run.state)
        return 1
    answer = outcome.answer
    run.log.info(
        "notify_answered",
        path=path,
        state=run.state,
        decision=answer.get("decision"),
        reason=answer.get("reason"),
        to=answer.get("to"),
        instance=run.instance,
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


USAGE = (
    "usage: python -m health_probe.notify --config FILE [--relay ADDRESS:PORT]"
    " (--state STATE | TYPE NAME STATE [PRIORITY])"
)
OPTIONS = ("--config", "--relay", "--state")


class Usage(Exception):
    """The command line is wrong; the message says how (exit 2)."""


def command_line(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """notify's options (``--name VALUE`` or ``--name=VALUE``, each once) and what keepalived
    appended. Not argparse: its import and help formatter (shutil, gettext's locale) cost about
    10 ms of every notify."""
    options: dict[str, str] = {}
    appended: list[str] = []
    values = iter(argv)
    for value in values:
        name, equals, given = value.partition("=")
        if name in OPTIONS:
            if name in options:
                raise Usage(f"{name} given twice")
            option = given if equals else next(values, None)
            if option is None:
                raise Usage(f"{name} needs a value")
            options[name] = option
        elif value.startswith("-"):
            raise Usage(f"unknown option {value[:40]!r}")
        else:
            appended.append(value)
    if "--config" not in options:
        raise Usage("--config FILE is required")
    return options, appended


def relay_address(text: str) -> tuple[str, int]:
    """``--relay ADDRESS:PORT`` (an IP address, IPv6 in brackets or not) as a socket address:
    never a name, so that no resolver runs before the notice is sent."""
    host, _, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        socket.inet_pton(_family(host), host)
    except OSError:
        raise Usage(f"--relay: expected IP-ADDRESS:PORT, not {text[:80]!r}") from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise Usage(f"--relay: expected IP-ADDRESS:PORT, not {text[:80]!r}")
    return host, int(port)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if "-h" in arguments or "--help" in arguments:
        print(f"{USAGE}\n\n{__doc__}")
        return 0
    try:
        options, appended = command_line(arguments)
        relay = relay_address(options["--relay"]) if "--relay" in options else None
        state = options.get("--state")
        if state is not None and state not in STATES:
            raise Usage(f"--state must be one of {', '.join(STATES)}, not {state[:20]!r}")
        kind, instance = "INSTANCE", None
        if appended:
            try:
                kind, instance, appended_state = keepalived_args(appended)
            except ValueError as exc:
                raise Usage(str(exc)) from None
            if state is not None and state != appended_state:
                raise Usage(f"--state {state} contradicts keepalived's {appended_state}")
            state = appended_state
        if state is None:
            raise Usage("give --state STATE or keepalived's TYPE NAME STATE PRIORITY")
    except Usage as exc:
        print(f"health_probe.notify: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    to_stream("health_probe", "stdout")
    run = Run(options["--config"], state, instance)
    try:
        if kind == "GROUP":
            run.load()
            run.log.info(
                "notify_ignored",
                group=instance,
                state=state,
                reason="a sync group's notice: its instances notify on their own",
            )
            return 0
        return notify(run, relay)
    except BadConfiguration as exc:
        print(f"health_probe.notify: {exc}", file=sys.stderr)
        return 2
    except NotifyTimeout:
        run.log.error("notify_failed", reason=f"no answer within {run.timeout_seconds:g} s", state=state)
        return 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


if __name__ == "__main__":
    sys.exit(main())
