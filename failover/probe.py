"""Node health probes over HTTP: healthy, down, or unknown, never guessed.

The distinction between *down* and *unknown* is the safety of the whole controller (a probe
that cannot reach a node must not be read as "the node is dead", the failure mode of
ClusterLabs resource-agents #2020):

* healthy: the health URL answered 2xx;
* down: the node answered and said no, i.e. a non-2xx status, or the connection was actively
  refused (the host is up and nothing listens: haproxy is gone);
* unknown: anything that proves nothing about the node: timeouts, unreachable networks, DNS.

Two timeouts: a short *connect* timeout (``PROBE_CONNECT_TIMEOUT_SECONDS``; the nodes share the
function's VCN, a live node accepts in milliseconds) and the longer *read* timeout
(``PROBE_TIMEOUT_SECONDS``) for a node that accepted but is slow to answer. A dead link costs
the connect timeout, not the read timeout, and still reads as *unknown*, never *down*.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence

import requests

from .config import Node
from .decide import Health


@dataclass(frozen=True)
class ProbeResult:
    health: Health
    detail: str


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not stand between us and a node
    return session


def probe(url: str, timeout: float, session: requests.Session | None = None,
          connect_timeout: float | None = None) -> ProbeResult:
    """GET ``url`` once (``connect_timeout`` to connect, default ``timeout``; ``timeout`` to
    read); classify the outcome."""
    session = session or _session()
    connect = timeout if connect_timeout is None else connect_timeout
    try:
        response = session.get(url, timeout=(connect, timeout), allow_redirects=False)
        response.close()
    except requests.ConnectTimeout:
        return ProbeResult(Health.UNKNOWN, f"no connection within {connect:g}s")
    except requests.Timeout:
        return ProbeResult(Health.UNKNOWN, f"timed out after {timeout:g}s")
    except requests.ConnectionError as exc:
        if _refused(exc):
            return ProbeResult(Health.DOWN, "connection refused")
        return ProbeResult(Health.UNKNOWN, f"unreachable ({type(_root(exc)).__name__})")
    except requests.RequestException as exc:
        return ProbeResult(Health.UNKNOWN, f"probe failed ({type(exc).__name__})")
    if 200 <= response.status_code < 300:
        return ProbeResult(Health.HEALTHY, f"HTTP {response.status_code}")
    return ProbeResult(Health.DOWN, f"HTTP {response.status_code}")


def probe_nodes(nodes: Sequence[Node], timeout: float, connect_timeout: float) -> Mapping[str, ProbeResult]:
    """Probe every node at once, so one invocation waits at most one timeout for all of them."""
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        results = pool.map(lambda n: probe(n.health_url, timeout, _session(), connect_timeout), nodes)
        return {node.name: result for node, result in zip(nodes, results)}


def _chain(exc: BaseException):
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
