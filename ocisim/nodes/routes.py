"""Paths of the simulated health endpoints and of the admin switch that makes a node fail."""

from ocisim.nodes.handlers import get_health, set_health
from ocisim.service import Route

ROUTES = [
    Route("GET", "/_sim/nodes/{name}/healthz", "SimGetNodeHealth", get_health, auth="none"),
    Route("PUT", "/_admin/nodes/{name}", "AdminSetNodeHealth", set_health, auth="admin"),
]
