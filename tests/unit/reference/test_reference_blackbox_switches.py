"""The reference's black-box switches: hashed names, no debug endpoints, no reply signatures.

Coverage matrix:

| area        | cases                                                                                        |
|-------------|----------------------------------------------------------------------------------------------|
| names       | hashed: no part of the workspace ID in any name, deterministic, DNS labels, distinct          |
| orchestrator| hashed_names: the UserSwarm is ``us-<hash>``, its spec still names the workspace               |
| webhook     | hashed_names: every child ``rt-<hash>...``; switches off reach the runtime's env, on: absent  |
| runtime     | debug off: /debug/requests 404; signatures off: no ``signature``/``signedFields`` in replies |
| install     | defaults keep today's env values; switches take only "true"/"false"                          |
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from reference_fakes import SERVICE_TOKEN, TOKEN_KEY, ASGIClient, FakeSwarms, RuntimeRecorder, Switchboard
from reference_webhook_fakes import WORKSPACE, FakeCluster, FakeVerifier, keys, parent, request

from swarmconf.reference import install
from swarmconf.reference.common import names
from swarmconf.reference.common.defects import StaticSwitches
from swarmconf.reference.common.identity import derive_workspace_key
from swarmconf.reference.common.settings import OrchestratorSettings, RuntimeSettings, WebhookSettings
from swarmconf.reference.common.tokens import mint_token
from swarmconf.reference.orchestrator.app import Orchestrator, create_app
from swarmconf.reference.orchestrator.runtime_client import RuntimeClient
from swarmconf.reference.orchestrator.store import Store
from swarmconf.reference.runtime.app import create_app as create_runtime
from swarmconf.reference.webhook.hooks import Hooks

IDS = [str(uuid.UUID(int=i)) for i in range(1, 50)] + ["A", "a", "x" * 300]


def _all(n: names.ChildNames) -> list[str]:
    return [n.statefulset, n.service, n.headless_service, n.pvc, n.configmap, n.serviceaccount, n.secret]


@pytest.mark.parametrize("workspace", [WORKSPACE, "x" * 300, "Mixed_Case.ID"])
def test_hashed_names_hold_no_part_of_the_workspace_id(workspace: str) -> None:
    n = names.child_names(workspace, hashed=True)
    assert n == names.child_names(workspace, hashed=True)
    swarm = names.userswarm_name(workspace, hashed=True)
    for value in [*_all(n), swarm]:
        assert len(value) <= 52 and names._INVALID.sub("", value) == value, value
        for piece in workspace.lower().split("-"):
            assert piece not in value, (piece, value)


def test_hashed_names_are_distinct() -> None:
    assert len({names.userswarm_name(i, hashed=True) for i in IDS}) == len(IDS)
    assert len({names.child_names(i, hashed=True).service for i in IDS}) == len(IDS)


def test_orchestrator_names_the_userswarm_by_hash(tmp_path: Path) -> None:
    settings = OrchestratorSettings.model_validate(
        {
            "token_key": TOKEN_KEY.decode(),
            "service_token": SERVICE_TOKEN,
            "database_path": str(tmp_path / "o.db"),
            "hashed_names": "true",  # as from the environment
        }
    )
    swarms = FakeSwarms()
    runtime = RuntimeClient(httpx.AsyncClient(transport=httpx.MockTransport(RuntimeRecorder().handler)), timeout=5)
    orchestrator = Orchestrator(
        settings=settings, store=Store(settings.database_path), swarms=swarms, runtime=runtime, switches=Switchboard()
    )
    client = ASGIClient(create_app(orchestrator, settings=settings))
    auth = {"Authorization": f"Bearer {mint_token(TOKEN_KEY, 'alice', 300)}"}
    body = client.post("/v1/workspaces", headers=auth, json={"name": "w"}).json()
    [swarm] = swarms.objects.values()
    assert swarm["metadata"]["name"] == body["swarmName"] == names.userswarm_name(body["id"], hashed=True)
    assert body["id"] not in swarm["metadata"]["name"] and swarm["spec"]["workspaceId"] == body["id"]


def _sync(settings: WebhookSettings) -> dict[str, Any]:
    hooks = Hooks(settings=settings, switches=StaticSwitches(), verifier=FakeVerifier(), cluster=FakeCluster())
    return anyio.run(hooks.sync, request(parent(), []))


def _runtime_env(children: list[dict[str, Any]]) -> dict[str, Any]:
    [sts] = [c for c in children if c["kind"] == "StatefulSet"]
    [container] = sts["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_webhook_hashed_children_and_runtime_switches(webhook_settings: WebhookSettings) -> None:
    blackbox = webhook_settings.model_copy(
        update={"hashed_names": True, "runtime_debug_endpoints": False, "runtime_reply_signatures": False}
    )
    response = _sync(blackbox)
    base = names.child_names(WORKSPACE, hashed=True).service
    assert {name for _, name in keys(response["children"])} == {
        base,
        f"{base}-hl",
        f"{base}-data",
        f"{base}-config",
        f"{base}-identity",
    }
    assert response["status"]["serviceName"] == base
    env = _runtime_env(response["children"])
    assert (env["DEBUG_ENDPOINTS"], env["SIGN_REPLIES"]) == ("false", "false")
    default_env = _runtime_env(_sync(webhook_settings)["children"])
    assert "DEBUG_ENDPOINTS" not in default_env and "SIGN_REPLIES" not in default_env  # pods as before


def _runtime(tmp_path: Path, **switches: str) -> ASGIClient:
    settings = RuntimeSettings.model_validate(
        {
            "workspace_id": WORKSPACE,
            "swarm_name": "us-x",
            "data_dir": str(tmp_path),
            "identity_key": derive_workspace_key(b"root", WORKSPACE).hex(),
            **switches,
        }
    )
    return ASGIClient(create_runtime(settings))


def test_runtime_without_debug_endpoints_or_signatures(tmp_path: Path) -> None:
    off = _runtime(tmp_path, debug_endpoints="false", sign_replies="false")
    conv = str(uuid.uuid4())
    reply = off.post(f"/v1/conversations/{conv}/messages", json={"text": "hi"}).json()
    assert reply["reply"] == "echo #1: hi" and "signature" not in reply and "signedFields" not in reply
    assert off.get("/debug/requests").status_code == 404
    on = _runtime(tmp_path / "on")
    assert on.get("/debug/requests").status_code == 200
    assert "signature" in on.post(f"/v1/conversations/{conv}/messages", json={"text": "hi"}).json()


def test_install_switches_default_to_today_and_reject_typos() -> None:
    objects = install.render_manifests({"IMAGE": "i"})
    env = {
        e["name"]: e.get("value")
        for o in objects
        if o["kind"] == "Deployment"
        for e in o["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert (env["HASHED_NAMES"], env["RUNTIME_DEBUG_ENDPOINTS"], env["RUNTIME_REPLY_SIGNATURES"]) == (
        "false",
        "true",
        "true",
    )
    with pytest.raises(ValueError, match="HASHED_NAMES"):
        install.render_manifests({"IMAGE": "i", "HASHED_NAMES": "yes"})
