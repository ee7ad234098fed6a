"""Object Storage's own error codes (its API answers with these, not Core's generic ones).

ocisim.errors.OciError
  ├── NamespaceNotFound        404
  ├── BucketNotFound           404   (also what an IAM denial on a bucket or object looks like)
  ├── ObjectNotFound           404
  ├── BucketAlreadyExists      409
  ├── IfMatchFailed            412
  ├── IfNoneMatchFailed        412
  ├── InvalidContentMD5        400
  ├── UnmatchedContentMD5      400
  └── StorageLimitExceeded     400
"""

from __future__ import annotations

from ocisim.errors import OciError


class NamespaceNotFound(OciError):
    status, code = 404, "NamespaceNotFound"

    def __init__(self, namespace: str) -> None:
        super().__init__(
            f"You do not have authorization to perform this request, or the requested resource "
            f"could not be found (namespace '{namespace}')."
        )


class BucketNotFound(OciError):
    status, code = 404, "BucketNotFound"

    def __init__(self, namespace: str, bucket: str) -> None:
        super().__init__(
            f"Either the bucket named '{bucket}' does not exist in the namespace '{namespace}' "
            "or you are not authorized to access it"
        )


class ObjectNotFound(OciError):
    status, code = 404, "ObjectNotFound"

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__(f"The object '{name}' was not found in the bucket '{bucket}'")


class BucketAlreadyExists(OciError):
    status, code = 409, "BucketAlreadyExists"

    def __init__(self, namespace: str, bucket: str) -> None:
        super().__init__(
            f"Either the bucket '{bucket}' in namespace '{namespace}' already exists "
            "or you are not authorized to create it"
        )


class IfMatchFailed(OciError):
    status, code = 412, "IfMatchFailed"

    def __init__(self) -> None:
        super().__init__("The if-match header does not match the entity tag of the object")


class IfNoneMatchFailed(OciError):
    status, code = 412, "IfNoneMatchFailed"

    def __init__(self) -> None:
        super().__init__("The if-none-match header matches the entity tag of the object")


class InvalidContentMD5(OciError):
    status, code = 400, "InvalidContentMD5"

    def __init__(self) -> None:
        super().__init__("The Content-MD5 header is not the base64 encoding of a 128-bit MD5 digest")


class UnmatchedContentMD5(OciError):
    status, code = 400, "UnmatchedContentMD5"

    def __init__(self, computed: str, provided: str) -> None:
        super().__init__(
            f"The computed MD5 of the request body ({computed}) does not match the Content-MD5 header ({provided})"
        )


class StorageLimitExceeded(OciError):
    status, code = 400, "StorageLimitExceeded"
