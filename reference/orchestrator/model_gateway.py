"""A shared model gateway in the orchestrator: only for the defect ``msg4-shared-model-gateway``.

With the defect on, the webhook points new runtimes at ``/model/v1`` here instead of at the model provider; this
gateway forwards each chat completion to the provider and caches the answer by the user's message, across
workspaces. Each runtime still signs what it returns with its own key, so a signature check passes; but the
answer was asked for by the orchestrator (and, on a cache hit, for another workspace), which a model provider
that records its callers sees. With the defect off every path here is 404.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse

from swarmconf.reference.common.defects import MODEL_GATEWAY_PATH, Defect, Switches

__all__ = ["GATEWAY_PATH", "ModelGateway"]

GATEWAY_PATH = MODEL_GATEWAY_PATH


class ModelGateway:
    """Forwards chat completions to ``provider_url``, caching answers by the last message (the defect)."""

    def __init__(self, provider_url: str, http: httpx.AsyncClient) -> None:
        self._provider, self._http = provider_url.rstrip("/"), http
        self._cache: dict[str, Any] = {}

    async def completions(self, request: Request, switches: Switches) -> JSONResponse:
        if not switches.has(Defect.MSG4_SHARED_MODEL_GATEWAY) or not self._provider:
            return JSONResponse({"error": "not_found", "detail": "not found"}, status_code=404)
        try:
            body = json.loads(await request.body())
            key = json.dumps(body["messages"][-1], sort_keys=True)
        except (ValueError, KeyError, IndexError, TypeError):
            return JSONResponse({"error": "bad_request", "detail": "not a chat completion request"}, status_code=400)
        if key not in self._cache:
            try:
                resp = await self._http.post(f"{self._provider}/chat/completions", json=body)
                resp.raise_for_status()
                self._cache[key] = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                return JSONResponse({"error": "bad_gateway", "detail": repr(exc)}, status_code=502)
        return JSONResponse(self._cache[key])
