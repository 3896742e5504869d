"""Authentication, before anything else: an ASGI middleware in front of every ``/v1`` and ``/internal`` route.

* ``/v1/health`` is open.
* ``/v1/...`` needs ``Authorization: Bearer <user token>`` (see :mod:`swarmconf.reference.common.tokens`); the
  user id goes to ``scope["state"]["user"]``.
* ``/internal/...`` needs ``Authorization: Bearer <service token>``.
* anything else is 404.

Only after authentication are paths checked for tricks (encoded ``/``, ``\\`` or ``.``, empty or dot segments):
they get the uniform 404. No header other than ``Authorization`` is ever read.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from swarmconf.reference.common.defects import Defect, SwitchReader
from swarmconf.reference.common.tokens import TokenError, read_claims_unverified, verify_token
from swarmconf.reference.orchestrator.errors import ApiError, NotFound, Unauthorized

__all__ = ["AuthMiddleware", "bearer"]

_TRICKS = re.compile(rb"%2f|%5c|%2e|\\|//|/\./|/\.\./|/\.?\.?$", re.IGNORECASE)


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer credential of a request, if exactly one well-formed Authorization header carries one."""
    values = [v for k, v in headers if k.lower() == b"authorization"]
    if len(values) != 1:
        return None
    scheme, _, token = values[0].decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class AuthMiddleware:
    """Authenticate, then reject path tricks, then hand over to the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token_key: bytes,
        service_token: str,
        switches: SwitchReader,
        now: Callable[[], float] | None = None,
    ) -> None:
        self._app, self._key, self._service = app, token_key, service_token
        self._switches, self._now = switches, now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            await self._check(scope)
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        await self._app(scope, receive, send)

    async def _check(self, scope: Scope) -> None:
        path: str = scope["path"]
        token = bearer(scope["headers"])
        if path == "/v1/health":
            return
        if path.startswith("/v1/"):
            scope.setdefault("state", {})["user"] = await self._user(token)
        elif path.startswith("/internal/"):
            if token is None or not hmac.compare_digest(token.encode(), self._service.encode()):
                raise Unauthorized()
        elif path.startswith("/model/"):  # the defect msg4-shared-model-gateway's gateway (404 unless it is on)
            return
        else:
            raise NotFound()
        if _TRICKS.search(scope.get("raw_path") or path.encode()):
            raise NotFound()

    async def _user(self, token: str | None) -> str:
        if token is None:
            raise Unauthorized()
        switches = await to_thread.run_sync(self._switches.current)
        now = self._now() if self._now else None
        try:
            if switches.has(Defect.ISO5_SKIP_SIGNATURE_CHECK):
                return read_claims_unverified(token)[0]
            return verify_token(self._key, token, now)
        except TokenError:
            raise Unauthorized() from None
