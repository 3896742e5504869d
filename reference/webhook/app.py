"""HTTP surface of the webhook: ``POST /sync``, ``POST /finalize``, ``GET /healthz``."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from swarmconf.reference.common.logs import event
from swarmconf.reference.webhook.hooks import HookFault, Hooks

__all__ = ["create_app"]

log = logging.getLogger("swarmconf.reference.webhook")
Handler = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


async def _read(request: Request) -> Mapping[str, Any] | None:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _hook(name: str, handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        body = await _read(request)
        if body is None:
            return JSONResponse({"error": "bad_request", "detail": "body must be a JSON object"}, status_code=400)
        swarm = (body.get("parent") or {}).get("metadata", {}).get("name")
        try:
            response = await handler(body)
        except HookFault as exc:
            event(log, "hook-fault", hook=name, swarm=swarm, detail=str(exc))
            return JSONResponse({"error": "injected_fault", "detail": str(exc)}, status_code=500)
        event(
            log,
            "hook",
            hook=name,
            swarm=swarm,
            children=len(response["children"]),
            phase=response["status"].get("phase"),
            finalized=response.get("finalized"),
        )
        return JSONResponse(response)

    return endpoint


def create_app(hooks: Hooks) -> Starlette:
    """The webhook application around ``hooks``."""

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **(await hooks.current_switches()).as_json()})

    return Starlette(
        routes=[
            Route("/sync", _hook("sync", hooks.sync), methods=["POST"]),
            Route("/finalize", _hook("finalize", hooks.finalize), methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
