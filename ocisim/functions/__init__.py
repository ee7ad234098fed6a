"""Functions: runs the attached function directory under fdk, as the Fn runtime does, and
serves InvokeFunction so `oci.functions.FunctionsInvokeClient` reaches it unmodified."""

from collections.abc import Mapping
from typing import Any

from ocisim.functions.models import function_cold_start
from ocisim.functions.routes import ROUTES
from ocisim.functions.runtime import start, stop
from ocisim.service import Service


def _seed(topology: Mapping[str, Any], backend: Any) -> dict[str, dict[str, Any]]:
    """The topology's `functions` list, by OCID (name, application, timeout, config map, and
    the emulator's `coldStart` and `provisionedConcurrencyConfig`, checked here)."""
    functions = {f["id"]: dict(f) for f in topology.get("functions", [])}
    for function in functions.values():
        function_cold_start(function, backend.options)
    return functions


SERVICE = Service(name="functions", routes=ROUTES, seed=_seed, start=start, stop=stop)
