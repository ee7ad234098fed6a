"""InvokeFunction: forward the body to the function's fdk server over its unix socket.

Async (it waits for the function, which calls back into this emulator), so it takes the
backend lock only to look the function up. The answer is relayed as Fn relays it: the
function's body and content type with 200; a function that failed (fdk 502) or ran past its
timeout (504) becomes an OCI error with that status.
"""

from __future__ import annotations

from ocisim.errors import OciError, not_found
from ocisim.functions.runtime import runtime_for
from ocisim.service import Call, Reply


async def invoke_function(call: Call) -> Reply:
    function_id = call.params["functionId"]
    with call.backend.lock:
        function = call.state.get(function_id)
    if function is None:
        raise not_found("Function", function_id)
    runtime = runtime_for(call.backend)
    pool = runtime.pools.get(function_id) if runtime else None
    if pool is None:
        raise OciError(f"Function {function_id} has no code attached (start the emulator with --function-dir)",
                       status=404, code="NotAuthorizedOrNotFound")
    content_type = call.headers.get("content-type", "application/octet-stream")
    status, body, answer_type = await pool.invoke(call.body, content_type, call.request_id)
    if status == 200:
        return Reply(body=body, content_type=answer_type or "application/octet-stream")
    if status == 504:
        raise OciError("The function invocation timed out", status=504, code="FunctionInvokeTimedOut")
    raise OciError(f"The function failed: {body[:500].decode('utf-8', 'replace')}", status=502,
                   code="FunctionInvokeExecutionFailed")
