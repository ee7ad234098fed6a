"""A node answers 200 while healthy and 503 while down, like haproxy's `monitor-uri`."""

from ocisim.errors import InvalidParameter, NotAuthorizedOrNotFound
from ocisim.service import Call, Reply


def _known(call: Call) -> str:
    name = call.params["name"]
    if name not in call.state:
        raise NotAuthorizedOrNotFound(f"No instance named {name!r} in this topology")
    return name


def get_health(call: Call) -> Reply:
    name = _known(call)
    healthy = call.state[name]
    return Reply(f"{name} {'OK' if healthy else 'DOWN'}\n", status=200 if healthy else 503,
                 content_type="text/plain")


def set_health(call: Call) -> Reply:
    name = _known(call)
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("healthy"), bool):
        raise InvalidParameter('Expected {"healthy": true|false}')
    call.state[name] = body["healthy"]
    call.mutated = True  # persisted with the rest of the state; not an OCI call, so not audited
    return Reply({"name": name, "healthy": body["healthy"]})
