"""Rendering the reference platform's manifests, and the Secret generated at install time.

``render_manifests(variables)`` substitutes ``${VARS}`` in ``manifests/*.yaml`` (file order) with
``string.Template`` and returns the objects. ``platform_secret(namespace)`` makes the Secret
``reference-platform-keys`` with fresh random keys; create it once per install (re-creating it invalidates every
token and every swarm's identity). ``read_platform_keys`` reads it back for the harness (to mint user tokens with
:func:`swarmconf.reference.common.tokens.mint_token` and check reply signatures with
:mod:`swarmconf.reference.common.identity`).

Switches (``"true"``/``"false"``, defaults keep the reference as it always was): ``HASHED_NAMES`` (UserSwarms
and children named by a hash of the workspace ID), ``RUNTIME_DEBUG_ENDPOINTS`` (runtimes serve
``/debug/requests``), ``RUNTIME_REPLY_SIGNATURES`` (runtimes sign replies).

A second install works by changing only the variables: namespaced objects follow ``PLATFORM_NAMESPACE`` /
``RUNTIME_NAMESPACE``, cluster-scoped ones are prefixed with ``PLATFORM_NAMESPACE`` (the CRD is shared).
``AUTH_MODE=jwt`` (with ``JWT_JWKS_URL``, ``JWT_ISSUER``, ``JWT_AUDIENCE``) makes the orchestrator accept JWTs of
that issuer instead of its own HMAC tokens.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

__all__ = [
    "DEFAULTS",
    "MANIFESTS_DIR",
    "SECRET_NAME",
    "PlatformKeys",
    "install_objects",
    "platform_secret",
    "read_platform_keys",
    "render_manifests",
    "resolve_variables",
]

MANIFESTS_DIR = Path(__file__).parent / "manifests"
SECRET_NAME = "reference-platform-keys"
DEFAULTS: dict[str, str] = {
    "PLATFORM_NAMESPACE": "swarm-system",
    "RUNTIME_NAMESPACE": "userswarms",
    "REAPER_SCHEDULE": "* * * * *",
    "ORCHESTRATOR_STORAGE": "1Gi",
    # user tokens: "hmac" (the Secret's token-key) or "jwt" (an issuer's JWKS; the harness gives JWT_* for its own)
    "AUTH_MODE": "hmac",
    "JWT_JWKS_URL": "",
    "JWT_ISSUER": "",
    "JWT_AUDIENCE": "",
    "MODEL_PROVIDER_URL": "",
    "HASHED_NAMES": "false",
    "RUNTIME_DEBUG_ENDPOINTS": "true",
    "RUNTIME_REPLY_SIGNATURES": "true",
}
REQUIRED = ("IMAGE",)
#: Switches (``"true"``/``"false"``); the defaults are the reference as it always was.
SWITCHES = ("HASHED_NAMES", "RUNTIME_DEBUG_ENDPOINTS", "RUNTIME_REPLY_SIGNATURES")


def resolve_variables(variables: Mapping[str, str]) -> dict[str, str]:
    """Defaults, then ``variables``; ``WEBHOOK_URL`` defaults from ``PLATFORM_NAMESPACE``. ``IMAGE`` is required."""
    resolved = {**DEFAULTS, **variables}
    resolved.setdefault("WEBHOOK_URL", f"http://webhook.{resolved['PLATFORM_NAMESPACE']}.svc:8080")
    missing = [name for name in REQUIRED if not resolved.get(name)]
    if resolved["AUTH_MODE"] == "jwt":
        missing += [name for name in ("JWT_JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE") if not resolved.get(name)]
    elif resolved["AUTH_MODE"] != "hmac":
        raise ValueError(f"AUTH_MODE must be hmac or jwt, not {resolved['AUTH_MODE']!r}")
    if missing:
        raise ValueError(f"missing manifest variables: {', '.join(missing)}")
    bad = [f"{name}={resolved[name]!r}" for name in SWITCHES if resolved[name] not in ("true", "false")]
    if bad:  # a typo must not silently leave a switch at its default
        raise ValueError(f"switches take 'true' or 'false': {', '.join(bad)}")
    return resolved


def render_manifests(variables: dict[str, str]) -> list[dict[str, Any]]:
    """Every object of the platform (without the Secret), in apply order."""
    resolved = resolve_variables(variables)
    objects: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS_DIR.glob("*.yaml")):
        text = string.Template(path.read_text()).substitute(resolved)
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def platform_secret(
    namespace: str,
    *,
    token_key: str | None = None,
    service_token: str | None = None,
    identity_root_key: str | None = None,
) -> dict[str, Any]:
    """The Secret with the token key, the service token and the identity root key (random unless given)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SECRET_NAME,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "swarmconf-reference"},
        },
        "type": "Opaque",
        "stringData": {
            "token-key": token_key or secrets.token_hex(32),
            "service-token": service_token or secrets.token_urlsafe(32),
            "identity-root-key": identity_root_key or secrets.token_hex(32),
        },
    }


def install_objects(variables: dict[str, str]) -> list[dict[str, Any]]:
    """The rendered manifests with a freshly generated Secret right after the namespaces."""
    objects = render_manifests(variables)
    namespace = resolve_variables(variables)["PLATFORM_NAMESPACE"]
    first_after_namespaces = next(i for i, obj in enumerate(objects) if obj["kind"] != "Namespace")
    return [*objects[:first_after_namespaces], platform_secret(namespace), *objects[first_after_namespaces:]]


@dataclass(frozen=True)
class PlatformKeys:
    """The install's secrets, as the services use them (each key is the UTF-8 bytes of the stored text)."""

    token_key: bytes
    service_token: str
    identity_root_key: bytes


def read_platform_keys(api_client: client.ApiClient, *, namespace: str) -> PlatformKeys:
    """Read ``reference-platform-keys`` from ``namespace``."""
    data = client.CoreV1Api(api_client).read_namespaced_secret(SECRET_NAME, namespace).data or {}

    def value(key: str) -> bytes:
        return base64.b64decode(data[key])

    return PlatformKeys(value("token-key"), value("service-token").decode(), value("identity-root-key"))
