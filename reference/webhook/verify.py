"""The identity challenge: is the runtime behind a swarm's Service really that workspace's runtime?"""

from __future__ import annotations

import secrets
from typing import Protocol

import httpx

from swarmconf.reference.common.identity import verify_challenge

__all__ = ["ChallengeVerifier", "Verifier"]


class Verifier(Protocol):
    """Answers "did the runtime behind ``service`` prove it serves ``workspace_id``?" (never raises)."""

    async def verify(self, *, service: str, namespace: str, port: int, workspace_id: str) -> tuple[bool, str]: ...


class ChallengeVerifier:
    """Sends a fresh nonce to ``POST /v1/identity/challenge`` through the Service and checks the signature."""

    def __init__(self, http: httpx.AsyncClient, *, root_key: bytes, timeout: float) -> None:
        self._http, self._root_key, self._timeout = http, root_key, timeout

    async def verify(self, *, service: str, namespace: str, port: int, workspace_id: str) -> tuple[bool, str]:
        nonce = secrets.token_hex(16)
        url = f"http://{service}.{namespace}.svc:{port}/v1/identity/challenge"
        try:
            response = await self._http.post(url, json={"nonce": nonce}, timeout=self._timeout)
            answer = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            return False, f"challenge failed: {type(exc).__name__}"
        if not isinstance(answer, dict):
            return False, f"challenge answered HTTP {response.status_code}"
        if answer.get("workspaceId") != workspace_id or answer.get("nonce") != nonce:
            return False, "challenge answered for another workspace or nonce"
        signature = answer.get("signature")
        if not isinstance(signature, str) or not verify_challenge(self._root_key, workspace_id, nonce, signature):
            return False, "challenge signature does not match the workspace identity"
        return True, "verified"
