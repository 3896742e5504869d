"""Fakes for the reference platform's boundaries, shared by conftest.py and the tests.

Kubernetes (UserSwarms), the runtime (an httpx MockTransport), the defect switch and an in-process ASGI client.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
from starlette.types import ASGIApp

from swarmconf.reference.common.defects import Defect, Fault, StaticSwitches, Switches
from swarmconf.reference.common.tokens import mint_token
from swarmconf.reference.orchestrator.store import Store
from swarmconf.reference.orchestrator.swarms import SwarmApiError

TOKEN_KEY = b"unit-test-token-key"
SERVICE_TOKEN = "unit-test-service-token"
ROOT_KEY = b"unit-test-identity-root"


class ASGIClient:
    """A synchronous in-process client for an ASGI app (httpx.ASGITransport; each call runs its own loop).

    starlette's TestClient is deprecated with httpx in starlette 1.x (it warns), so the tests use this instead.
    """

    def __init__(self, app: ASGIApp, base_url: str = "http://testserver") -> None:
        self._app, self._base_url = app, base_url

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self._app)
            async with httpx.AsyncClient(transport=transport, base_url=self._base_url) as client:
                return await client.request(method, path, **kwargs)

        return anyio.run(call)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


class Switchboard(StaticSwitches):
    """Mutable switches: ``board.set(Defect.X)``."""

    def set(self, defect: Defect | None = None, fault: Fault | None = None) -> None:
        self.switches = Switches(defect, fault)


class FakeSwarms:
    """An in-memory UserSwarm API; ``fail`` makes every call raise."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self.fail = False

    def _check(self) -> None:
        if self.fail:
            raise SwarmApiError("injected")

    def create(self, body: dict[str, Any]) -> None:
        self._check()
        self.objects[body["metadata"]["name"]] = copy.deepcopy(body)

    def get(self, name: str) -> dict[str, Any] | None:
        self._check()
        return copy.deepcopy(self.objects.get(name))

    def delete(self, name: str) -> None:
        self._check()
        self.deleted.append(name)
        self.objects.pop(name, None)

    def verify(self, name: str, *, service: str | None = None, verified: bool = True) -> None:
        """Publish a status like the webhook does."""
        spec = self.objects[name]["spec"]
        self.objects[name]["status"] = {
            "phase": "Running" if verified else "Verifying",
            "serviceName": service or f"swarm-{spec['workspaceId']}",
            "runtimeNamespace": "userswarms",
            "servicePort": 42617,
            "readyReplicas": 1,
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Verified", "status": "True" if verified else "False"},
            ],
        }


@dataclass
class RuntimeRecorder:
    """Every request the orchestrator sent to any runtime; answers like a runtime would."""

    requests: list[httpx.Request] = field(default_factory=list)
    status: int = 200

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host = request.url.host
        if request.method == "POST":
            text = json.loads(request.content)["text"]
            return httpx.Response(self.status, json={"host": host, "reply": f"echo #1: {text}"})
        return httpx.Response(self.status, json={"host": host, "messages": []})

    @property
    def hosts(self) -> list[str]:
        return [r.url.host for r in self.requests]


@dataclass
class OrchestratorHarness:
    client: ASGIClient
    swarms: FakeSwarms
    runtime: RuntimeRecorder
    switches: Switchboard
    store: Store

    def auth(self, user: str, ttl: int = 300) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(TOKEN_KEY, user, ttl)}"}

    def workspace(self, user: str, *, verified: bool = True) -> str:
        response = self.client.post("/v1/workspaces", json={"name": "w"}, headers=self.auth(user))
        assert response.status_code == 201, response.text
        body = response.json()
        if verified:
            self.swarms.verify(body["swarmName"])
        return str(body["id"])

    def conversation(self, user: str, workspace_id: str) -> str:
        response = self.client.post(f"/v1/workspaces/{workspace_id}/conversations", headers=self.auth(user))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])
