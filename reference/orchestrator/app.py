"""The orchestrator's HTTP API (see ``reference/README.md`` for routes and bodies)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
from anyio import to_thread
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from swarmconf.reference.common.defects import Defect, Switches, SwitchReader
from swarmconf.reference.common.logs import event
from swarmconf.reference.common.names import child_names, userswarm_name
from swarmconf.reference.common.settings import OrchestratorSettings
from swarmconf.reference.orchestrator.auth import AuthMiddleware, UserVerifier, user_verifier
from swarmconf.reference.orchestrator.errors import (
    ApiError,
    BadRequest,
    DeletionConflict,
    NotFound,
    NotReady,
    NotYours,
    PayloadTooLarge,
    Unavailable,
    Unprocessable,
)
from swarmconf.reference.orchestrator.model_gateway import GATEWAY_PATH, ModelGateway
from swarmconf.reference.orchestrator.runtime_client import RuntimeClient, Target
from swarmconf.reference.orchestrator.store import Conversation, Store, Workspace
from swarmconf.reference.orchestrator.swarms import SwarmApi, SwarmApiError, userswarm_manifest

__all__ = ["Orchestrator", "create_app"]

log = logging.getLogger("swarmconf.reference.orchestrator")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_M = TypeVar("_M", bound=BaseModel)


class RuntimeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["normal", "wrong-identity"] = "normal"


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="workspace", min_length=1, max_length=100)
    runtime: RuntimeIn = Field(default_factory=RuntimeIn)


class LaxRuntimeIn(BaseModel):
    """The runtime as the defect ``lif3-accept-any-runtime-mode`` reads it: any mode string passes."""

    model_config = ConfigDict(extra="forbid")
    mode: str = "normal"


class LaxWorkspaceIn(WorkspaceIn):
    runtime: LaxRuntimeIn = Field(default_factory=LaxRuntimeIn)  # type: ignore[assignment]


class ConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="", max_length=200)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


def canonical_uuid(value: str) -> str:
    """``value`` if it is a UUID in canonical lower-case form; anything else is the uniform 404."""
    try:
        if str(uuid.UUID(value)) == value:
            return value
    except ValueError:
        pass
    raise NotFound()


def is_verified(status: dict[str, Any]) -> bool:
    """True if the UserSwarm status has ``Verified=True``."""
    conditions = status.get("conditions")
    return isinstance(conditions, list) and any(
        isinstance(c, dict) and c.get("type") == "Verified" and c.get("status") == "True" for c in conditions
    )


def target_from_status(status: dict[str, Any], default_port: int) -> Target:
    """The runtime's Service, from the UserSwarm status only (503 if it is not verified or not usable)."""
    service, namespace, port = status.get("serviceName"), status.get("runtimeNamespace"), status.get("servicePort")
    if not is_verified(status) or not isinstance(service, str) or not isinstance(namespace, str):
        raise NotReady()
    if not _DNS_LABEL.match(service) or not _DNS_LABEL.match(namespace):
        raise NotReady()
    return Target(service, namespace, port if isinstance(port, int) and 0 < port < 65536 else default_port)


def workspace_json(ws: Workspace, swarm: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ws.id,
        "name": ws.name,
        "userId": ws.user_id,
        "swarmName": ws.swarm_name,
        "runtimeMode": ws.runtime_mode,
        "createdAt": ws.created_at,
    }
    if swarm is not None:
        status = swarm.get("status") or {}
        body["status"] = {
            "phase": status.get("phase", "Pending"),
            "verified": is_verified(status),
            "readyReplicas": status.get("readyReplicas", 0),
        }
    return body


@dataclass
class _Audit:
    user_id: str
    method: str
    path: str
    workspace_id: str
    conversation_id: str
    target: str | None = None
    forwarded: bool = False


class Orchestrator:
    """Route handlers with their collaborators (store, Kubernetes boundary, runtime client, defect switches)."""

    def __init__(
        self,
        *,
        settings: OrchestratorSettings,
        store: Store,
        swarms: SwarmApi,
        runtime: RuntimeClient,
        switches: SwitchReader,
        model_gateway: ModelGateway | None = None,
    ) -> None:
        self._settings, self._store, self._swarms = settings, store, swarms
        self._runtime, self._switches = runtime, switches
        self._gateway = model_gateway or ModelGateway(settings.model_provider_url, httpx.AsyncClient(trust_env=False))
        # msg6-history-from-orchestrator: copies of runtimes' histories, served instead of asking the runtime
        self._history_copies: dict[tuple[str, str], Any] = {}

    async def model_completions(self, request: Request) -> JSONResponse:
        """The defect msg4-shared-model-gateway's shared, caching model gateway (404 unless it is on)."""
        return await self._gateway.completions(request, await self.switches())

    @property
    def switch_reader(self) -> SwitchReader:
        return self._switches

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await to_thread.run_sync(fn, *args)

    async def switches(self) -> Switches:
        return await to_thread.run_sync(self._switches.current)

    async def _kube(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await self._run(fn, *args)
        except SwarmApiError as exc:
            event(log, "kube-error", error=str(exc))
            raise Unavailable() from exc

    async def _body(self, request: Request, model: type[_M], *, optional: bool = False) -> _M:
        raw = await _read_limited(request, self._settings.max_body_bytes)
        if optional and not raw.strip():
            raw = b"{}"
        try:
            data = json.loads(raw)
        except ValueError:
            raise BadRequest() from None
        if not isinstance(data, dict):
            raise BadRequest()
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            raise Unprocessable(detail) from None

    async def _owned(self, request: Request, *, allow_foreign: bool = False, leaky: bool = False) -> Workspace:
        """The caller's workspace named in the path, or the uniform 404.

        ``leaky``: the workspace routes (read, delete), where the defect ``iso4-existence-leak`` answers another
        user's workspace with a 404 of its own.
        """
        workspace_id = canonical_uuid(request.path_params["workspace_id"])
        ws: Workspace | None = await self._run(self._store.get_workspace, workspace_id)
        user = request.state.user
        if ws is None:
            raise NotFound()
        if ws.user_id != user:
            switches = await self.switches()
            if leaky and switches.has(Defect.ISO4_EXISTENCE_LEAK):
                raise NotYours()
            if not (allow_foreign and switches.has(Defect.ISO4_SKIP_OWNERSHIP_CHECK)):
                raise NotFound()
        return ws

    # ---- workspaces ---------------------------------------------------------------------------------------------

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **(await self.switches()).as_json()})

    async def create_workspace(self, request: Request) -> JSONResponse:
        lax = (await self.switches()).has(Defect.LIF3_ACCEPT_ANY_RUNTIME_MODE)
        body = await self._body(request, LaxWorkspaceIn if lax else WorkspaceIn, optional=True)
        workspace_id = str(uuid.uuid4())
        ws = Workspace(
            workspace_id,
            request.state.user,
            body.name,
            userswarm_name(workspace_id, hashed=self._settings.hashed_names),
            body.runtime.mode,
            time.time(),
        )
        manifest = userswarm_manifest(
            name=ws.swarm_name,
            workspace_id=ws.id,
            user_id=ws.user_id,
            runtime_namespace=self._settings.runtime_namespace,
            runtime_mode=ws.runtime_mode,
            platform_namespace=self._settings.platform_namespace,
        )
        await self._run(self._store.create_workspace, ws)
        try:
            await self._kube(self._swarms.create, manifest)
        except Unavailable:
            await self._run(lambda: self._store.delete_workspace(ws.id, how="create-failed", tombstone=False))
            raise
        event(log, "workspace-created", workspace=ws.id, user=ws.user_id, swarm=ws.swarm_name)
        return JSONResponse(workspace_json(ws, {}), status_code=201)

    async def list_workspaces(self, request: Request) -> JSONResponse:
        workspaces = await self._run(self._store.list_workspaces, request.state.user)
        return JSONResponse({"workspaces": [workspace_json(ws) for ws in workspaces]})

    async def get_workspace(self, request: Request) -> JSONResponse:
        try:
            ws = await self._owned(request, allow_foreign=True, leaky=True)
        except NotYours:
            raise
        except NotFound:
            gone = await self._terminating(request, Defect.DEL1_READABLE_WHILE_TERMINATING)
            if gone is None:
                raise
            ws = gone
        swarm = await self._kube(self._swarms.get, ws.swarm_name)
        body = workspace_json(ws, swarm or {})
        if (await self.switches()).has(Defect.LIF1_API_NEVER_VERIFIED):
            body["status"]["verified"] = False
        return JSONResponse(body)

    async def _terminating(self, request: Request, defect: Defect) -> Workspace | None:
        """Under ``defect`` only: the caller's workspace deleted through the API whose UserSwarm is still there."""
        if not (await self.switches()).has(defect):
            return None
        tomb = await self._run(self._store.tombstone, canonical_uuid(request.path_params["workspace_id"]))
        if tomb is None or tomb.how != "api" or tomb.user_id != request.state.user:
            return None
        if await self._kube(self._swarms.get, tomb.swarm_name) is None:
            return None
        return Workspace(tomb.id, tomb.user_id, "workspace", tomb.swarm_name, "normal", tomb.deleted_at)

    async def delete_workspace(self, request: Request) -> Response:
        """Layer 1: delete the workspace row, then its UserSwarm (the reaper catches a failure in between)."""
        try:
            ws = await self._owned(request, leaky=True)
        except NotYours:
            raise
        except NotFound:
            if await self._terminating(request, Defect.DEL6_REDELETE_FAILS_WHILE_TERMINATING) is not None:
                raise DeletionConflict() from None
            raise
        await self._run(lambda: self._store.delete_workspace(ws.id, how="api"))
        if not (await self.switches()).has(Defect.DEL2_KEEP_USERSWARM):
            try:
                await self._run(self._swarms.delete, ws.swarm_name)
            except SwarmApiError as exc:  # the workspace is gone either way; the reaper removes the swarm
                event(log, "userswarm-delete-failed", workspace=ws.id, swarm=ws.swarm_name, error=str(exc))
        event(log, "workspace-deleted", workspace=ws.id, user=ws.user_id, swarm=ws.swarm_name)
        return Response(status_code=204)

    async def create_conversation(self, request: Request) -> JSONResponse:
        ws = await self._owned(request, allow_foreign=True)
        body = await self._body(request, ConversationIn, optional=True)
        conversation = Conversation(str(uuid.uuid4()), ws.id, body.title, time.time())
        await self._run(self._store.create_conversation, conversation)
        return JSONResponse(
            {
                "id": conversation.id,
                "workspaceId": ws.id,
                "title": conversation.title,
                "createdAt": conversation.created_at,
            },
            status_code=201,
        )

    # ---- messages (proxied, audited) ----------------------------------------------------------------------------

    async def post_message(self, request: Request) -> JSONResponse:
        return await self._audited(request, self._post_message)

    async def get_messages(self, request: Request) -> JSONResponse:
        return await self._audited(request, self._get_messages)

    async def _post_message(self, request: Request, audit: _Audit) -> JSONResponse:
        ws, conversation_id = await self._conversation(request, audit)
        body = await self._body(request, MessageIn)
        switches = await self.switches()
        if switches.has(Defect.MSG1_REJECT_NON_ASCII) and not body.text.isascii():
            raise Unprocessable("text: only ASCII text is supported")
        if switches.has(Defect.MSG4_FIRST_CONVERSATION):
            first = await self._run(self._store.first_conversation, ws.id)
            conversation_id = first.id if first is not None else conversation_id
        target = await self._resolve(ws, request.state.user, audit)
        audit.forwarded = True
        via_api_server = switches.has(Defect.MSG3_VIA_API_SERVER)
        reply = await self._runtime.send(
            target, conversation_id, body.text, request.state.user, via_api_server=via_api_server
        )
        if switches.has(Defect.MSG6_HISTORY_FROM_ORCHESTRATOR):
            copy = await self._runtime.history(target, conversation_id, request.state.user)
            self._history_copies[(ws.id, conversation_id)] = copy
        return JSONResponse(reply)

    async def _get_messages(self, request: Request, audit: _Audit) -> JSONResponse:
        ws, conversation_id = await self._conversation(request, audit)
        copy = self._history_copies.get((ws.id, conversation_id))
        if copy is not None and (await self.switches()).has(Defect.MSG6_HISTORY_FROM_ORCHESTRATOR):
            return JSONResponse(copy)  # the defect: history kept and served away from the swarm's volume
        target = await self._resolve(ws, request.state.user, audit)
        audit.forwarded = True
        via_api_server = (await self.switches()).has(Defect.MSG3_VIA_API_SERVER)
        history = await self._runtime.history(
            target, conversation_id, request.state.user, via_api_server=via_api_server
        )
        return JSONResponse(history)

    async def _conversation(self, request: Request, audit: _Audit) -> tuple[Workspace, str]:
        ws = await self._owned(request, allow_foreign=True)
        conversation_id = canonical_uuid(request.path_params["conversation_id"])
        if await self._run(self._store.get_conversation, ws.id, conversation_id) is None:
            raise NotFound()
        audit.workspace_id, audit.conversation_id = ws.id, conversation_id
        return ws, conversation_id

    async def _resolve(self, ws: Workspace, user: str, audit: _Audit) -> Target:
        """The runtime of ``ws``, from its UserSwarm status only; 503 (nothing sent) until it is verified."""
        if (await self.switches()).has(Defect.MSG2_ROUTE_BY_USER):
            ws = await self._run(self._store.first_workspace, user) or ws
        swarm = await self._kube(self._swarms.get, ws.swarm_name)
        if swarm is None:
            raise NotReady()
        target = target_from_status(swarm.get("status") or {}, self._settings.runtime_port)
        if (await self.switches()).has(Defect.MSG5_ONE_GATE_FOR_ALL) and await self._any_unverified():
            raise NotReady()  # the defect: one gate for all swarms, not one per swarm
        if (await self.switches()).has(Defect.MSG2_REBUILD_SERVICE_NAME):  # the name rebuilt, not read
            target = Target(child_names(ws.id).service, self._settings.runtime_namespace, target.port)
        audit.target = f"{target.service}.{target.namespace}:{target.port}"
        return target

    async def _any_unverified(self) -> bool:
        """Whether any workspace's UserSwarm exists and is not verified (the defect ``msg5-one-gate-for-all``)."""
        for other in await self._run(self._store.all_workspaces):
            swarm = await self._kube(self._swarms.get, other.swarm_name)
            if swarm is not None and not is_verified(swarm.get("status") or {}):
                return True
        return False

    async def _audited(
        self, request: Request, handler: Callable[[Request, _Audit], Awaitable[JSONResponse]]
    ) -> JSONResponse:
        audit = _Audit(
            request.state.user,
            request.method,
            request.url.path,
            request.path_params.get("workspace_id", ""),
            request.path_params.get("conversation_id", ""),
        )
        status = 500
        try:
            response = await handler(request, audit)
            status = response.status_code
            return response
        except ApiError as exc:
            status = exc.status
            raise
        finally:
            record = {
                "ts": time.time(),
                "user_id": audit.user_id,
                "method": audit.method,
                "path": audit.path,
                "workspace_id": audit.workspace_id,
                "conversation_id": audit.conversation_id,
                "target": audit.target,
                "status": status,
                "forwarded": int(audit.forwarded),
            }
            event(log, "audit", **record)
            await self._run(lambda: self._store.add_audit(**record))

    # ---- internal (service credential) --------------------------------------------------------------------------

    async def workspace_exists(self, request: Request) -> JSONResponse:
        """For the reaper: 200 if the workspace exists, 404 if it does not, 400 if the ID is not a workspace ID."""
        workspace_id = request.path_params["workspace_id"]
        try:
            canonical_uuid(workspace_id)
        except NotFound:
            return JSONResponse({"error": "bad_request", "detail": "not a workspace id"}, status_code=400)
        exists = await self._run(self._store.get_workspace, workspace_id) is not None
        if not exists and (await self.switches()).has(Defect.RPR1_TOMBSTONES_COUNT_AS_LIVE):
            exists = await self._run(self._store.is_tombstoned, workspace_id)
        return JSONResponse({"workspaceId": workspace_id, "exists": exists}, status_code=200 if exists else 404)

    async def audit(self, request: Request) -> JSONResponse:
        try:
            since = int(request.query_params.get("since", "0"))
            limit = min(int(request.query_params.get("limit", "1000")), 5000)
        except ValueError:
            raise BadRequest("since and limit must be integers") from None
        return JSONResponse({"records": await self._run(self._store.audit_since, since, limit)})


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge() if declared.isdigit() else BadRequest("invalid Content-Length")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return NotFound().response()
    return JSONResponse({"error": "http_error", "detail": exc.detail}, status_code=exc.status_code)


def create_app(
    orchestrator: Orchestrator, *, settings: OrchestratorSettings, users: UserVerifier | None = None
) -> AuthMiddleware:
    """The ASGI app: authentication middleware around the routes (``users``: the settings' verifier unless given)."""
    o = orchestrator
    ws, conv = "/v1/workspaces/{workspace_id}", "/v1/workspaces/{workspace_id}/conversations"
    routes = [
        Route("/v1/health", o.health, methods=["GET"]),
        Route("/v1/workspaces", o.create_workspace, methods=["POST"]),
        Route("/v1/workspaces", o.list_workspaces, methods=["GET"]),
        Route(ws, o.get_workspace, methods=["GET"]),
        Route(ws, o.delete_workspace, methods=["DELETE"]),
        Route(conv, o.create_conversation, methods=["POST"]),
        Route(conv + "/{conversation_id}/messages", o.post_message, methods=["POST"]),
        Route(conv + "/{conversation_id}/messages", o.get_messages, methods=["GET"]),
        Route("/internal/workspaces/{workspace_id}", o.workspace_exists, methods=["GET"]),
        Route("/internal/audit", o.audit, methods=["GET"]),
        Route(f"{GATEWAY_PATH}/chat/completions", o.model_completions, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={ApiError: _api_error, HTTPException: _http_error})
    app.router.redirect_slashes = False  # "/v1/workspaces/" is the uniform 404, not a redirect
    return AuthMiddleware(
        app,
        users=users or user_verifier(settings),
        service_token=settings.service_token.get_secret_value(),
        switches=o.switch_reader,
    )
