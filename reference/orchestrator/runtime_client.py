"""Talking to a swarm's runtime through its ClusterIP Service (``http://<svc>.<ns>.svc:<port>``).

Only what the orchestrator decides is sent: a fresh request with its own headers, never the client's.
:class:`ApiServerRoute` is the wrong way, for the defect ``msg3-via-api-server`` only: the same request sent
through the Kubernetes API server's service proxy, so the runtime sees the API server as its caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from swarmconf.reference.orchestrator.errors import RuntimeUnavailable

__all__ = ["ApiServerRoute", "RuntimeClient", "Target"]

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class Target:
    """Where a workspace's runtime is, as published in its UserSwarm status."""

    service: str
    namespace: str
    port: int

    def url(self, path: str) -> str:
        return f"http://{self.service}.{self.namespace}.svc:{self.port}{path}"


@dataclass(frozen=True)
class ApiServerRoute:
    """The API server's service proxy to a runtime (only the defect ``msg3-via-api-server`` uses it).

    ``http`` must trust the cluster's CA; the token is read at each call (the kubelet rotates it).
    """

    http: httpx.AsyncClient
    base_url: str = "https://kubernetes.default.svc"
    token_file: str = f"{SERVICE_ACCOUNT}/token"

    def url(self, target: Target, path: str) -> str:
        proxy = f"/api/v1/namespaces/{target.namespace}/services/{target.service}:{target.port}/proxy"
        return f"{self.base_url}{proxy}{path}"

    def headers(self) -> dict[str, str]:
        try:
            token = Path(self.token_file).read_text().strip()
        except OSError:
            return {}
        return {"Authorization": f"Bearer {token}"}


class RuntimeClient:
    """Send messages and read history; any transport or protocol failure is :class:`RuntimeUnavailable`."""

    def __init__(self, http: httpx.AsyncClient, *, timeout: float, api_server: ApiServerRoute | None = None) -> None:
        self._http, self._timeout, self._api_server = http, timeout, api_server

    async def _call(
        self,
        method: str,
        target: Target,
        path: str,
        user_id: str,
        body: dict[str, Any] | None = None,
        *,
        via_api_server: bool = False,
    ) -> dict[str, Any]:
        headers = {"X-Request-Id": str(uuid.uuid4()), "X-Swarm-User": user_id}
        http, url = self._http, target.url(path)
        if via_api_server and self._api_server is not None:
            http, url = self._api_server.http, self._api_server.url(target, path)
            headers.update(self._api_server.headers())
        try:
            response = await http.request(method, url, json=body, headers=headers, timeout=self._timeout)
            data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise RuntimeUnavailable() from exc
        if not isinstance(data, dict):
            raise RuntimeUnavailable()
        return data

    async def send(
        self, target: Target, conversation_id: str, text: str, user_id: str, *, via_api_server: bool = False
    ) -> dict[str, Any]:
        path = f"/v1/conversations/{conversation_id}/messages"
        return await self._call("POST", target, path, user_id, {"text": text}, via_api_server=via_api_server)

    async def history(
        self, target: Target, conversation_id: str, user_id: str, *, via_api_server: bool = False
    ) -> dict[str, Any]:
        path = f"/v1/conversations/{conversation_id}/messages"
        return await self._call("GET", target, path, user_id, via_api_server=via_api_server)
