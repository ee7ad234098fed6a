"""The plug-in contract between the emulator framework and one emulated OCI service.

A service is a subpackage `ocisim/<name>/` (moto style: `routes.py`, `handlers.py`,
`models.py`, and `errors.py` only for codes of its own API: the common ones are `ocisim.errors`)
whose `__init__.py` exposes `SERVICE = Service(...)`. The emulator
discovers every such subpackage at start; nothing else needs editing to add one.

    SERVICE = Service(
        name="monitoring",                       # key of its state section in the state file
        routes=ROUTES,                           # list[Route]: method, aiohttp path, OCI operation
        seed=seed_from_topology,                 # (topology: dict, backend) -> state (new state file)
        load=State.from_json, dump=State.to_json,  # persistence (defaults: plain JSON dicts)
        start=start_evaluator, stop=stop_evaluator,  # optional lifecycle hooks (sync or async)
        depends_on=("notifications",),           # started after these, stopped before them
    )

Handlers receive a `Call` and return a `Reply` (or raise an `ocisim.errors.OciError`):
- A plain `def` handler runs with `backend.lock` held: it is atomic against every other call,
  so two racing UpdatePrivateIp with one etag give exactly one success and one 412.
- An `async def` handler (long work such as invoking a function) runs WITHOUT the lock and
  must take `with call.backend.lock:` around any state it reads or changes.
- `call.audit(resource_id, before, after)` records a mutation (principal, operation, request id
  and emulated time are filled in) and marks the state for saving after the handler returns.
  Background work (an alarm evaluator) uses `backend.record(...)` and `backend.save()`.
- `call.state` is this service's state section; `call.backend` gives the rest: `clock`
  (ocisim.clock.Clock, all emulated time), `keyring.issue_session_token(...)`,
  `resource_principal_env(...)`, `options` (function_dir, function_python, function_config, profile,
  cold_start, imds_latency_s, federation_latency_s), `endpoint`,
  `region`, `tenancy_id`, `compartment_id`, `topology`, `states[other_service]`, `log(...)`.

Routes authenticate with the OCI request signature by default (`auth="signature"`); a route
that authenticates on its own (instance metadata, X.509 federation) says `auth="none"` and may
use `ocisim.auth.parse_authorization` / `signing_string` / `verify_rsa_signature`. Operations
whose SDK call does not sign the body (FunctionsInvokeClient.invoke_function) set
`sign_body=False`. Operation names are OCI's (GetPrivateIp, InvokeFunction, ...): faults and
latency are injected by these names.

Lifecycle hooks run on the server's event loop after the socket listens (so `backend.endpoint`
is known) and before the ready line, in dependency order (`depends_on`); `stop` hooks run in the
reverse order before the state is saved at shutdown, and after a failed start too (so each must
accept a service that never started). What a service keeps running between the
two (function containers, the alarm loop, pending deliveries) is one object it puts in
`backend.runtime[<its name>]` at start and takes out at stop, never module state.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ocisim.auth import Principal
from ocisim.errors import InvalidParameter

if TYPE_CHECKING:
    from ocisim.backend import Backend

# Timing profiles (`serve --profile`): "fast" models no cold start and no token latency (tests,
# demos); "realistic" the documented OCI numbers each service holds (docs/emulator.md).
PROFILES = ("fast", "realistic")
REALISTIC_PROFILE = "realistic"

Handler = Callable[["Call"], "Reply | Awaitable[Reply]"]
Hook = Callable[["Backend"], "None | Awaitable[None]"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # aiohttp pattern, e.g. "/20160918/privateIps/{privateIpId}"
    operation: str  # OCI operation name
    handler: Handler
    auth: str = "signature"  # "signature" | "none" | "admin"
    sign_body: bool = True  # PUT/POST must sign content-length, content-type, x-content-sha256


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Service:
    name: str
    routes: Sequence[Route]
    seed: Callable[[Mapping[str, Any], Backend], Any]
    load: Callable[[Any], Any] = _identity
    dump: Callable[[Any], Any] = _identity
    start: Hook | None = None
    stop: Hook | None = None
    depends_on: tuple[str, ...] = ()  # services whose runtime this one's uses


@dataclass
class Call:
    """One authenticated request, as a handler sees it."""

    backend: Backend
    service: str
    operation: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    principal: Principal | None
    request_id: str
    mutated: bool = False

    @property
    def state(self) -> Any:
        return self.backend.states[self.service]

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise InvalidParameter(f"Request body is not valid JSON: {exc}") from exc

    def audit(self, resource_id: str | None, before: Any, after: Any) -> None:
        self.backend.record(
            operation=self.operation,
            principal=self.principal,
            resource_id=resource_id,
            before=before,
            after=after,
            opc_request_id=self.request_id,
        )
        self.mutated = True


@dataclass
class Reply:
    body: Any = None  # dict/list -> JSON; bytes/str -> sent as is
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @classmethod
    def resource(cls, body: Any, etag: str | None, status: int = 200) -> Reply:
        return cls(body=body, status=status, headers={"etag": etag} if etag else {})


def paginate(
    items: Sequence[Any],
    query: Mapping[str, str],
    *,
    default_limit: int = 100,
    max_limit: int = 1000,
    next_after_every_page: bool = False,
) -> Reply:
    """OCI list pagination: `limit` + opaque `page` in, `opc-next-page` header out.

    `next_after_every_page`: some OCI lists (ListPrivateIps, in a recorded session) hand out a
    next-page token after every non-empty page, even the last, and answer the token with [].
    """
    try:
        limit = int(query.get("limit", default_limit))
        start = int(base64.urlsafe_b64decode(query["page"]).decode()) if "page" in query else 0
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParameter("Invalid limit or page") from exc
    if start < 0:
        raise InvalidParameter("Invalid page")
    if not 1 <= limit <= max_limit:
        raise InvalidParameter(f"limit must be between 1 and {max_limit}")
    page = list(items[start : start + limit])
    headers = {}
    if start + limit < len(items) or (next_after_every_page and page):
        headers["opc-next-page"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return Reply(body=page, headers=headers)
