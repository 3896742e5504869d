"""The reference orchestrator in JWT mode (``AUTH_MODE=jwt``): users' tokens checked against an issuer's JWKS.

Tokens are minted here with PyJWT directly (not with the harness's provider), the JWKS fetched by the real
``PyJWKClient`` from a plain HTTP server on 127.0.0.1.

Coverage matrix:

=========================================  ==================================================================
case                                       expectation
=========================================  ==================================================================
a good token (ES256, and RS256)            the request goes through, as the token's ``sub``
each bad token                             401 on every route, before anything else; nothing sent to a runtime
(wrong key, unknown kid, alg none, HS256
keyed with the public key, expired, wrong
aud, wrong iss, no sub/exp/iss/aud, a sub
that is no user id, tampered, truncated)
a JWKS key of a symmetric algorithm        refused even when the token's signature matches it
the ISO-5 defect in JWT mode               a wrongly signed token is let through (the self-test still bites)
settings                                   jwt mode without its JWT_* variables is refused; hmac stays the default
the renderer                               AUTH_MODE and JWT_* reach the orchestrator's environment; jwt
                                           without JWT_* and an unknown mode are errors
=========================================  ==================================================================
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError
from reference_fakes import SERVICE_TOKEN, TOKEN_KEY, ASGIClient, FakeSwarms, RuntimeRecorder, Switchboard

from swarmconf.reference.common.defects import Defect
from swarmconf.reference.common.settings import OrchestratorSettings
from swarmconf.reference.common.tokens import TokenError
from swarmconf.reference.install import render_manifests
from swarmconf.reference.orchestrator.app import Orchestrator, create_app
from swarmconf.reference.orchestrator.auth import JwtUsers
from swarmconf.reference.orchestrator.runtime_client import RuntimeClient
from swarmconf.reference.orchestrator.store import Store

ISSUER, AUDIENCE, KID = "https://issuer.test", "platform", "k1"
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now - 5, "exp": now + 300}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def sign(body: dict[str, Any], key: Any = EC_KEY, alg: str = "ES256", kid: str = KID) -> str:
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def handmade(alg: str, body: dict[str, Any], secret: bytes | None) -> str:
    head = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": KID}).encode()) + "." + _b64(json.dumps(body).encode())
    mac = hmac.new(secret, head.encode(), hashlib.sha256).digest() if secret else b""
    return f"{head}.{_b64(mac)}"


def public_pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``tmp_path`` served on 127.0.0.1; yields the base URL (urllib's proxy variables cleared: loopback stays)."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def jwks_url(tmp_path: Path, serve: str) -> str:
    keys = [
        {**ECAlgorithm.to_jwk(EC_KEY.public_key(), as_dict=True), "kid": KID, "alg": "ES256", "use": "sig"},
        {**RSAAlgorithm.to_jwk(RSA_KEY.public_key(), as_dict=True), "kid": "r1", "alg": "RS256", "use": "sig"},
        {"kty": "oct", "k": _b64(b"shared-secret-of-thirty-two-byte"), "kid": "sym", "alg": "HS256"},
    ]
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": keys}))
    return f"{serve}/jwks.json"


class App:
    def __init__(self, client: ASGIClient, runtime: RuntimeRecorder, switches: Switchboard) -> None:
        self.client, self.runtime, self.switches = client, runtime, switches

    def get(self, token: str) -> httpx.Response:
        return self.client.get("/v1/workspaces", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def app(tmp_path: Path, jwks_url: str) -> Iterator[App]:
    settings = OrchestratorSettings.model_validate(
        {
            "token_key": TOKEN_KEY.decode(),
            "service_token": SERVICE_TOKEN,
            "database_path": str(tmp_path / "o.db"),
            "auth_mode": "jwt",
            "jwt_jwks_url": jwks_url,
            "jwt_issuer": ISSUER,
            "jwt_audience": AUDIENCE,
        }
    )
    switches, recorder = Switchboard(), RuntimeRecorder()
    runtime = RuntimeClient(httpx.AsyncClient(transport=httpx.MockTransport(recorder.handler)), timeout=5)
    orchestrator = Orchestrator(
        settings=settings, store=Store(settings.database_path), swarms=FakeSwarms(), runtime=runtime, switches=switches
    )
    # the settings' own verifier: JwtUsers.from_url on the served JWKS
    yield App(ASGIClient(create_app(orchestrator, settings=settings)), recorder, switches)


def test_good_tokens_go_through_as_their_subject(app: App) -> None:
    assert app.get(sign(claims())).status_code == 200
    assert app.get(sign(claims(), RSA_KEY, "RS256", "r1")).status_code == 200
    created = app.client.post("/v1/workspaces", json={}, headers={"Authorization": f"Bearer {sign(claims())}"})
    assert created.status_code == 201 and created.json()["userId"] == "alice"


BAD = {
    "wrong key": lambda: sign(claims(), ec.generate_private_key(ec.SECP256R1())),
    "unknown kid": lambda: sign(claims(), ec.generate_private_key(ec.SECP256R1()), kid="nope"),
    "alg none": lambda: handmade("none", claims(), None),
    "HS256 keyed with the public key": lambda: handmade("HS256", claims(), public_pem(EC_KEY)),
    "RS256 token under the EC key's kid": lambda: sign(claims(), RSA_KEY, "RS256", KID),
    "expired": lambda: sign(claims(iat=int(time.time()) - 600, exp=int(time.time()) - 60)),
    "wrong audience": lambda: sign(claims(aud="elsewhere")),
    "wrong issuer": lambda: sign(claims(iss="https://evil.test")),
    "no sub": lambda: sign(claims(sub=None)),
    "no exp": lambda: sign(claims(exp=None)),
    "no iss": lambda: sign(claims(iss=None)),
    "no aud": lambda: sign(claims(aud=None)),
    "sub not a user id": lambda: sign(claims(sub="../alice")),
    "tampered": lambda: (lambda t: t[: len(t) // 2] + ("A" if t[len(t) // 2] != "A" else "B") + t[len(t) // 2 + 1 :])(
        sign(claims())
    ),
    "truncated": lambda: sign(claims())[:40],
    "malformed": lambda: "not-a-token",
}


@pytest.mark.parametrize("make", BAD.values(), ids=BAD.keys())
def test_bad_tokens_get_401_before_anything_else(app: App, make: Any) -> None:
    token = make()
    for method, path in [("GET", "/v1/workspaces"), ("POST", "/v1/workspaces"), ("GET", "/v1/workspaces/x")]:
        response = app.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, json={})
        assert response.status_code == 401, (method, path, response.text)
    assert app.runtime.requests == []


def test_a_symmetric_key_in_the_jwks_is_never_used(app: App) -> None:
    token = jwt.encode(claims(), b"shared-secret-of-thirty-two-byte", algorithm="HS256", headers={"kid": "sym"})
    assert app.get(token).status_code == 401


def test_the_iso5_defect_skips_the_signature_in_jwt_mode_too(app: App) -> None:
    forged = sign(claims(), ec.generate_private_key(ec.SECP256R1()))
    assert app.get(forged).status_code == 401
    app.switches.set(Defect.ISO5_SKIP_SIGNATURE_CHECK)
    assert app.get(forged).status_code == 200


def test_jwt_users_reject_without_a_reachable_jwks(serve: str) -> None:
    users = JwtUsers.from_url(f"{serve}/absent.json", issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(TokenError):
        users.verify(sign(claims()))


def test_settings_jwt_mode_needs_its_issuer() -> None:
    base = {"token_key": "k", "service_token": "s"}
    assert OrchestratorSettings.model_validate(base).auth_mode == "hmac"
    with pytest.raises(ValidationError, match="JWT_JWKS_URL, JWT_ISSUER, JWT_AUDIENCE"):
        OrchestratorSettings.model_validate({**base, "auth_mode": "jwt"})


def _orchestrator_env(variables: dict[str, str]) -> dict[str, str]:
    objects = render_manifests(variables)
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "orchestrator")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e.get("value") for e in env}


def test_renderer_switches_the_auth_mode() -> None:
    assert _orchestrator_env({"IMAGE": "i"})["AUTH_MODE"] == "hmac"
    jwt_vars = {"JWT_JWKS_URL": "http://i/jwks", "JWT_ISSUER": "http://i", "JWT_AUDIENCE": "a"}
    env = _orchestrator_env({"IMAGE": "i", "AUTH_MODE": "jwt", **jwt_vars})
    assert {k: env[k] for k in ("AUTH_MODE", *jwt_vars)} == {"AUTH_MODE": "jwt", **jwt_vars}
    with pytest.raises(ValueError, match="JWT_JWKS_URL"):
        render_manifests({"IMAGE": "i", "AUTH_MODE": "jwt"})
    with pytest.raises(ValueError, match="AUTH_MODE"):
        render_manifests({"IMAGE": "i", "AUTH_MODE": "oauth"})
