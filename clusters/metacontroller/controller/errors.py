"""The controller's exception tree.

Foreign exceptions (``kubernetes.client.ApiException``, ``httpx.HTTPError``, ``json`` errors) are translated
here, once, at the boundary that raised them, with the original kept as ``__cause__``::

    ControllerError
    ├── ApiError                    the Kubernetes API answered with a non-2xx status
    │   ├── NotFound                404 (also: the object was replaced, its UID changed)
    │   ├── Conflict                409 with reason Conflict (stale resourceVersion, failed UID precondition)
    │   ├── AlreadyExists           409 with reason AlreadyExists
    │   └── Gone                    410 (a watch's resourceVersion is too old: relist)
    ├── DiscoveryError              an apiVersion/resource/kind the API server does not serve
    ├── HookError                   the hook call failed; the sync pass is aborted before any write
    │   ├── HookTimeout             no answer within the hook's timeout
    │   ├── HookStatusError         an HTTP status other than 200
    │   │   └── HookTooManyRequests 429: requeue after Retry-After instead of backing off
    │   └── HookDecodeError         the body is not a valid sync response
    ├── ConfigError                 a CompositeController that cannot be run (no hooks, bad parent CRD…)
    └── SyncError                   a sync-level invariant failed (selector, child labels, child writes)
"""

from __future__ import annotations


class ControllerError(Exception):
    """Base class of every error this controller raises on purpose."""


class ApiError(ControllerError):
    """The Kubernetes API answered with a non-2xx status."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class NotFound(ApiError):
    """404, or an object whose UID no longer matches the one we acted on."""


class Conflict(ApiError):
    """409 Conflict: a stale resourceVersion or a failed UID precondition."""


class AlreadyExists(ApiError):
    """409 AlreadyExists on create."""


class Gone(ApiError):
    """410: a watch's resourceVersion is too old, so the informer must relist."""


class DiscoveryError(ControllerError):
    """The API server does not serve the requested apiVersion/resource/kind."""


class HookError(ControllerError):
    """A hook call failed. Nothing has been written yet when this is raised."""


class HookTimeout(HookError):
    """The hook did not answer within its timeout."""


class HookStatusError(HookError):
    """The hook answered with an HTTP status other than 200."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(f"unsupported status code: {status_code} body: {body[:500]}")
        self.status_code = status_code


class HookTooManyRequests(HookStatusError):
    """429: upstream requeues after ``Retry-After`` seconds rather than backing off."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(429, f"retry after {retry_after}s")
        self.retry_after = retry_after


class HookDecodeError(HookError):
    """The hook's body is not a sync response (bad JSON, wrong types, unknown fields in strict mode)."""


class ConfigError(ControllerError):
    """A CompositeController that cannot be run as specified."""


class SyncError(ControllerError):
    """A sync-level failure: bad selector, child labels that don't match, failed child writes."""


def status_error(status: int, reason: str, message: str) -> ApiError:
    """Build the most specific :class:`ApiError` for an API status (one place maps codes to types)."""
    if status == 404:
        return NotFound(status, reason, message)
    if status == 409 and reason == "AlreadyExists":
        return AlreadyExists(status, reason, message)
    if status == 409:
        return Conflict(status, reason, message)
    if status == 410:
        return Gone(status, reason, message)
    return ApiError(status, reason, message)
