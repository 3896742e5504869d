"""Workspace identities: how a runtime proves which workspace it serves.

Each workspace has a key derived from the platform's identity root key (Secret ``reference-platform-keys``,
key ``identity-root-key``)::

    workspace_key = HMAC-SHA256(root_key, "swarm-identity:" + workspace_id)

The webhook writes it into the swarm's own Secret (``<swarm>-identity``, key ``identity-key``, hex) and the
runtime signs with it. Signatures are lower-case hex HMAC-SHA256 over a canonical string:

* identity challenge: ``"challenge\\n" + workspace_id + "\\n" + nonce``
* message reply: ``"reply\\n" + canonical JSON`` of ``{"conversationId", "reply", "seq", "text",
  "workspaceId"}`` (keys sorted, separators ``,`` and ``:``, UTF-8, no ASCII escaping)

A verifier (the webhook, or the harness) holding the root key recomputes the workspace key for the workspace it
expects and compares with :func:`verify_reply` / :func:`verify_challenge`. HMAC is symmetric: it proves the
reply was made with that workspace's key, which only that swarm's pod (and the platform) holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "REPLY_FIELDS",
    "derive_workspace_key",
    "reply_canonical",
    "sign_challenge",
    "sign_reply",
    "verify_challenge",
    "verify_reply",
]

REPLY_FIELDS = ("conversationId", "reply", "seq", "text", "workspaceId")


def derive_workspace_key(root_key: bytes, workspace_id: str) -> bytes:
    """The per-workspace signing key."""
    return hmac.new(root_key, f"swarm-identity:{workspace_id}".encode(), hashlib.sha256).digest()


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def sign_challenge(workspace_key: bytes, workspace_id: str, nonce: str) -> str:
    """Answer an identity challenge."""
    return _mac(workspace_key, f"challenge\n{workspace_id}\n{nonce}")


def verify_challenge(root_key: bytes, workspace_id: str, nonce: str, signature: str) -> bool:
    """True if ``signature`` answers ``nonce`` for ``workspace_id``."""
    expected = sign_challenge(derive_workspace_key(root_key, workspace_id), workspace_id, nonce)
    return hmac.compare_digest(expected, signature)


def reply_canonical(reply: Mapping[str, Any]) -> str:
    """The string a reply signature covers."""
    body = {field: reply[field] for field in REPLY_FIELDS}
    return "reply\n" + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign_reply(workspace_key: bytes, reply: Mapping[str, Any]) -> str:
    """Sign a reply (a mapping with every field in :data:`REPLY_FIELDS`)."""
    return _mac(workspace_key, reply_canonical(reply))


def verify_reply(root_key: bytes, workspace_id: str, reply: Mapping[str, Any]) -> bool:
    """True if ``reply`` claims ``workspace_id`` and its ``signature`` was made with that workspace's key."""
    if reply.get("workspaceId") != workspace_id or not isinstance(reply.get("signature"), str):
        return False
    try:
        expected = sign_reply(derive_workspace_key(root_key, workspace_id), reply)
    except KeyError:
        return False
    return hmac.compare_digest(expected, reply["signature"])
