"""Every request the runtime receives, with its caller: logged as JSON and kept for ``GET /debug/requests``.

The log is in memory (the last ``size`` requests, since the pod started); each record has a increasing ``seq``
so a reader can ask only for what came after a point in time it noted earlier.
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from swarmconf.reference.common.logs import event

__all__ = ["RequestLog", "RequestLogMiddleware"]

log = logging.getLogger("swarmconf.reference.runtime")
UNLOGGED = ("/debug/requests",)


class RequestLog:
    """A bounded, ordered record of requests."""

    def __init__(self, size: int) -> None:
        self._records: collections.deque[dict[str, Any]] = collections.deque(maxlen=size)
        self._seq = itertools.count(1)

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        record = {"seq": next(self._seq), **record}
        self._records.append(record)
        return record

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [r for r in self._records if r["seq"] > seq]


class RequestLogMiddleware:
    """Record method, path, caller address, headers and response status of each request."""

    def __init__(self, app: ASGIApp, *, requests: RequestLog) -> None:
        self._app, self._requests = app, requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLOGGED:
            await self._app(scope, receive, send)
            return
        status = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, capture)
        finally:
            client = scope.get("client") or ("", 0)
            record = self._requests.add(
                {
                    "ts": round(time.time(), 3),
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "remote": client[0],
                    "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
                    "status": status["code"],
                }
            )
            event(log, "request", **{k: v for k, v in record.items() if k != "headers"})
