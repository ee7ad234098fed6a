"""The warm relay: keepalived's notify → the node agent → the function, without a cold start.

A notify that starts Python, imports ``oci`` and fetches an instance-principal token (metadata
plus X.509 federation, several round trips) before it can invoke the function spends most of a
failover getting ready. The agent is already running with those credentials, so it keeps a
warm ``FunctionsInvokeClient`` and takes notices on a loopback-only listener:

    POST http://127.0.0.1:8406/notify   {"state": "MASTER", "instance": "vip_ipv4"}

``instance`` (optional) is the VRRP instance keepalived named; the relay maps it to its VIPs
with node-agent.yaml's ``vrrp_instances`` (``AgentConfig.vips_of``) and the notice to the
function carries them, so the function moves only their groups. An instance the mapping does
not name is refused (400): guessing "every VIP" could move a group keepalived did not move.

* Loopback only: the address must be a loopback address (config.py) and a client that is not
  on loopback is answered 403 (the notice is the node's own; nobody else may make it claim the
  floating IP).
* Bounded: a body of at most ``MAX_BODY_BYTES``, ``CLIENT_TIMEOUT_SECONDS`` to send it, at most
  ``MAX_PENDING`` notices at once (more are answered 503), one invoke at a time, each bounded
  by ``notify_timeout_seconds``.
* Acknowledge first: once the notice is accepted and the client is ready the relay sends the
  status line and headers at once (200), then the function's outcome as the body
  (notice.Outcome) when the invoke returns. The acknowledgement's ``X-Node`` and
  ``X-Notify-Timeout-Seconds`` are this config's ``node`` and ``notify_timeout_seconds``, so
  notify's relay path need not read node-agent.yaml (PyYAML) for them. notify waits only briefly for the acknowledgement
  and falls back to its own direct invoke when there is none, or a 503 (no credentials yet,
  busy), or no outcome: a second invoke is safe (the function re-reads, writes with if-match,
  and moves nothing that is already in place).
* Credentials are built off the start-up path (the health endpoint must not wait for them); if
  that fails, notices get 503 and start one more attempt in the background. The
  instance-principal token is refreshed in the background once past half its lifetime, so a
  failover never waits for the federation round trips.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from failover.log import Logger
from health_probe.config import AgentConfig
from health_probe.endpoint import send_json
from health_probe.notice import STATES, Outcome

MAX_BODY_BYTES = 1024
MAX_PENDING = 4
CLIENT_TIMEOUT_SECONDS = 2.0
KEEP_WARM_SECONDS = 60.0

# (state, the instance's VIPs or None for all) -> outcome, with the warm client inside (built by
# `Invoker`'s factory).
Invoke = Callable[[str, tuple[str, ...] | None], Outcome]


def is_loopback(host: str) -> bool:
    """Whether a peer address is loopback (127.0.0.0/8, ::1, IPv4-mapped loopback)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def parse_notice(raw: bytes) -> tuple[str, str | None]:
    """(state, VRRP instance or None) of a notice body ``{"state": "MASTER", "instance"?: NAME}``;
    ValueError says what is wrong."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ValueError("body is not JSON") from None
    expected = f'expected {{"state": one of {", ".join(STATES)}, "instance"?: a VRRP instance name}}'
    if not isinstance(body, dict) or "state" not in body or not set(body) <= {"state", "instance"}:
        raise ValueError(expected)
    instance = body.get("instance")
    if body["state"] not in STATES or not (instance is None or isinstance(instance, str) and instance):
        raise ValueError(expected)
    return body["state"], instance


class Invoker:
    """The warm invoke: built once by ``factory`` (credentials + client), one invoke at a time."""

    def __init__(
        self, factory: Callable[[], tuple[Invoke, Callable[[], None]]], log: Logger, timeout_seconds: float
    ) -> None:
        self._factory = factory
        self._log = log
        self._timeout = timeout_seconds
        self._invoke: Invoke | None = None
        self._keep_warm: Callable[[], None] = lambda: None
        self._building = threading.Lock()
        self._one_at_a_time = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._invoke is not None

    def build_in_background(self) -> None:
        """Start building the client unless a build is already running (never two at once)."""
        if self._building.acquire(blocking=False):
            threading.Thread(target=self._build, name="relay-build", daemon=True).start()

    def _build(self) -> None:
        try:
            self._invoke, self._keep_warm = self._factory()
            self._log.info("relay_ready", reason="function client and credentials built")
        except Exception as exc:  # noqa: BLE001 - any credential failure: notices fall back until it works
            self._log.warning(
                "relay_not_ready",
                reason=f"{type(exc).__name__}: {exc}",
                decision="answer 503 (notify invokes directly); retry on the next notice",
            )
        finally:
            self._building.release()

    def keep_warm(self) -> None:
        if self._invoke is None:
            return
        try:
            self._keep_warm()
        except Exception as exc:  # noqa: BLE001 - the next notice's signing refreshes it anyway
            self._log.warning("relay_refresh_failed", reason=f"{type(exc).__name__}: {exc}")

    def __call__(self, state: str, vips: tuple[str, ...] | None = None) -> Outcome:
        invoke = self._invoke
        assert invoke is not None
        if not self._one_at_a_time.acquire(timeout=self._timeout):
            return Outcome(False, reason=f"another notice's invoke ran longer than {self._timeout:g} s")
        try:
            return invoke(state, vips)
        finally:
            self._one_at_a_time.release()


class Relay:
    """The loopback listener around an ``Invoker``; logs every notice and its outcome."""

    def __init__(self, config: AgentConfig, invoker: Invoker, log: Logger) -> None:
        self._config = config
        self._invoker = invoker
        self._log = log
        self._pending = threading.BoundedSemaphore(MAX_PENDING)
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer((config.relay_address, config.relay_port), self._handler())
        self._server.daemon_threads = True
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, name="relay", daemon=True
            ),
            threading.Thread(target=self._warm_loop, name="relay-keep-warm", daemon=True),
        ]

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}/notify"

    def start(self) -> Relay:
        self._invoker.build_in_background()
        for thread in self._threads:
            thread.start()
        self._log.info("relay_started", url=self.url)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _warm_loop(self) -> None:
        while not self._stop.wait(KEEP_WARM_SECONDS):
            self._invoker.keep_warm()

    def relay(self, state: str, vips: tuple[str, ...] | None, acknowledge: Callable[[], None]) -> Outcome:
        """Acknowledge, invoke (one at a time), log the outcome."""
        acknowledge()
        outcome = self._invoker(state, vips)
        covers = list(vips) if vips is not None else None  # None: every VIP
        if outcome.answered:
            self._log.info(
                "relay_answered",
                state=state,
                decision=outcome.answer.get("decision"),
                reason=outcome.answer.get("reason"),
                to=outcome.answer.get("to"),
                vips=covers,
            )
        else:
            self._log.error("relay_failed", state=state, reason=outcome.reason, vips=covers)
        return outcome

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        relay = self

        class Handler(BaseHTTPRequestHandler):
            timeout = CLIENT_TIMEOUT_SECONDS

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                problem = self._refusal()
                if problem:
                    status, reason = problem
                    relay._log.warning("relay_refused", client=self.client_address[0], status=status, reason=reason)
                    self._answer(status, {"answered": False, "reason": reason})
                    return
                if not relay._pending.acquire(blocking=False):
                    self._answer(503, {"answered": False, "reason": f"{MAX_PENDING} notices already pending"})
                    return
                try:
                    self._relay()
                finally:
                    relay._pending.release()

            def _refusal(self) -> tuple[int, str] | None:
                if not is_loopback(self.client_address[0]):
                    return 403, "the relay takes notices from this node's loopback only"
                if self.path != "/notify":
                    return 404, "POST /notify"
                length = self.headers.get("Content-Length", "")
                if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                    return 413, f"a body of at most {MAX_BODY_BYTES} bytes with Content-Length"
                return None

            def _relay(self) -> None:
                try:
                    state, instance = parse_notice(self.rfile.read(int(self.headers["Content-Length"])))
                    vips = relay._config.vips_of(instance)
                except (ValueError, OSError) as exc:
                    relay._log.warning("relay_refused", client=self.client_address[0], status=400, reason=str(exc))
                    self._answer(400, {"answered": False, "reason": str(exc)})
                    return
                if not relay._invoker.ready:
                    relay._invoker.build_in_background()
                    self._answer(503, {"answered": False, "reason": "the relay has no function client yet"})
                    return
                outcome = relay.relay(state, vips, self._acknowledge)
                try:
                    self.wfile.write(json.dumps(outcome.wire()).encode())
                except OSError:
                    relay._log.warning(
                        "relay_client_gone",
                        state=state,
                        reason="notify stopped waiting before the outcome (it logs its own)",
                    )

            def _acknowledge(self) -> None:
                """Status line and headers now; the body (no length: the connection closes) later."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                # What notify would otherwise read node-agent.yaml (PyYAML) for: its log lines'
                # node and its own bound while it waits for the outcome.
                self.send_header("X-Node", relay._config.node)
                self.send_header("X-Notify-Timeout-Seconds", str(relay._config.notify_timeout_seconds))
                self.end_headers()
                self.wfile.flush()

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                send_json(self, status, body, {"Connection": "close"})

            def log_message(self, *args: object) -> None:
                """Silent per request: notices and outcomes are logged as JSON lines instead."""

        return Handler
