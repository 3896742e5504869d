"""The orchestrator's HTTP errors, as one tree; each renders as ``{"error": code, "detail": text}``.

::

    ApiError
    ├── Unauthorized        401  missing, malformed, expired or wrongly signed credential
    ├── NotFound            404  no such workspace/conversation *for this user* (one body for every case)
    │   └── NotYours        404  (the defect iso4-existence-leak only) another body for someone else's workspace
    ├── BadRequest          400  body is not JSON / not an object
    ├── PayloadTooLarge     413
    ├── Unprocessable       422  JSON with invalid fields
    ├── DeletionConflict    500  (the defect del6-redelete-fails-while-terminating only) a repeated delete
    ├── NotReady            503  the workspace's swarm is not verified (nothing was sent to it)
    ├── Unavailable         503  the Kubernetes API failed
    └── RuntimeUnavailable  502  the runtime did not answer properly
"""

from __future__ import annotations

from typing import ClassVar

from starlette.responses import JSONResponse

__all__ = [
    "ApiError",
    "BadRequest",
    "DeletionConflict",
    "NotFound",
    "NotReady",
    "NotYours",
    "PayloadTooLarge",
    "RuntimeUnavailable",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
]


class ApiError(Exception):
    """An error answer."""

    status = 500
    code = "internal"
    detail = "internal error"
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.detail)
        if detail:
            self.detail = detail

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.code, "detail": self.detail}, status_code=self.status, headers=self.headers)


class Unauthorized(ApiError):
    status, code, detail = 401, "unauthorized", "missing or invalid credential"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(None)  # never say *why*: every failed credential gets the same answer


class NotFound(ApiError):
    status, code, detail = 404, "not_found", "not found"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(None)  # one body for "missing", "someone else's" and "malformed ID"


class NotYours(NotFound):
    """Only the defect ``iso4-existence-leak`` raises it: a 404 that tells "exists, not yours" apart."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__()
        self.detail = "workspace belongs to another user"


class BadRequest(ApiError):
    status, code, detail = 400, "bad_request", "body must be a JSON object"


class PayloadTooLarge(ApiError):
    status, code, detail = 413, "payload_too_large", "request body too large"


class Unprocessable(ApiError):
    status, code, detail = 422, "invalid_request", "invalid request"


class DeletionConflict(ApiError):
    """Only the defect ``del6-redelete-fails-while-terminating`` raises it: a delete repeated mid-teardown."""

    status, code, detail = 500, "deletion_in_progress", "the workspace is still being deleted"


class NotReady(ApiError):
    status, code, detail = 503, "not_ready", "workspace runtime is not verified yet"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "2"}


class Unavailable(ApiError):
    status, code, detail = 503, "unavailable", "platform temporarily unavailable"
    headers: ClassVar[dict[str, str]] = {"Retry-After": "2"}


class RuntimeUnavailable(ApiError):
    status, code, detail = 502, "runtime_unavailable", "the workspace runtime did not answer"
