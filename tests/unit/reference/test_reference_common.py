"""Shared code: tokens, names, identity signatures.

Coverage matrix:

| module   | cases                                                                                          |
|----------|------------------------------------------------------------------------------------------------|
| tokens   | round trip; expired (exp == now, past); wrong key; tampered payload/signature; malformed:       |
|          | no dot, extra dot, empty parts, non-base64, non-JSON, non-object, missing/ill-typed sub/exp,     |
|          | bool exp, invalid user id; mint rejects empty key and bad user id; negative TTL mints expired   |
| names    | deterministic; UUID names unshortened; long IDs shortened with hash within each kind's limit;   |
|          | distinct IDs never collide (case, punctuation, common prefix); label values valid               |
| identity | challenge and reply signatures verify for the right workspace only; tampered reply fails        |
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from swarmconf.reference.common import identity, names
from swarmconf.reference.common.tokens import (
    BadSignature,
    ExpiredToken,
    MalformedToken,
    TokenError,
    mint_token,
    verify_token,
)

KEY = b"k" * 32
NOW = 1_700_000_000.0


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_token_round_trip() -> None:
    assert verify_token(KEY, mint_token(KEY, "alice", 60, now=NOW), now=NOW + 59) == "alice"


@pytest.mark.parametrize("at", [NOW + 60, NOW + 3600])
def test_expired_token(at: float) -> None:
    with pytest.raises(ExpiredToken):
        verify_token(KEY, mint_token(KEY, "alice", 60, now=NOW), now=at)


def test_negative_ttl_mints_an_expired_token() -> None:
    with pytest.raises(ExpiredToken):
        verify_token(KEY, mint_token(KEY, "alice", -1))


def test_wrong_key_and_tampering_are_bad_signatures() -> None:
    token = mint_token(KEY, "alice", 60, now=NOW)
    payload, signature = token.split(".")
    forged_payload = _b64(json.dumps({"exp": int(NOW) + 60, "sub": "bob"}).encode())
    for bad in [
        mint_token(b"other", "alice", 60, now=NOW),
        f"{forged_payload}.{signature}",
        f"{payload}.{_b64(b'x' * 32)}",
    ]:
        with pytest.raises(BadSignature):
            verify_token(KEY, bad, now=NOW)


def _signed(claims: object) -> str:
    import hashlib
    import hmac

    payload = _b64(json.dumps(claims).encode()) if not isinstance(claims, bytes) else _b64(claims)
    return f"{payload}.{_b64(hmac.new(KEY, payload.encode(), hashlib.sha256).digest())}"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        ".sig",
        "payload.",
        "p@yload.sig",
        "payload.s!g",
        _signed(b"not json"),
        _signed([1, 2]),
        _signed({"exp": 2_000_000_000}),
        _signed({"sub": "alice"}),
        _signed({"sub": "alice", "exp": "soon"}),
        _signed({"sub": "alice", "exp": True}),
        _signed({"sub": "../etc", "exp": 2_000_000_000}),
        _signed({"sub": "", "exp": 2_000_000_000}),
    ],
)
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(MalformedToken):
        verify_token(KEY, token, now=NOW)


def test_token_errors_are_one_tree() -> None:
    assert all(issubclass(e, TokenError) for e in (MalformedToken, BadSignature, ExpiredToken))


@pytest.mark.parametrize(("key", "user"), [(b"", "alice"), (KEY, "bad user"), (KEY, "")])
def test_mint_rejects_bad_input(key: bytes, user: str) -> None:
    with pytest.raises(ValueError):
        mint_token(key, user, 60)


UUID = "0b5c7e0e-54f4-4c59-9b1a-3e4c1f4a2d11"
DNS = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")


def test_uuid_names_are_plain_and_deterministic() -> None:
    n = names.child_names(UUID)
    assert n == names.child_names(UUID)
    assert n.service == f"swarm-{UUID}" and n.headless_service == f"swarm-{UUID}-hl"
    assert names.userswarm_name(UUID) == f"ws-{UUID}"


@pytest.mark.parametrize("workspace", ["a" * 200, "x" * 47, "Mixed_Case.ID", "a--b", "é"])
def test_names_fit_their_kind_and_are_dns_labels(workspace: str) -> None:
    n = names.child_names(workspace)
    assert len(n.statefulset) <= 52
    for value in (
        n.service,
        n.headless_service,
        n.pvc,
        n.configmap,
        n.serviceaccount,
        n.secret,
        names.userswarm_name(workspace),
    ):
        assert len(value) <= 63 and DNS.match(value), value


def test_distinct_workspaces_never_share_names() -> None:
    ids = ["a" * 100 + "1", "a" * 100 + "2", "abc", "ABC", "a.b", "a-b", "a_b"]
    assert len({names.child_names(i).service for i in ids}) == len(ids)
    assert len({names.child_names(i).statefulset for i in ids}) == len(ids)


@pytest.mark.parametrize("value", ["alice", "a" * 63, "a" * 64, "user@example.com", "-x-", ""])
def test_label_values_are_valid(value: str) -> None:
    label = names.label_value(value)
    assert 0 < len(label) <= 63 and re.match(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$", label)
    assert names.label_value(value) == label


def test_challenge_signature_binds_workspace_and_nonce() -> None:
    root = b"root"
    key = identity.derive_workspace_key(root, "ws-a")
    signature = identity.sign_challenge(key, "ws-a", "n1")
    assert identity.verify_challenge(root, "ws-a", "n1", signature)
    assert not identity.verify_challenge(root, "ws-b", "n1", signature)
    assert not identity.verify_challenge(root, "ws-a", "n2", signature)


def test_reply_signature_proves_the_workspace() -> None:
    root = b"root"
    reply = {"workspaceId": "ws-a", "conversationId": "c", "seq": 1, "text": "hi", "reply": "echo #1: hi"}
    reply["signature"] = identity.sign_reply(identity.derive_workspace_key(root, "ws-a"), reply)
    assert identity.verify_reply(root, "ws-a", reply)
    assert not identity.verify_reply(root, "ws-b", reply)
    assert not identity.verify_reply(root, "ws-a", {**reply, "reply": "tampered"})
    assert not identity.verify_reply(root, "ws-a", {k: v for k, v in reply.items() if k != "seq"})
