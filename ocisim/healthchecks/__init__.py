"""Emulated OCI Health Checks: HTTP monitors that probe their targets from vantage points and
publish `oci_healthchecks` metrics into the emulator's Monitoring.

Pure parts: ``models`` (monitors, the rules of CreateHttpMonitor, the guard on targets, vantage
points), ``results`` (a probe's outcome as a result summary and as metric datapoints). Shell:
``prober`` (the HTTP client), ``vantage`` (probing from another network namespace), ``runner``
(the loop that probes at each monitor's interval), ``handlers``/``routes`` (wire format).
"""

from ocisim.healthchecks.models import HealthChecksState, seed
from ocisim.healthchecks.routes import ROUTES
from ocisim.healthchecks.runner import start, stop
from ocisim.service import Service

SERVICE = Service(
    name="healthchecks",
    routes=ROUTES,
    seed=seed,
    load=HealthChecksState.from_json,
    dump=HealthChecksState.to_json,
    start=start,
    stop=stop,
    depends_on=("monitoring",),
)
