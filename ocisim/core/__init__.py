"""Core Services (networking and compute) of the emulator: what a VIP failover touches."""

from typing import Any, Mapping

from ocisim.core.models import CoreState, seed
from ocisim.core.routes import ROUTES
from ocisim.service import Service


def _seed(topology: Mapping[str, Any], backend: Any) -> CoreState:
    return seed(topology, backend.clock.iso_now())


SERVICE = Service(name="core", routes=ROUTES, seed=_seed, load=CoreState.from_json,
                  dump=CoreState.to_json)
