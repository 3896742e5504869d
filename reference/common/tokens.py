"""Signed bearer tokens with expiry: ``<payload>.<signature>``.

* ``payload``   = base64url (no padding) of the compact JSON ``{"exp": <unix seconds>, "sub": <user id>}``
* ``signature`` = base64url (no padding) of HMAC-SHA256(key, payload as ASCII)

:func:`verify_token` raises a :class:`TokenError` subclass for every way a token can be wrong::

    TokenError
    ├── MalformedToken   not two base64url parts, bad JSON, missing/ill-typed claims, bad user id
    ├── BadSignature     the signature does not match
    └── ExpiredToken     ``exp`` is not in the future
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time

__all__ = [
    "USER_ID_PATTERN",
    "BadSignature",
    "ExpiredToken",
    "MalformedToken",
    "TokenError",
    "mint_token",
    "read_claims_unverified",
    "verify_token",
]

USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
"""User IDs are label-safe: 1-63 characters, alphanumeric at both ends, ``._-`` inside."""
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class TokenError(Exception):
    """A bearer token was rejected."""


class MalformedToken(TokenError):
    """The token is not a well-formed ``<payload>.<signature>`` with valid claims."""


class BadSignature(TokenError):
    """The token's signature does not match its payload."""


class ExpiredToken(TokenError):
    """The token's ``exp`` claim is not in the future."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.match(text):
        raise MalformedToken("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("not base64url") from exc


def _sign(key: bytes, payload: str) -> str:
    return _b64encode(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def mint_token(key: bytes, user_id: str, ttl_seconds: int, now: float | None = None) -> str:
    """Mint a token for ``user_id`` valid for ``ttl_seconds`` from ``now`` (a negative TTL mints an expired one)."""
    if not key:
        raise ValueError("the signing key must not be empty")
    if not USER_ID_PATTERN.match(user_id):
        raise ValueError(f"invalid user id {user_id!r}")
    issued = time.time() if now is None else now
    claims = {"exp": int(issued + ttl_seconds), "sub": user_id}
    payload = _b64encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_sign(key, payload)}"


def _split(token: str) -> tuple[str, str]:
    parts = token.split(".")
    if len(parts) != 2 or not all(_B64URL.match(part) for part in parts):
        raise MalformedToken("expected <payload>.<signature>, both base64url")
    return parts[0], parts[1]


def read_claims_unverified(token: str) -> tuple[str, int]:
    """Return ``(sub, exp)`` without checking the signature or expiry (never use this to authenticate)."""
    payload, _ = _split(token)
    try:
        claims = json.loads(_b64decode(payload))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedToken("payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise MalformedToken("payload is not an object")
    sub, exp = claims.get("sub"), claims.get("exp")
    if not isinstance(sub, str) or not USER_ID_PATTERN.match(sub):
        raise MalformedToken("missing or invalid 'sub'")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise MalformedToken("missing or invalid 'exp'")
    return sub, exp


def verify_token(key: bytes, token: str, now: float | None = None) -> str:
    """Check ``token``'s shape, signature and expiry; return its user id or raise :class:`TokenError`."""
    payload, signature = _split(token)
    _b64decode(signature)
    if not hmac.compare_digest(_sign(key, payload), signature):
        raise BadSignature("signature mismatch")
    sub, exp = read_claims_unverified(token)
    if exp <= (time.time() if now is None else now):
        raise ExpiredToken("token expired")
    return sub
