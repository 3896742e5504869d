"""Talking to a swarm's runtime through its ClusterIP Service (``http://<svc>.<ns>.svc:<port>``).

Only what the orchestrator decides is sent: a fresh request with its own headers, never the client's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from swarmconf.reference.orchestrator.errors import RuntimeUnavailable

__all__ = ["RuntimeClient", "Target"]


@dataclass(frozen=True)
class Target:
    """Where a workspace's runtime is, as published in its UserSwarm status."""

    service: str
    namespace: str
    port: int

    def url(self, path: str) -> str:
        return f"http://{self.service}.{self.namespace}.svc:{self.port}{path}"


class RuntimeClient:
    """Send messages and read history; any transport or protocol failure is :class:`RuntimeUnavailable`."""

    def __init__(self, http: httpx.AsyncClient, *, timeout: float) -> None:
        self._http, self._timeout = http, timeout

    async def _call(
        self, method: str, target: Target, path: str, user_id: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        headers = {"X-Request-Id": str(uuid.uuid4()), "X-Swarm-User": user_id}
        try:
            response = await self._http.request(
                method, target.url(path), json=body, headers=headers, timeout=self._timeout
            )
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise RuntimeUnavailable() from exc
        if not isinstance(data, dict):
            raise RuntimeUnavailable()
        return data

    async def send(self, target: Target, conversation_id: str, text: str, user_id: str) -> dict[str, Any]:
        return await self._call(
            "POST", target, f"/v1/conversations/{conversation_id}/messages", user_id, {"text": text}
        )

    async def history(self, target: Target, conversation_id: str, user_id: str) -> dict[str, Any]:
        return await self._call("GET", target, f"/v1/conversations/{conversation_id}/messages", user_id)
