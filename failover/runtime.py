"""What one container keeps between invocations: the validated config and the clients built from it.

Clients are built on first use and kept (keyed on every environment key the function and the SDK
read), so a warm container pays for neither again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .announce import Announcer, build_announcer
from .config import ENV_KEYS, Config, Node
from .network import CREDENTIAL_KEYS, Network, build_network
from .probe import ProbeResult, probe_nodes

# (nodes, whole-probe timeout, connect timeout) -> result per node name.
Prober = Callable[[Sequence[Node], float, float], Mapping[str, ProbeResult]]


@dataclass
class Runtime:
    """Validated config and built clients; time and probes handed in so tests can swap them."""

    config: Config
    network: Network
    prober: Prober = probe_nodes
    clock: Callable[[], float] = time.time
    announcer: Announcer | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # what the clients were built from (the doctor's too)


_cache: dict[tuple[str | None, ...], Runtime] = {}


def runtime_for(env: Mapping[str, str]) -> Runtime:
    """The container's runtime, built on first use (clients are built once, not per call)."""
    key = tuple(env.get(k) for k in ENV_KEYS + CREDENTIAL_KEYS)
    if key not in _cache:
        config = Config.from_env(env)
        endpoint = config.service_endpoint
        _cache[key] = Runtime(
            config=config,
            network=build_network(env, endpoint),
            announcer=build_announcer(env, config.events_topic_id, config.compartment_id, endpoint),
            env=dict(env),
        )
    return _cache[key]
