"""OCI service errors, raised by models and handlers and serialised once by the request chain.

Why one hierarchy: the SDK turns `{"code", "message"}` plus the HTTP status into
`oci.exceptions.ServiceError(status, code)`, and callers branch on exactly those two values.

    OciError(status, code, message)
      ├── InvalidParameter          400
      ├── MissingParameter          400
      ├── NotAuthenticated          401
      ├── NotAuthorizedOrNotFound   404
      ├── Conflict                  409
      ├── IncorrectState            409   (the SDK retries this one)
      ├── NoEtagMatch               412
      ├── TooManyRequests           429
      └── InternalServerError       500
"""

from __future__ import annotations


class OciError(Exception):
    status: int = 500
    code: str = "InternalServerError"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class InvalidParameter(OciError):
    status, code = 400, "InvalidParameter"


class MissingParameter(OciError):
    status, code = 400, "MissingParameter"


class NotAuthenticated(OciError):
    status, code = 401, "NotAuthenticated"

    def __init__(self, message: str = "The required information to complete authentication was not provided or was incorrect.") -> None:
        super().__init__(message)


class NotAuthorizedOrNotFound(OciError):
    status, code = 404, "NotAuthorizedOrNotFound"


class Conflict(OciError):
    status, code = 409, "Conflict"


class IncorrectState(OciError):
    status, code = 409, "IncorrectState"


class NoEtagMatch(OciError):
    status, code = 412, "NoEtagMatch"

    def __init__(self, message: str = "The resource's etag does not match the value of the if-match header.") -> None:
        super().__init__(message)


class TooManyRequests(OciError):
    status, code = 429, "TooManyRequests"


class InternalServerError(OciError):
    status, code = 500, "InternalServerError"


def not_found(kind: str, resource_id: str) -> NotAuthorizedOrNotFound:
    return NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: {kind} {resource_id}")


def check_etag(if_match: str | None, etag: str) -> None:
    """OCI's optimistic concurrency: a present if-match header must equal the current etag."""
    if if_match is not None and if_match != etag:
        raise NoEtagMatch()
