"""OCI service errors, raised by models and handlers and serialised once by the request chain.

Why one hierarchy: the SDK turns `{"code", "message"}` plus the HTTP status into
`oci.exceptions.ServiceError(status, code)`, and callers branch on exactly those two values.
The codes are those of OCI's published API error table ("API Errors", common to all services).

    OciError(status, code, message)
      ├── InvalidParameter                         400
      ├── MissingParameter                         400
      ├── LimitExceeded                            400
      ├── RelatedResourceNotAuthorizedOrNotFound   400   (a resource named in the body)
      ├── NotAuthenticated                         401
      ├── NotAuthorizedOrNotFound                  404   (a resource named in the path or query)
      ├── NotFound                                 404   (no operation at this path and method)
      ├── MethodNotAllowed                         405
      ├── Conflict                                 409
      ├── NoEtagMatch                              412
      └── InternalServerError                      500

`CODES` is the one status-to-code table: an error raised by status alone (an injected fault)
gets the code OCI's table gives that status.
"""

from __future__ import annotations

CODES = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    403: "NotAuthorized",
    404: "NotAuthorizedOrNotFound",
    405: "MethodNotAllowed",
    408: "RequestTimeout",
    409: "IncorrectState",
    412: "NoEtagMatch",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    501: "MethodNotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


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


class LimitExceeded(OciError):
    status, code = 400, "LimitExceeded"


class RelatedResourceNotAuthorizedOrNotFound(OciError):
    status, code = 400, "RelatedResourceNotAuthorizedOrNotFound"


class NotAuthenticated(OciError):
    status, code = 401, "NotAuthenticated"

    def __init__(
        self, message: str = "The required information to complete authentication was not provided or was incorrect."
    ) -> None:
        super().__init__(message)


class NotAuthorizedOrNotFound(OciError):
    status, code = 404, "NotAuthorizedOrNotFound"


class NotFound(OciError):
    status, code = 404, "NotFound"


class MethodNotAllowed(OciError):
    status, code = 405, "MethodNotAllowed"


class Conflict(OciError):
    status, code = 409, "Conflict"


class NoEtagMatch(OciError):
    status, code = 412, "NoEtagMatch"

    def __init__(self, message: str = "The resource's etag does not match the value of the if-match header.") -> None:
        super().__init__(message)


class InternalServerError(OciError):
    status, code = 500, "InternalServerError"


def not_found(kind: str, resource_id: str) -> NotAuthorizedOrNotFound:
    return NotAuthorizedOrNotFound(f"Authorization failed or requested resource not found: {kind} {resource_id}")


def related_not_found(kind: str, resource_id: str) -> RelatedResourceNotAuthorizedOrNotFound:
    return RelatedResourceNotAuthorizedOrNotFound(
        f"Authorization failed or related resource not found: {kind} {resource_id}"
    )


def error_for_status(status: int, message: str, code: str | None = None) -> OciError:
    """An error by status alone, with the code OCI's table gives it (unless `code` is said)."""
    return OciError(message, status=status, code=code or CODES.get(status, "InternalServerError"))


def check_etag(if_match: str | None, etag: str) -> None:
    """OCI's optimistic concurrency: a present if-match header must equal the current etag."""
    if if_match is not None and if_match != etag:
        raise NoEtagMatch()
