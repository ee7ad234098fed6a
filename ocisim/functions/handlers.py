"""Functions wire format: the control-plane reads (GetFunction, ListFunctions, GetApplication,
ListApplications) and InvokeFunction, which forwards the body to the function's fdk server.

InvokeFunction is async (it waits for the function, which calls back into this emulator), so
it takes the backend lock only to look the function up. The answer is relayed as OCI relays
it: the function's body and content type with 200 and the function's `Fn-Fdk-*` headers plus
`Fn-Call-Id`; a function that failed (fdk 502) or ran past its timeout (504) becomes an OCI
error with that status. `fn-invoke-type: detached` answers 202 at once and runs the call in
the background, bounded by the function's detached-mode timeout.
"""

from __future__ import annotations

from typing import Any

from ocisim.errors import InvalidParameter, MissingParameter, OciError, not_found
from ocisim.functions.models import (
    application_summary,
    applications,
    detached_timeout,
    function_resource,
    function_summary,
)
from ocisim.functions.runtime import Pool, Runtime, attached, runtime_for
from ocisim.service import Call, Reply, paginate

RELAYED_HEADERS = ("Fn-Fdk-Version", "Fn-Fdk-Runtime")
INVOKE_TYPES = ("sync", "detached")


def _attached(call: Call) -> tuple[Runtime, Pool]:
    """The running containers of the function in the path (404 without code attached)."""
    return attached(call.backend, call.params["functionId"])


def get_containers(call: Call) -> Reply:
    runtime = runtime_for(call.backend)
    return Reply(
        {
            "functions": {}
            if runtime is None
            else {function_id: pool.to_json() for function_id, pool in runtime.pools.items()}
        }
    )


async def force_idle(call: Call) -> Reply:
    _, pool = _attached(call)
    stopped = await pool.force_idle()
    return Reply({"stopped": stopped, **pool.to_json()})


def _function(call: Call) -> dict[str, Any]:
    function = call.state.get(call.params["functionId"])
    if function is None:
        raise not_found("Function", call.params["functionId"])
    return function


def _required(call: Call, name: str) -> str:
    value = call.query.get(name)
    if not value:
        raise MissingParameter(f"{name} is required")
    return value


def get_function(call: Call) -> Reply:
    function = _function(call)
    return Reply.resource(function_resource(function, call.backend.endpoint), _etag(function))


def list_functions(call: Call) -> Reply:
    app_id = _required(call, "applicationId")
    found = [
        function_summary(f, call.backend.endpoint)
        for f in call.state.values()
        if f.get("applicationId") == app_id and call.query.get("displayName") in (None, f.get("name"))
    ]
    return paginate(sorted(found, key=lambda f: f["displayName"]), call.query, default_limit=50)


def get_application(call: Call) -> Reply:
    application = applications(call.state).get(call.params["applicationId"])
    if application is None:
        raise not_found("Application", call.params["applicationId"])
    return Reply.resource(application, _etag(application))


def list_applications(call: Call) -> Reply:
    compartment_id = _required(call, "compartmentId")
    found = [
        application_summary(a)
        for a in applications(call.state).values()
        if a["compartmentId"] == compartment_id and call.query.get("displayName") in (None, a["displayName"])
    ]
    return paginate(sorted(found, key=lambda a: a["displayName"]), call.query, default_limit=50)


def _etag(resource: dict[str, Any]) -> str:
    """Functions' resources never change in the emulator: one etag per resource, from its id."""
    return resource["id"].rsplit(".", 1)[-1][:32]


async def invoke_function(call: Call) -> Reply:
    function_id = call.params["functionId"]
    with call.backend.lock:
        function = call.state.get(function_id)
    if function is None:
        raise not_found("Function", function_id)
    invoke_type = call.headers.get("fn-invoke-type", "sync").lower()
    if invoke_type not in INVOKE_TYPES:
        raise InvalidParameter(f"fn-invoke-type must be one of {', '.join(INVOKE_TYPES)}")
    runtime, pool = _attached(call)
    content_type = call.headers.get("content-type", "application/octet-stream")
    call_headers = {"Fn-Call-Id": call.request_id}
    if invoke_type == "detached":
        runtime.detach(
            pool.invoke(call.body, content_type, call.request_id, timeout=float(detached_timeout(function))),
            call.request_id,
        )
        return Reply(status=202, headers=call_headers)
    answer = await pool.invoke(call.body, content_type, call.request_id)
    if answer.status == 200:
        relayed = {name: answer.headers[name.lower()] for name in RELAYED_HEADERS if name.lower() in answer.headers}
        return Reply(
            body=answer.body,
            content_type=answer.content_type or "application/octet-stream",
            headers={**call_headers, **relayed},
        )
    if answer.status == 504:
        raise OciError("The function invocation timed out", status=504, code="FunctionInvokeTimedOut")
    raise OciError(
        f"The function failed: {answer.body[:500].decode('utf-8', 'replace')}",
        status=502,
        code="FunctionInvokeExecutionFailed",
    )
