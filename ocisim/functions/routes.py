"""Functions invoke paths, as `FunctionsInvokeClient` sends them.

Current SDKs use the `/20260325` prefix, older ones `/20181201`: one route matches both, since
an operation name is registered once. The SDK does not sign the invoke body.
"""

from ocisim.functions.handlers import invoke_function
from ocisim.service import Route

ROUTES = [
    Route("POST", "/{apiVersion:(20181201|20260325)}/functions/{functionId}/actions/invoke", "InvokeFunction",
          invoke_function, sign_body=False),
]
