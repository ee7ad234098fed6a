"""Object Storage state and every invariant of it (never in handlers).

One namespace (the tenancy's), buckets in it, objects in each bucket. Invariants enforced here:
- bucket names are unique in the namespace and match OCI's character set; object names are 1 to
  1024 characters without NUL or newline;
- every write gets a fresh entity tag (a UUID, as OCI's are: not a digest of the content);
- `if-match` must equal the current etag (412 IfMatchFailed, also when the object is absent);
  `if-none-match: *` on PutObject refuses to overwrite (412 IfNoneMatchFailed);
- a Content-MD5 sent with PutObject must be the body's MD5 (400 UnmatchedContentMD5), and
  nothing is stored when it is not;
- the bytes held are bounded (MAX_STORED_BYTES, MAX_OBJECTS), so a hostile client cannot grow
  the emulator's memory or state file without limit. One request body is bounded by the server
  (ocisim.chain's client_max_size).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any

from ocisim.clock import iso
from ocisim.errors import InvalidParameter
from ocisim.objectstorage.errors import (
    BucketAlreadyExists,
    BucketNotFound,
    IfMatchFailed,
    IfNoneMatchFailed,
    InvalidContentMD5,
    NamespaceNotFound,
    ObjectNotFound,
    StorageLimitExceeded,
    UnmatchedContentMD5,
)

MAX_OBJECT_NAME = 1024
MAX_STORED_BYTES = 64 * 1024 * 1024
MAX_OBJECTS = 10_000
MAX_LIST_LIMIT = 1000
BUCKET_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
LIST_FIELDS = ("name", "size", "etag", "timeCreated", "md5", "timeModified", "storageTier", "archivalState")
DELIMITER = "/"  # the only delimiter OCI supports


def http_date(epoch_seconds: float) -> str:
    """RFC 7231 date, as Object Storage writes `last-modified`."""
    return formatdate(epoch_seconds, usegmt=True)


def md5_base64(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


@dataclass(frozen=True)
class StoredObject:
    name: str
    body: bytes
    etag: str
    md5: str  # base64 of the MD5 digest, as opc-content-md5 carries it
    content_type: str
    time_created: float
    time_modified: float

    def summary(self, fields: tuple[str, ...]) -> dict[str, Any]:
        """An ObjectSummary with the requested `fields` (ListObjects)."""
        every = {
            "name": self.name,
            "size": len(self.body),
            "etag": self.etag,
            "md5": self.md5,
            "timeCreated": iso(self.time_created),
            "timeModified": iso(self.time_modified),
            "storageTier": "Standard",
            "archivalState": None,
        }
        return {name: every[name] for name in fields}

    def metadata(self) -> dict[str, Any]:
        """What the audit log keeps of an object: never its content."""
        return {
            "name": self.name,
            "size": len(self.body),
            "etag": self.etag,
            "md5": self.md5,
            "contentType": self.content_type,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "body": base64.b64encode(self.body).decode(),
            "etag": self.etag,
            "md5": self.md5,
            "contentType": self.content_type,
            "timeCreated": self.time_created,
            "timeModified": self.time_modified,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoredObject:
        return cls(
            name=data["name"],
            body=base64.b64decode(data["body"]),
            etag=data["etag"],
            md5=data["md5"],
            content_type=data["contentType"],
            time_created=data["timeCreated"],
            time_modified=data["timeModified"],
        )


@dataclass(frozen=True)
class Bucket:
    name: str
    compartment_id: str
    id: str
    etag: str
    time_created: float
    created_by: str
    public_access_type: str = "NoPublicAccess"
    object_events_enabled: bool = False

    def resource(self, namespace: str) -> dict[str, Any]:
        """The Bucket in the API's wire shape."""
        return {
            "namespace": namespace,
            "name": self.name,
            "compartmentId": self.compartment_id,
            "id": self.id,
            "etag": self.etag,
            "timeCreated": iso(self.time_created),
            "createdBy": self.created_by,
            "publicAccessType": self.public_access_type,
            "storageTier": "Standard",
            "objectEventsEnabled": self.object_events_enabled,
            "versioning": "Disabled",
            "autoTiering": "Disabled",
            "isReadOnly": False,
            "replicationEnabled": False,
            "metadata": {},
            "freeformTags": {},
            "definedTags": {},
            "kmsKeyId": None,
            "approximateCount": None,
            "approximateSize": None,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "compartmentId": self.compartment_id,
            "id": self.id,
            "etag": self.etag,
            "timeCreated": self.time_created,
            "createdBy": self.created_by,
            "publicAccessType": self.public_access_type,
            "objectEventsEnabled": self.object_events_enabled,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bucket:
        return cls(
            name=data["name"],
            compartment_id=data["compartmentId"],
            id=data["id"],
            etag=data["etag"],
            time_created=data["timeCreated"],
            created_by=data["createdBy"],
            public_access_type=data.get("publicAccessType", "NoPublicAccess"),
            object_events_enabled=data.get("objectEventsEnabled", False),
        )


@dataclass(frozen=True)
class Listing:
    objects: list[dict[str, Any]]
    prefixes: list[str]
    next_start_with: str | None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"objects": self.objects, "prefixes": self.prefixes}
        if self.next_start_with is not None:
            body["nextStartWith"] = self.next_start_with
        return body


def check_if_match(current: StoredObject | None, if_match: str | None) -> None:
    if if_match is not None and (current is None or (if_match != "*" and if_match != current.etag)):
        raise IfMatchFailed()


def not_modified(current: StoredObject, if_match: str | None, if_none_match: str | None) -> bool:
    """GetObject/HeadObject preconditions: 412 on a failed if-match, True (304) on a matching if-none-match."""
    check_if_match(current, if_match)
    return if_none_match is not None and if_none_match in ("*", current.etag)


def checked_md5(body: bytes, content_md5: str | None) -> str:
    computed = md5_base64(body)
    if content_md5 is None:
        return computed
    try:
        valid = len(base64.b64decode(content_md5, validate=True)) == 16
    except (binascii.Error, ValueError):
        valid = False
    if not valid:
        raise InvalidContentMD5()
    if content_md5 != computed:
        raise UnmatchedContentMD5(computed, content_md5)
    return computed


def check_object_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_OBJECT_NAME or any(c in name for c in "\x00\n\r"):
        raise InvalidParameter(f"Object names are 1 to {MAX_OBJECT_NAME} characters without NUL or line breaks")


@dataclass
class ObjectStorageState:
    namespace: str
    buckets: dict[str, Bucket] = field(default_factory=dict)
    objects: dict[str, dict[str, StoredObject]] = field(default_factory=dict)  # bucket -> name -> object

    # --- persistence -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "buckets": [b.to_json() for b in self.buckets.values()],
            "objects": {bucket: [o.to_json() for o in objects.values()] for bucket, objects in self.objects.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectStorageState:
        buckets = {b["name"]: Bucket.from_json(b) for b in data["buckets"]}
        objects = {
            bucket: {o["name"]: StoredObject.from_json(o) for o in items} for bucket, items in data["objects"].items()
        }
        return cls(namespace=data["namespace"], buckets=buckets, objects=objects)

    # --- lookups -------------------------------------------------------------------------------
    def check_namespace(self, namespace: str) -> None:
        if namespace != self.namespace:
            raise NamespaceNotFound(namespace)

    def bucket(self, namespace: str, name: str) -> Bucket:
        self.check_namespace(namespace)
        try:
            return self.buckets[name]
        except KeyError:
            raise BucketNotFound(namespace, name) from None

    def find_object(self, namespace: str, bucket: str, name: str) -> StoredObject | None:
        self.bucket(namespace, bucket)
        return self.objects[bucket].get(name)

    def object(self, namespace: str, bucket: str, name: str) -> StoredObject:
        found = self.find_object(namespace, bucket, name)
        if found is None:
            raise ObjectNotFound(bucket, name)
        return found

    # --- buckets -----------------------------------------------------------------------------
    def create_bucket(
        self,
        namespace: str,
        name: str,
        compartment_id: str,
        *,
        created_by: str,
        now: float,
        public_access_type: str = "NoPublicAccess",
        object_events_enabled: bool = False,
    ) -> Bucket:
        self.check_namespace(namespace)
        if not BUCKET_NAME.fullmatch(name):
            raise InvalidParameter("Bucket names are 1 to 256 letters, digits, '-', '_' or '.'")
        if name in self.buckets:
            raise BucketAlreadyExists(namespace, name)
        if public_access_type not in ("NoPublicAccess", "ObjectRead", "ObjectReadWithoutList"):
            raise InvalidParameter(f"Unknown publicAccessType {public_access_type!r}")
        bucket = Bucket(
            name=name,
            compartment_id=compartment_id,
            id=f"ocid1.bucket.oc1..{uuid.uuid4().hex}",
            etag=str(uuid.uuid4()),
            time_created=now,
            created_by=created_by,
            public_access_type=public_access_type,
            object_events_enabled=object_events_enabled,
        )
        self.buckets[name] = bucket
        self.objects[name] = {}
        return bucket

    # --- objects -----------------------------------------------------------------------------
    def put_object(
        self,
        namespace: str,
        bucket: str,
        name: str,
        body: bytes,
        *,
        content_type: str,
        content_md5: str | None,
        if_match: str | None,
        if_none_match: str | None,
        now: float,
    ) -> tuple[StoredObject | None, StoredObject]:
        """Create or replace an object; returns (before, after)."""
        check_object_name(name)
        current = self.find_object(namespace, bucket, name)
        if if_none_match is not None and if_none_match != "*":
            raise InvalidParameter("The only value if-none-match accepts on PutObject is '*'")
        check_if_match(current, if_match)
        if if_none_match == "*" and current is not None:
            raise IfNoneMatchFailed()
        md5 = checked_md5(body, content_md5)
        self._check_room(bucket, name, len(body))
        stored = StoredObject(
            name=name,
            body=body,
            etag=str(uuid.uuid4()),
            md5=md5,
            content_type=content_type,
            time_created=now if current is None else current.time_created,
            time_modified=now,
        )
        self.objects[bucket][name] = stored
        return current, stored

    def _check_room(self, bucket: str, name: str, size: int) -> None:
        replaced = self.objects[bucket].get(name)
        held = sum(len(o.body) for objects in self.objects.values() for o in objects.values())
        count = sum(len(objects) for objects in self.objects.values())
        if replaced is not None:
            held -= len(replaced.body)
            count -= 1
        if held + size > MAX_STORED_BYTES or count + 1 > MAX_OBJECTS:
            raise StorageLimitExceeded(f"The emulator holds at most {MAX_STORED_BYTES} bytes in {MAX_OBJECTS} objects")

    def delete_object(self, namespace: str, bucket: str, name: str, *, if_match: str | None) -> StoredObject:
        current = self.find_object(namespace, bucket, name)
        if current is None:
            raise ObjectNotFound(bucket, name)
        check_if_match(current, if_match)
        del self.objects[bucket][name]
        return current

    def list_objects(
        self,
        namespace: str,
        bucket: str,
        *,
        prefix: str = "",
        start: str | None = None,
        end: str | None = None,
        start_after: str | None = None,
        delimiter: str | None = None,
        limit: int = MAX_LIST_LIMIT,
        fields: tuple[str, ...] = ("name",),
    ) -> Listing:
        """ListObjects: names in lexicographic order; with the delimiter, deeper names fold into prefixes."""
        self.bucket(namespace, bucket)
        if delimiter is not None and delimiter != DELIMITER:
            raise InvalidParameter(f"The only supported delimiter is '{DELIMITER}'")
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise InvalidParameter(f"limit must be between 1 and {MAX_LIST_LIMIT}")
        unknown = set(fields) - set(LIST_FIELDS)
        if unknown:
            raise InvalidParameter(f"Unknown fields: {', '.join(sorted(unknown))}")
        objects: list[dict[str, Any]] = []
        prefixes: list[str] = []
        for name in sorted(self.objects[bucket]):
            if (
                not name.startswith(prefix)
                or (start is not None and name < start)
                or (start_after is not None and name <= start_after)
                or (end is not None and name >= end)
            ):
                continue
            folded = None
            if delimiter is not None and delimiter in name[len(prefix) :]:
                folded = name[: name.index(delimiter, len(prefix)) + 1]
                if prefixes and prefixes[-1] == folded:
                    continue
            if len(objects) + len(prefixes) == limit:
                return Listing(objects, prefixes, name)
            if folded is not None:
                prefixes.append(folded)
            else:
                objects.append(self.objects[bucket][name].summary(fields))
        return Listing(objects, prefixes, None)


def seed(topology: Mapping[str, Any], created_by: str, now: float) -> ObjectStorageState:
    """The topology's `objectStorage` section: the tenancy's namespace and its buckets.

    "objectStorage": {"namespace": "ocisim", "buckets": [{"name": ..., "compartmentId": ...}]}
    """
    section = topology.get("objectStorage", {})
    state = ObjectStorageState(namespace=section.get("namespace", topology["tenancy"]["name"]))
    for bucket in section.get("buckets", []):
        created = state.create_bucket(
            state.namespace,
            bucket["name"],
            bucket["compartmentId"],
            created_by=created_by,
            now=now,
            public_access_type=bucket.get("publicAccessType", "NoPublicAccess"),
            object_events_enabled=bucket.get("objectEventsEnabled", False),
        )
        if "id" in bucket:
            state.buckets[created.name] = replace(created, id=bucket["id"])
    return state
