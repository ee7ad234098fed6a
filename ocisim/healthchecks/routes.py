"""Health Checks 20180501 paths as HealthChecksClient sends them."""

from ocisim.healthchecks import handlers as h
from ocisim.service import Route

BASE = "/20180501"

ROUTES = [
    Route("POST", f"{BASE}/httpMonitors", "CreateHttpMonitor", h.create_http_monitor),
    Route("GET", f"{BASE}/httpMonitors", "ListHttpMonitors", h.list_http_monitors),
    Route("GET", f"{BASE}/httpMonitors/{{monitorId}}", "GetHttpMonitor", h.get_http_monitor),
    Route("GET", f"{BASE}/vantagePoints", "ListHealthChecksVantagePoints", h.list_vantage_points),
    Route(
        "GET", f"{BASE}/httpProbeResults/{{probeConfigurationId}}", "ListHttpProbeResults", h.list_http_probe_results
    ),
]
