"""Node health probes over HTTP: healthy, down, or unknown, never guessed.

The distinction between *down* and *unknown* is the safety of the whole controller (a probe
that cannot reach a node must not be read as "the node is dead", the failure mode of
ClusterLabs resource-agents #2020):

* healthy: the health URL answered 2xx, and if the answer names a node (the node agent's JSON
  always carries ``node``) it is the node that was asked about; a 2xx naming another node is
  *unknown*: a copy-pasted or re-used address must never vouch for a node;
* down: the node answered and said no, i.e. a non-2xx status, or the connection was actively
  refused (the host is up and nothing listens: haproxy is gone);
* unknown: anything that proves nothing about the node: timeouts, unreachable networks, DNS,
  an answer that did not complete in time or is larger than ``MAX_ANSWER_BYTES``.

Per address family (``health_for``): the agent answers 200 only while it serves every floating
IP, and says per family whether it serves that one (``serving_families``; keepalived runs one
VRRP instance per family, which may change state a moment apart). A node that answered 503 but
serves every family of a VIP group is healthy *for that group*: an IPv6 group may go to the node
whose vip_ipv6 instance took the alias before its vip_ipv4 instance did.

Whether the node's keepalived runs (``keepalived_of``): the agent's ``keepalived`` field,
``running`` or ``not running``; anything else (``unknown``, absent in an older agent's answer, no
answer at all) is None, never a guess. It is no part of the health: a node whose keepalived was
SIGKILLed keeps the alias and serves (decide.py, rule 4b).

Bounds that hold against a slow or hostile endpoint: a short *connect* timeout
(``PROBE_CONNECT_TIMEOUT_SECONDS``, 0.02 s by default, why in config.py: a live node's kernel
accepts within the VCN's round trip even while its agent is stalled, which then answers within
the read timeout), and ``PROBE_TIMEOUT_SECONDS`` for the **whole** probe, headers and body: a
server that trickles its answer a byte at a time is cut off at that deadline (its socket is
shut down, which ends the blocked read at once), and at most ``MAX_ANSWER_BYTES`` of a body are
ever read. ``probe_nodes`` returns only once every probe thread has ended, so no probe outlives
the invocation in a warm container.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .config import Node
from .decide import Health

MAX_ANSWER_BYTES = 64 * 1024  # the agent's answer is a few hundred bytes
# After the deadline a cut-off probe needs a moment to notice its socket was shut down.
ABORT_GRACE_SECONDS = 0.5
_CHUNK = 4096


@dataclass(frozen=True)
class ProbeResult:
    health: Health
    detail: str
    # The agent's JSON answer (health_probe/serving.py: node, serving, haproxy, vip_alias, reason,
    # serving_families, keepalived) when the answer was a JSON object; what the doctor reads of
    # keepalived's alias and what keepalived_of reads.
    report: Mapping[str, Any] | None = field(default=None, compare=False)


class _AbortableAdapter(HTTPAdapter):
    """An adapter that remembers the sockets it opens, so that a probe past its deadline can be
    cut off from another thread (``abort``) instead of being waited for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._aborted = False
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        track = self._track

        class Tracked(HTTPConnection):
            def connect(self) -> None:
                super().connect()
                track(self.sock)

        class TrackedTls(HTTPSConnection):
            def connect(self) -> None:
                super().connect()
                track(self.sock)

        class Pool(HTTPConnectionPool):
            ConnectionCls = Tracked

        class TlsPool(HTTPSConnectionPool):
            ConnectionCls = TrackedTls

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TlsPool}

    def _track(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            aborted = self._aborted
        if aborted:
            _shut(sock)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _session(adapter: _AbortableAdapter | None = None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not stand between us and a node
    adapter = adapter or _AbortableAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def probe(
    url: str,
    timeout: float,
    session: requests.Session | None = None,
    connect_timeout: float | None = None,
    node: str | None = None,
) -> ProbeResult:
    """GET ``url`` once and classify the outcome; ``node`` is the name the answer must carry.

    ``timeout`` bounds each read here; ``probe_nodes`` bounds the whole probe."""
    session = session or _session()
    connect = timeout if connect_timeout is None else connect_timeout
    try:
        with session.get(url, timeout=(connect, timeout), allow_redirects=False, stream=True) as response:
            body = _capped(response.raw.stream(_CHUNK, decode_content=False))
            status = response.status_code
    except requests.ConnectTimeout:
        return ProbeResult(Health.UNKNOWN, f"no connection within {connect:g}s")
    except requests.Timeout:
        return ProbeResult(Health.UNKNOWN, f"timed out after {timeout:g}s")
    except _TooLarge:
        return ProbeResult(Health.UNKNOWN, f"answer larger than {MAX_ANSWER_BYTES} bytes")
    except requests.ConnectionError as exc:
        if _refused(exc):
            return ProbeResult(Health.DOWN, "connection refused")
        return ProbeResult(Health.UNKNOWN, f"unreachable ({type(_root(exc)).__name__})")
    except Exception as exc:  # urllib3's own errors mid-stream: a socket shut down at the deadline, a broken chunk
        return ProbeResult(Health.UNKNOWN, f"probe failed ({type(exc).__name__})")
    return _classify(status, body, node)


class _TooLarge(Exception):
    pass


def _capped(chunks: Iterator[bytes]) -> bytes:
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise _TooLarge()
    return bytes(body)


def _report(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _classify(status: int, body: bytes, node: str | None) -> ProbeResult:
    report = _report(body)
    who = report.get("node") if report is not None else None
    who = who if isinstance(who, str) else None
    if node is not None and who is not None and who != node:
        return ProbeResult(
            Health.UNKNOWN, f"HTTP {status} answered by {who[:64]!r}, not {node}: wrong node behind this URL"
        )
    if 200 <= status < 300:
        return ProbeResult(Health.HEALTHY, f"HTTP {status}", report)
    return ProbeResult(Health.DOWN, f"HTTP {status}", report)


def health_for(result: ProbeResult, families: Collection[str]) -> Health:
    """The node's health for a VIP group of these address families (see the module docstring)."""
    if result.health is not Health.DOWN or result.report is None or not families:
        return result.health
    serving = result.report.get("serving_families")
    if isinstance(serving, dict) and all(serving.get(name) is True for name in families):
        return Health.HEALTHY
    return Health.DOWN


def keepalived_of(result: ProbeResult) -> bool | None:
    """Whether the node's keepalived runs, as its agent says (see the module docstring)."""
    said = result.report.get("keepalived") if result.report is not None else None
    return {"running": True, "not running": False}.get(said) if isinstance(said, str) else None


def probe_nodes(nodes: Sequence[Node], timeout: float, connect_timeout: float) -> Mapping[str, ProbeResult]:
    """Probe every node at once; return within ``timeout`` (plus a short grace to cut off the
    laggards), with every probe thread ended (joined, not merely abandoned)."""
    adapters = {node.name: _AbortableAdapter() for node in nodes}
    results: dict[str, ProbeResult] = {}

    def run(node: Node) -> None:
        results[node.name] = probe(node.health_url, timeout, _session(adapters[node.name]), connect_timeout, node.name)

    threads = {
        node.name: threading.Thread(target=run, args=(node,), name=f"probe-{node.name}", daemon=True) for node in nodes
    }
    deadline = time.monotonic() + timeout
    for thread in threads.values():
        thread.start()
    for thread in threads.values():
        thread.join(max(0.0, deadline - time.monotonic()))
    late = {name for name, thread in threads.items() if thread.is_alive()}
    for name in late:
        adapters[name].abort()
    grace = time.monotonic() + ABORT_GRACE_SECONDS
    for name in late:
        threads[name].join(max(0.0, grace - time.monotonic()))
    return {
        node.name: ProbeResult(Health.UNKNOWN, f"no complete answer within {timeout:g}s")
        if node.name in late
        else results[node.name]
        for node in nodes
    }


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nxt = current.__cause__ or current.__context__
        reason = getattr(current, "reason", None)
        current = nxt if nxt is not None else (reason if isinstance(reason, BaseException) else None)


def _refused(exc: BaseException) -> bool:
    return any(isinstance(e, ConnectionRefusedError) for e in _chain(exc))


def _root(exc: BaseException) -> BaseException:
    *_, last = _chain(exc)
    return last
