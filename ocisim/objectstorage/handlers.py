"""Object Storage wire format: parse the request, call the model, shape the reply.

Headers as OCI's API answers them: `etag`, `content-md5` and `opc-content-md5` (base64 MD5),
`last-modified` (HTTP date), `content-type`, `content-length`; `opc-request-id` is added by the
request chain. Handlers are sync, so each runs atomically under the backend lock.
"""

from __future__ import annotations

import json
from typing import Any

from ocisim.errors import InvalidParameter, MissingParameter, OciError
from ocisim.objectstorage.models import MAX_LIST_LIMIT, ObjectStorageState, StoredObject, http_date, not_modified
from ocisim.service import Call, Reply

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def _state(call: Call) -> ObjectStorageState:
    return call.state


def _resource_id(call: Call) -> str:
    p = call.params
    return f"/n/{p['namespaceName']}/b/{p['bucketName']}/o/{p['objectName']}"


def _object_headers(stored: StoredObject) -> dict[str, str]:
    return {
        "etag": stored.etag,
        "content-md5": stored.md5,
        "opc-content-md5": stored.md5,
        "last-modified": http_date(stored.time_modified),
        "storage-tier": "Standard",
    }


def get_namespace(call: Call) -> Reply:
    return Reply(body=json.dumps(_state(call).namespace))


def create_bucket(call: Call) -> Reply:
    details = call.json()
    if not isinstance(details, dict):
        raise InvalidParameter("The request body must be a JSON object")
    for name in ("name", "compartmentId"):
        if not isinstance(details.get(name), str) or not details[name]:
            raise MissingParameter(f"Missing required parameter {name}")
    topology = call.backend.topology
    if details["compartmentId"] not in {c["id"] for c in topology["compartments"]} | {topology["tenancy"]["id"]}:
        raise OciError(f"No compartment {details['compartmentId']}", status=404, code="CompartmentIdNotFound")
    namespace = call.params["namespaceName"]
    bucket = _state(call).create_bucket(
        namespace,
        details["name"],
        details["compartmentId"],
        created_by=call.principal.id if call.principal else "",
        now=call.backend.clock.now(),
        public_access_type=str(details.get("publicAccessType", "NoPublicAccess")),
        object_events_enabled=bool(details.get("objectEventsEnabled", False)),
    )
    resource = bucket.resource(namespace)
    call.audit(bucket.id, None, resource)
    return Reply.resource(resource, bucket.etag)


def get_bucket(call: Call) -> Reply:
    namespace = call.params["namespaceName"]
    bucket = _state(call).bucket(namespace, call.params["bucketName"])
    return Reply.resource(bucket.resource(namespace), bucket.etag)


def put_object(call: Call) -> Reply:
    p, h = call.params, call.headers
    before, after = _state(call).put_object(
        p["namespaceName"],
        p["bucketName"],
        p["objectName"],
        call.body,
        content_type=h.get("content-type", DEFAULT_CONTENT_TYPE),
        content_md5=h.get("content-md5"),
        if_match=h.get("if-match"),
        if_none_match=h.get("if-none-match"),
        now=call.backend.clock.now(),
    )
    call.audit(_resource_id(call), before and before.metadata(), after.metadata())
    headers = _object_headers(after)
    del headers["content-md5"], headers["storage-tier"]  # PutObject answers with opc-content-md5 only
    return Reply(body=None, headers=headers)


def _read(call: Call, *, with_body: bool) -> Reply:
    p, h = call.params, call.headers
    stored = _state(call).object(p["namespaceName"], p["bucketName"], p["objectName"])
    if not_modified(stored, h.get("if-match"), h.get("if-none-match")):
        return Reply(body=None, status=304, headers={"etag": stored.etag})
    headers = _object_headers(stored)
    if not with_body:  # HEAD: what a GET would carry, without the body
        headers.update({"content-length": str(len(stored.body)), "content-type": stored.content_type})
    return Reply(body=stored.body if with_body else None, headers=headers, content_type=stored.content_type)


def get_object(call: Call) -> Reply:
    return _read(call, with_body=True)


def head_object(call: Call) -> Reply:
    return _read(call, with_body=False)


def delete_object(call: Call) -> Reply:
    p = call.params
    before = _state(call).delete_object(
        p["namespaceName"], p["bucketName"], p["objectName"], if_match=call.headers.get("if-match")
    )
    call.audit(_resource_id(call), before.metadata(), None)
    return Reply(body=None, status=204, headers={"last-modified": http_date(call.backend.clock.now())})


def _limit(query: Any) -> int:
    try:
        return int(query.get("limit", MAX_LIST_LIMIT))
    except ValueError as exc:
        raise InvalidParameter("limit must be an integer") from exc


def list_objects(call: Call) -> Reply:
    q = call.query
    requested = (f.strip() for f in q.get("fields", "").split(","))
    fields = tuple(dict.fromkeys(("name", *(f for f in requested if f))))  # name always, once
    listing = _state(call).list_objects(
        call.params["namespaceName"],
        call.params["bucketName"],
        prefix=q.get("prefix", ""),
        start=q.get("start"),
        end=q.get("end"),
        start_after=q.get("startAfter"),
        delimiter=q.get("delimiter"),
        limit=_limit(q),
        fields=fields,
    )
    return Reply(body=listing.body())
