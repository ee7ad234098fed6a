"""Core Services (networking and compute) of the emulator: what a VIP failover touches."""

from collections.abc import Mapping
from typing import Any

from ocisim.core import ipv6, routing
from ocisim.core.models import CoreState, seed
from ocisim.core.routes import ROUTES
from ocisim.service import Service


def _seed(topology: Mapping[str, Any], backend: Any) -> CoreState:
    created = backend.clock.iso_now()
    state = seed(topology, created)
    ipv6.seed(state, topology, created)
    routing.seed(state, topology, created)
    return state


SERVICE = Service(name="core", routes=ROUTES, seed=_seed, load=CoreState.from_json, dump=CoreState.to_json)
