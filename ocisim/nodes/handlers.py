"""A node answers 200 while healthy and 503 while down, naming itself as the node agent does
(health_probe/serving.py): the function trusts a 200 only from the node it asked about."""

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
    return Reply({"node": name, "serving": bool(healthy)}, status=200 if healthy else 503)


def set_health(call: Call) -> Reply:
    name = _known(call)
    body = call.json()
    if not isinstance(body, dict) or not isinstance(body.get("healthy"), bool):
        raise InvalidParameter('Expected {"healthy": true|false}')
    call.state[name] = body["healthy"]
    call.mutated = True  # persisted with the rest of the state; not an OCI call, so not audited
    return Reply({"name": name, "healthy": body["healthy"]})
