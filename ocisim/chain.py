"""The HTTP request chain, written once for every service (LocalStack style).

    request id  ->  error serialisation  ->  authentication  ->  authorisation  ->  faults/latency  ->  handler

- request id: echo the caller's `opc-request-id` or mint one; log one JSON line per request.
- error serialisation: any `OciError` (from any later step) becomes OCI's `{"code","message"}`
  body with its status; an unknown path becomes 404 NotFound and a known path with another method 405
  MethodNotAllowed (OCI's error table); a crash becomes 500.
- authentication: read the body (at most MAX_BODY_BYTES, within BODY_TIMEOUT_SECONDS: 413 / 408),
  verify the OCI signature (ocisim.auth) and attach the `Principal`; admin
  routes are unsigned but only answer loopback (and the lab's 198.18.0.0/15) clients.
- authorisation: when the topology configures IAM (ocisim.iam), a resource or instance
  principal's call needs every permission it asks for granted by the deployed policies, else
  404 NotAuthorizedOrNotFound (logged with the principal, operation and missing permission).
- faults: per-operation latency, then an injected delay, dropped connection or error status.
- handler: sync handlers run under the backend lock and the state is saved if they mutated it.

aiohttp resolves the route before the middlewares run, so every step knows the operation name.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ocisim import iam
from ocisim.auth import ADMIN, Principal
from ocisim.backend import Backend
from ocisim.errors import InternalServerError, MethodNotAllowed, NotAuthenticated, NotFound, OciError, error_for_status
from ocisim.faults import DROP_AFTER, DROP_BEFORE
from ocisim.service import Call, Reply, Route

BACKEND = web.AppKey("backend", Backend)
ROUTES = web.AppKey("routes", dict)
AUTHORIZER = web.AppKey("authorizer", object)
REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)
BODY = web.RequestKey("body", bytes)
# Set when the caller went away before its request was read (a node restarted mid-call): no
# one to answer, and no error of the emulator's either.
GONE = web.RequestKey("gone", bool)
SLASH = ".slash"  # route name suffix of a path's trailing-slash twin
ADMIN_NETWORKS = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("198.18.0.0/15"),
)

# One request body: at most this many bytes (413), arriving within this many seconds (408), so a
# huge or dripping body (an object PUT is the largest body any client sends) holds no handler long.
MAX_BODY_BYTES = 6 * 1024 * 1024
BODY_TIMEOUT_SECONDS = 30.0

RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_of(request: web.Request) -> tuple[Route, str] | None:
    """The (route, service name) aiohttp matched, or None for an unknown path/method."""
    return request.app[ROUTES].get(request.match_info.route.name)


def _drop(request: web.Request) -> None:
    """Abort the TCP connection: the client sees a reset and no response.

    Raising CancelledError is how aiohttp itself treats a vanished client (logged at debug),
    so a deliberate drop leaves no traceback in the logs.
    """
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError()


@web.middleware
async def request_id(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    rid = request.headers.get("opc-request-id") or uuid.uuid4().hex.upper()
    request[REQUEST_ID] = rid
    started = time.monotonic()
    matched = route_of(request)
    status: int | str = "dropped"
    try:
        response = await handler(request)
        status = response.status
        response.headers["opc-request-id"] = rid
        return response
    finally:
        if request.get(GONE):
            status = "client_gone"
        principal = request.get(PRINCIPAL)
        request.app[BACKEND].log(
            "request",
            method=request.method,
            path=request.path,
            operation=matched[0].operation if matched else None,
            status=status,
            principal=principal.id if principal else None,
            opc_request_id=rid,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )


def error_response(error: OciError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


@web.middleware
async def serialise_errors(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OciError as error:
        return error_response(error)
    except web.HTTPException as exc:
        if exc.status == 405:
            return error_response(MethodNotAllowed(f"{request.method} is not allowed on {request.path}"))
        if exc.status == 413:
            return error_response(error_for_status(413, f"The request body exceeds {MAX_BODY_BYTES} bytes"))
        return error_response(NotFound(f"No operation serves {request.method} {request.path}"))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in a handler must still answer like OCI does
        request.app[BACKEND].log("handler crashed", level=logging.ERROR, error=repr(exc), path=request.path)
        return error_response(InternalServerError("Internal error"))


@web.middleware
async def authenticate(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    matched = route_of(request)
    if matched is None:
        unmatched = getattr(request.match_info, "http_exception", None)
        if unmatched is not None and unmatched.status == 405:
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        raise NotFound(f"No operation serves {request.method} {request.path}")
    route, _ = matched
    try:
        request[BODY] = await asyncio.wait_for(request.read(), BODY_TIMEOUT_SECONDS)
    except TimeoutError:
        raise error_for_status(408, "The request body did not arrive in time") from None
    except ConnectionResetError:  # the caller vanished mid-body: aiohttp's own way out (see _drop)
        request[GONE] = True
        raise asyncio.CancelledError() from None
    if route.auth == "admin":
        peer = request.remote or ""
        try:
            allowed = any(ipaddress.ip_address(peer) in net for net in ADMIN_NETWORKS)
        except ValueError:
            allowed = False
        if not allowed:
            raise NotAuthenticated("The admin endpoint answers local clients only")
        request[PRINCIPAL] = ADMIN
    elif route.auth == "signature":
        backend = request.app[BACKEND]
        request[PRINCIPAL] = backend.keyring.authenticate(
            request.method, request.raw_path, request.headers, request[BODY], require_body_headers=route.sign_body
        )
    return await handler(request)


@web.middleware
async def authorize(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    authorizer: iam.Authorizer | None = request.app[AUTHORIZER]
    principal = request.get(PRINCIPAL)
    if authorizer is None or principal is None or principal is ADMIN:
        return await handler(request)
    route, _ = route_of(request)  # authenticate already refused unknown routes
    backend = request.app[BACKEND]
    with backend.lock:
        denial = authorizer.check(
            principal, route.operation, request.match_info, request.query, request[BODY], backend.states
        )
    if denial is not None:
        backend.log(
            "authorization denied",
            level=logging.WARNING,
            principal=principal.id,
            principal_kind=principal.kind,
            operation=route.operation,
            permission=denial.permission,
            compartment_id=denial.compartment_id,
            resource_id=denial.resource_id,
            policies=authorizer.source,
            opc_request_id=request[REQUEST_ID],
        )
        raise iam.denied(request.match_info)
    return await handler(request)


@web.middleware
async def inject_faults(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    route, _ = route_of(request)  # authenticate already refused unknown routes
    if route.auth == "admin":
        return await handler(request)
    faults = request.app[BACKEND].faults
    latency = faults.latency(route.operation)
    fault = faults.take(route.operation)
    if latency:
        await asyncio.sleep(latency)
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop == DROP_BEFORE:
            _drop(request)
        error = fault.error()
        if error is not None:
            raise error
    response = await handler(request)
    if fault is not None and fault.drop == DROP_AFTER:
        _drop(request)
    return response


def to_response(reply: Reply) -> web.Response:
    if isinstance(reply.body, (dict, list)):
        body: Any = json.dumps(reply.body).encode()
    elif isinstance(reply.body, str):
        body = reply.body.encode()
    else:
        body = reply.body
    response = web.Response(body=body, status=reply.status, headers=reply.headers)
    if body is not None:
        response.content_type = reply.content_type
    return response


def endpoint(route: Route, service: str) -> RequestHandler:
    """Adapt a service handler (sync under the lock, or async) to aiohttp."""
    is_async = inspect.iscoroutinefunction(route.handler)

    async def handle(request: web.Request) -> web.StreamResponse:
        backend = request.app[BACKEND]
        call = Call(
            backend=backend,
            service=service,
            operation=route.operation,
            params=dict(request.match_info),
            query=request.query,
            headers=request.headers,
            body=request[BODY],
            principal=request.get(PRINCIPAL),
            request_id=request[REQUEST_ID],
        )
        if is_async:
            reply = await route.handler(call)
            if call.mutated:
                backend.save()
        else:
            with backend.lock:
                reply = route.handler(call)
                if call.mutated:
                    backend.save()
        return to_response(reply)  # type: ignore[arg-type]

    return handle


def build_app(backend: Backend, extra_routes: list[Route]) -> web.Application:
    app = web.Application(
        middlewares=[request_id, serialise_errors, authenticate, authorize, inject_faults],
        client_max_size=MAX_BODY_BYTES,
    )
    app[BACKEND] = backend
    app[AUTHORIZER] = authorizer = iam.authorizer_for(backend.topology)
    if authorizer is not None:
        backend.log(
            "iam enforced",
            policies=authorizer.source,
            statements=len(authorizer.policy.statements),
            dynamic_groups=len(authorizer.policy.groups),
        )
    table: dict[str, tuple[Route, str]] = {}
    registered = [(r, s.name) for s in backend.services for r in s.routes]
    registered += [(r, "admin") for r in extra_routes]
    for route, service in registered:
        if route.operation in table:
            raise ValueError(f"operation {route.operation} is registered twice")
        table[route.operation] = (route, service)
        handler = endpoint(route, service)
        app.router.add_route(route.method, route.path, handler, name=route.operation)
        if not route.path.endswith(("/", "*}")) and not route.path.endswith(".*}"):
            # OCI accepts a trailing slash (older oci CLIs send `POST /instances/`)
            table[route.operation + SLASH] = (route, service)
            app.router.add_route(route.method, route.path + "/", handler, name=route.operation + SLASH)
    app[ROUTES] = table
    return app
