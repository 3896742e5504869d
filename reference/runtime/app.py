"""The runtime's HTTP API (port 42617, reachable only inside the cluster).

``POST /v1/conversations/{id}/messages`` {"text"} → signed reply; ``GET`` the same path → history;
with ``MODEL_PROVIDER_URL`` set the reply's text is a model's answer (OpenAI-style chat completions; an
unanswered model call is HTTP 502), else an echo;
``POST /v1/identity/challenge`` {"nonce"} → {"workspaceId", "nonce", "signature"}; ``GET /healthz``;
``GET /debug/requests?since=N`` → the request log (absent, so 404, with ``debug_endpoints`` off; replies carry no
``signature`` with ``sign_replies`` off).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from anyio import to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from swarmconf.reference.common.identity import REPLY_FIELDS, sign_challenge, sign_reply
from swarmconf.reference.common.logs import event
from swarmconf.reference.common.settings import RuntimeSettings
from swarmconf.reference.runtime.history import History
from swarmconf.reference.runtime.requestlog import RequestLog, RequestLogMiddleware, log

__all__ = ["create_app", "reply_text"]

WRONG_KEY = b"not-this-workspace"
MAX_TEXT = 4000


def reply_text(text: str, seq: int) -> str:
    """The deterministic answer to message number ``seq`` of a conversation."""
    return f"echo #{seq}: {text}"


class ModelUnavailable(RuntimeError):
    """The model provider did not answer with a completion."""


async def ask_model(client: httpx.AsyncClient, base_url: str, workspace_id: str, text: str) -> str:
    """The model's answer to the user's ``text`` (``choices[0].message.content`` of a chat completion)."""
    body = {
        "model": "swarm-runtime",
        "messages": [
            {"role": "system", "content": f"You are the assistant of workspace {workspace_id}."},
            {"role": "user", "content": text},
        ],
    }
    try:
        resp = await client.post(f"{base_url.rstrip('/')}/chat/completions", json=body)
        resp.raise_for_status()
        content = resp.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelUnavailable(f"model call failed: {exc!r}") from exc
    if not isinstance(content, str) or not content:
        raise ModelUnavailable(f"model answered no text: {content!r}")
    return content


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"error": "bad_request" if status == 400 else "not_found", "detail": detail}, status_code=status
    )


def _conversation_id(request: Request) -> str | None:
    value = request.path_params["conversation_id"]
    try:
        return value if str(uuid.UUID(value)) == value else None
    except ValueError:
        return None


async def _json(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Runtime:
    """Handlers for one workspace's runtime."""

    def __init__(
        self, settings: RuntimeSettings, history: History, model_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings, self._history = settings, history
        self._key = bytes.fromhex(settings.identity_key.get_secret_value())
        # trust_env off: the model is asked directly at the configured address, never through a proxy.
        self._model = httpx.AsyncClient(
            timeout=settings.model_timeout_seconds, trust_env=False, transport=model_transport
        )

    def _reply(self, conversation_id: str, text: str, seq: int, answer: str | None) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "workspaceId": self._settings.workspace_id,
            "conversationId": conversation_id,
            "seq": seq,
            "text": text,
            "reply": answer if answer is not None else reply_text(text, seq),
        }
        if not self._settings.sign_replies:
            return {**reply, "swarm": self._settings.swarm_name}
        reply["signature"] = sign_reply(self._key, reply)
        return {**reply, "swarm": self._settings.swarm_name, "signedFields": list(REPLY_FIELDS)}

    async def post_message(self, request: Request) -> JSONResponse:
        conversation_id, body = _conversation_id(request), await _json(request)
        if conversation_id is None:
            return _error(404, "unknown conversation")
        text = body.get("text") if body else None
        if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
            return _error(400, 'body must be {"text": <1-4000 characters>}')
        answer = None
        if self._settings.model_provider_url:
            try:
                answer = await ask_model(
                    self._model, self._settings.model_provider_url, self._settings.workspace_id, text
                )
            except ModelUnavailable as exc:
                # In the pod's log too: the orchestrator passes a 502 on without its detail, and the detail
                # (refused, DNS, timeout) is what tells a platform fault from a cluster one.
                event(log, "model-unavailable", conversation=conversation_id, detail=str(exc))
                return JSONResponse({"error": "model_unavailable", "detail": str(exc)}, status_code=502)
        reply = await to_thread.run_sync(
            self._history.append, conversation_id, text, lambda seq: self._reply(conversation_id, text, seq, answer)
        )
        return JSONResponse(reply)

    async def get_messages(self, request: Request) -> JSONResponse:
        conversation_id = _conversation_id(request)
        if conversation_id is None:
            return _error(404, "unknown conversation")
        messages = await to_thread.run_sync(self._history.read, conversation_id)
        return JSONResponse(
            {"workspaceId": self._settings.workspace_id, "conversationId": conversation_id, "messages": messages}
        )

    async def challenge(self, request: Request) -> JSONResponse:
        body = await _json(request)
        nonce = body.get("nonce") if body else None
        if not isinstance(nonce, str) or not 0 < len(nonce) <= 256:
            return _error(400, 'body must be {"nonce": <string>}')
        key = WRONG_KEY if self._settings.runtime_mode == "wrong-identity" else self._key
        workspace_id = self._settings.workspace_id
        return JSONResponse(
            {"workspaceId": workspace_id, "nonce": nonce, "signature": sign_challenge(key, workspace_id, nonce)}
        )

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "workspaceId": self._settings.workspace_id, "mode": self._settings.runtime_mode}
        )


def create_app(
    settings: RuntimeSettings,
    *,
    requests: RequestLog | None = None,
    model_transport: httpx.AsyncBaseTransport | None = None,
) -> RequestLogMiddleware:
    """The runtime app, wrapped in its request log (``model_transport``: how the model is reached, for tests)."""
    runtime = Runtime(settings, History(settings.data_dir), model_transport)
    requests = requests or RequestLog(settings.request_log_size)

    async def debug_requests(request: Request) -> JSONResponse:
        try:
            since = int(request.query_params.get("since", "0"))
        except ValueError:
            return _error(400, "since must be an integer")
        return JSONResponse({"workspaceId": settings.workspace_id, "requests": requests.since(since)})

    messages = "/v1/conversations/{conversation_id}/messages"
    app = Starlette(
        routes=[
            Route(messages, runtime.post_message, methods=["POST"]),
            Route(messages, runtime.get_messages, methods=["GET"]),
            Route("/v1/identity/challenge", runtime.challenge, methods=["POST"]),
            Route("/healthz", runtime.health, methods=["GET"]),
            *([Route("/debug/requests", debug_requests, methods=["GET"])] if settings.debug_endpoints else []),
        ]
    )
    return RequestLogMiddleware(app, requests=requests)
