"""Functions paths, as `FunctionsManagementClient` and `FunctionsInvokeClient` send them.

Current SDKs use the `/20260325` prefix, older ones `/20181201`: one route matches both, since
an operation name is registered once. The SDK does not sign the invoke body. The `/_admin/`
routes are the emulator's own (ocisim.functions.handlers), for benchmarks.
"""

from ocisim.functions import handlers as h
from ocisim.service import Route

BASE = "/{apiVersion:(20181201|20260325)}"

ROUTES = [
    Route("GET", f"{BASE}/applications", "ListApplications", h.list_applications),
    Route("GET", f"{BASE}/applications/{{applicationId}}", "GetApplication", h.get_application),
    Route("GET", f"{BASE}/functions", "ListFunctions", h.list_functions),
    Route("GET", f"{BASE}/functions/{{functionId}}", "GetFunction", h.get_function),
    Route(
        "POST", f"{BASE}/functions/{{functionId}}/actions/invoke", "InvokeFunction", h.invoke_function, sign_body=False
    ),
    Route("GET", "/_admin/functions", "AdminGetFunctionContainers", h.get_containers, auth="admin"),
    Route("POST", "/_admin/functions/{functionId}/idle", "AdminIdleFunction", h.force_idle, auth="admin"),
]
