"""Authentication, before anything else: an ASGI middleware in front of every ``/v1`` and ``/internal`` route.

* ``/v1/health`` is open.
* ``/v1/...`` needs ``Authorization: Bearer <user token>``; the user id goes to ``scope["state"]["user"]``. The
  token is checked by the auth mode's verifier (:func:`user_verifier`): ``hmac`` (the default) checks the
  reference's own tokens (:mod:`swarmconf.reference.common.tokens`); ``jwt`` checks a JWT against the JWKS
  fetched from ``JWT_JWKS_URL`` (cached): signature by an asymmetric algorithm of the key (never ``none`` nor
  HS*), and ``exp``, ``iss``, ``aud`` and ``sub`` (the user id) all required.
* ``/internal/...`` needs ``Authorization: Bearer <service token>``.
* anything else is 404.

Only after authentication are paths checked for tricks (encoded ``/``, ``\\`` or ``.``, empty or dot segments):
they get the uniform 404. No header other than ``Authorization`` is ever read.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol

import jwt
from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from swarmconf.reference.common.defects import Defect, SwitchReader
from swarmconf.reference.common.settings import OrchestratorSettings
from swarmconf.reference.common.tokens import (
    USER_ID_PATTERN,
    MalformedToken,
    TokenError,
    read_claims_unverified,
    verify_token,
)
from swarmconf.reference.orchestrator.errors import ApiError, NotFound, Unauthorized

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "AuthMiddleware",
    "HmacUsers",
    "JwtUsers",
    "UserVerifier",
    "bearer",
    "user_verifier",
]

log = logging.getLogger(__name__)
#: The only JWT algorithms accepted, and only the one the signing key itself names: no ``none``, no HS*.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: Claims a user's JWT must carry.
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")


class UserVerifier(Protocol):
    """Turns a bearer token into the user id it proves (blocking: called in a worker thread)."""

    def verify(self, token: str) -> str:
        """The user id, or :class:`TokenError`."""
        ...

    def claimed_user(self, token: str) -> str:
        """The user id the token claims, unchecked (only for the defect that skips the signature check)."""
        ...


class HmacUsers:
    """The reference's own HMAC tokens (auth mode ``hmac``)."""

    def __init__(self, key: bytes, *, now: Callable[[], float] | None = None) -> None:
        self._key, self._now = key, now

    def verify(self, token: str) -> str:
        return verify_token(self._key, token, self._now() if self._now else None)

    def claimed_user(self, token: str) -> str:
        return read_claims_unverified(token)[0]


class JwtUsers:
    """JWTs from a trusted issuer (auth mode ``jwt``), its keys fetched from its JWKS and cached."""

    def __init__(self, *, jwks: jwt.PyJWKClient, issuer: str, audience: str) -> None:
        self._jwks, self._issuer, self._audience = jwks, issuer, audience

    @classmethod
    def from_url(cls, jwks_url: str, *, issuer: str, audience: str) -> JwtUsers:
        """Fetch keys from ``jwks_url`` (the key set cached for 5 minutes, refetched once for an unknown kid)."""
        return cls(jwks=jwt.PyJWKClient(jwks_url, lifespan=300, timeout=5), issuer=issuer, audience=audience)

    def verify(self, token: str) -> str:
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            if key.algorithm_name not in ASYMMETRIC_ALGORITHMS:
                raise MalformedToken(f"the signing key's algorithm {key.algorithm_name!r} is not asymmetric")
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],  # the token's header must name the key's own algorithm
                audience=self._audience,
                issuer=self._issuer,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("cannot fetch the issuer's keys: %s", exc)
            raise TokenError("issuer keys unavailable") from exc
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        return _user_id(claims)

    def claimed_user(self, token: str) -> str:
        try:
            return _user_id(jwt.decode(token, options={"verify_signature": False}))
        except jwt.PyJWTError as exc:
            raise MalformedToken(str(exc)) from exc


def _user_id(claims: dict[str, Any]) -> str:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not USER_ID_PATTERN.match(sub):
        raise MalformedToken("missing or invalid 'sub'")
    return sub


def user_verifier(settings: OrchestratorSettings, *, now: Callable[[], float] | None = None) -> UserVerifier:
    """The verifier of the settings' auth mode."""
    if settings.auth_mode == "jwt":
        return JwtUsers.from_url(settings.jwt_jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return HmacUsers(settings.token_key.get_secret_value().encode(), now=now)


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
        users: UserVerifier,
        service_token: str,
        switches: SwitchReader,
    ) -> None:
        self._app, self._users, self._service = app, users, service_token
        self._switches = switches

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
        check = self._users.claimed_user if switches.has(Defect.ISO5_SKIP_SIGNATURE_CHECK) else self._users.verify
        try:
            return await to_thread.run_sync(check, token)  # a JWKS fetch blocks
        except TokenError:
            raise Unauthorized() from None
