"""Orchestrator routing, with a fake Kubernetes boundary and an httpx MockTransport standing in for runtimes.

Coverage matrix (each row: what is asserted, and that no runtime received anything where it must not):

| area          | cases                                                                                     |
|---------------|-------------------------------------------------------------------------------------------|
| 401 first     | missing / malformed / expired / wrongly signed / two Authorization headers / wrong scheme; |
|               | on existing, foreign, unknown and non-route paths; before body/ID validation              |
| 404 identical | other user's workspace == missing == non-UUID == upper-cased UUID == foreign conversation   |
|               | == conversation of another own workspace; GET/DELETE/POST conversations/messages          |
| path tricks   | encoded slash, backslash, dot segments, double slash, trailing slash, trailing garbage     |
| 503 gating    | no status / Ready-but-not-Verified / swarm missing → 503, nothing sent; verified → flows   |
| routing       | target comes from status.serviceName/runtimeNamespace only; forged Host, X-Forwarded-*,    |
|               | X-Workspace-Id/X-User-Id/X-Target headers ignored and never forwarded                     |
| bodies        | invalid JSON 400, non-object 400, oversized 413, invalid fields 422                        |
| lifecycle     | create → UserSwarm with owner/labels; delete → row then UserSwarm, then 404 everywhere;    |
|               | Kubernetes failure on create → 503 and no row                                             |
| internal      | service token required; exists 200/404/400; audit records every message request           |
"""

from __future__ import annotations

import uuid

import pytest
from reference_fakes import SERVICE_TOKEN, TOKEN_KEY, OrchestratorHarness

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.tokens import mint_token

NOT_FOUND = {"error": "not_found", "detail": "not found"}
UNAUTHORIZED = {"error": "unauthorized", "detail": "missing or invalid credential"}


def _messages(ws: str, conv: str) -> str:
    return f"/v1/workspaces/{ws}/conversations/{conv}/messages"


@pytest.fixture
def alice(orchestrator: OrchestratorHarness) -> tuple[str, str]:
    ws = orchestrator.workspace("alice")
    return ws, orchestrator.conversation("alice", ws)


BAD_CREDENTIALS = {
    "missing": {},
    "not bearer": {"Authorization": "Basic YWxpY2U6eA=="},
    "empty bearer": {"Authorization": "Bearer "},
    "malformed": {"Authorization": "Bearer not-a-token"},
    "three parts": {"Authorization": "Bearer a.b.c"},
    "expired": {"Authorization": f"Bearer {mint_token(TOKEN_KEY, 'alice', -5)}"},
    "wrong key": {"Authorization": f"Bearer {mint_token(b'other-key', 'alice', 300)}"},
}


@pytest.mark.parametrize("headers", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
def test_bad_credentials_get_401_before_anything_else(
    orchestrator: OrchestratorHarness, alice: tuple[str, str], headers: dict[str, str]
) -> None:
    ws, conv = alice
    for method, path in [
        ("POST", _messages(ws, conv)),
        ("GET", _messages(ws, conv)),
        ("GET", f"/v1/workspaces/{ws}"),
        ("DELETE", f"/v1/workspaces/{ws}"),
        ("POST", "/v1/workspaces"),
        ("GET", "/v1/workspaces/not-a-uuid"),
        ("GET", "/v1/nonexistent/route"),
    ]:
        response = orchestrator.client.request(method, path, headers=headers, content=b"{not json")
        assert response.status_code == 401, (method, path)
        assert response.json() == UNAUTHORIZED
        assert response.headers["www-authenticate"] == "Bearer"
    assert orchestrator.runtime.requests == []
    assert orchestrator.client.get(f"/v1/workspaces/{ws}", headers=orchestrator.auth("alice")).status_code == 200


def test_two_authorization_headers_are_rejected(orchestrator: OrchestratorHarness) -> None:
    token = mint_token(TOKEN_KEY, "alice", 300)
    headers = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    assert orchestrator.client.get("/v1/workspaces", headers=headers).status_code == 401


def test_health_is_open(orchestrator: OrchestratorHarness) -> None:
    assert orchestrator.client.get("/v1/health").json() == {"status": "ok", "defect": None, "fault": None}


def test_foreign_workspace_is_indistinguishable_from_missing(
    orchestrator: OrchestratorHarness, alice: tuple[str, str]
) -> None:
    ws, conv = alice
    bob = orchestrator.auth("bob")
    missing = str(uuid.uuid4())
    cases = [
        ("GET", f"/v1/workspaces/{ws}"),
        ("GET", f"/v1/workspaces/{missing}"),
        ("DELETE", f"/v1/workspaces/{ws}"),
        ("POST", f"/v1/workspaces/{ws}/conversations"),
        ("POST", _messages(ws, conv)),
        ("GET", _messages(ws, conv)),
        ("POST", _messages(missing, conv)),
        ("GET", f"/v1/workspaces/{ws.upper()}"),
        ("GET", "/v1/workspaces/12345"),
    ]
    for method, path in cases:
        response = orchestrator.client.request(method, path, headers=bob, json={"text": "hi"})
        assert (response.status_code, response.json()) == (404, NOT_FOUND), (method, path)
    assert orchestrator.runtime.requests == []
    assert orchestrator.swarms.deleted == []


def test_conversation_from_another_workspace_is_404(orchestrator: OrchestratorHarness, alice: tuple[str, str]) -> None:
    ws_a, conv_a = alice
    ws_b = orchestrator.workspace("bob")
    conv_b = orchestrator.conversation("bob", ws_b)
    ws_a2 = orchestrator.workspace("alice")
    for ws, conv, user in [(ws_b, conv_a, "bob"), (ws_a, conv_b, "alice"), (ws_a2, conv_a, "alice")]:
        response = orchestrator.client.post(_messages(ws, conv), headers=orchestrator.auth(user), json={"text": "x"})
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert orchestrator.runtime.requests == []


@pytest.mark.parametrize(
    "suffix",
    [
        "%2F..%2F{other}",
        "/../{other}",
        "/./",
        "//",
        "/",
        "%2e%2e",
        "\\..",
        "garbage",
    ],
)
def test_path_tricks_get_the_uniform_404(
    orchestrator: OrchestratorHarness, alice: tuple[str, str], suffix: str
) -> None:
    ws, conv = alice
    other = orchestrator.workspace("bob")
    path = f"/v1/workspaces/{other}/conversations/{conv}" + suffix.format(other=ws)
    response = orchestrator.client.get(path, headers=orchestrator.auth("bob"))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert orchestrator.runtime.requests == []


def test_unverified_swarm_gets_503_and_nothing_is_sent(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice", verified=False)
    conv = orchestrator.conversation("alice", ws)
    auth = orchestrator.auth("alice")
    swarm = f"ws-{ws}"
    statuses = [None, "ready-not-verified", "deleted"]
    for state in statuses:
        if state == "ready-not-verified":
            orchestrator.swarms.verify(swarm, verified=False)
        if state == "deleted":
            orchestrator.swarms.objects.pop(swarm)
        response = orchestrator.client.post(_messages(ws, conv), headers=auth, json={"text": "hi"})
        assert response.status_code == 503, state
        assert response.json()["error"] == "not_ready"
    assert orchestrator.runtime.requests == []


def test_verified_swarm_receives_the_message_at_its_status_service(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice", verified=False)
    conv = orchestrator.conversation("alice", ws)
    orchestrator.swarms.verify(f"ws-{ws}", service="published-name")
    response = orchestrator.client.post(_messages(ws, conv), headers=orchestrator.auth("alice"), json={"text": "hi"})
    assert response.status_code == 200
    assert response.json()["reply"] == "echo #1: hi"
    [sent] = orchestrator.runtime.requests
    assert str(sent.url) == f"http://published-name.userswarms.svc:42617/v1/conversations/{conv}/messages"


def test_forged_headers_never_influence_routing(orchestrator: OrchestratorHarness, alice: tuple[str, str]) -> None:
    ws_a, _ = alice
    ws_b = orchestrator.workspace("bob")
    conv_b = orchestrator.conversation("bob", ws_b)
    forged = {
        **orchestrator.auth("bob"),
        "Host": f"swarm-{ws_a}.userswarms.svc",
        "X-Forwarded-Host": "evil",
        "X-Forwarded-For": "10.0.0.1",
        "X-Workspace-Id": ws_a,
        "X-User-Id": "alice",
        "X-Target": "x",
        "X-Swarm-User": "alice",
        "X-Forwarded-Prefix": f"/v1/workspaces/{ws_a}",
    }
    response = orchestrator.client.post(_messages(ws_b, conv_b), headers=forged, json={"text": "hi"})
    assert response.status_code == 200
    [sent] = orchestrator.runtime.requests
    assert sent.url.host == f"swarm-{ws_b}.userswarms.svc"
    assert sent.headers["x-swarm-user"] == "bob"
    assert not {"x-workspace-id", "x-user-id", "x-target", "x-forwarded-for", "x-forwarded-host"} & set(sent.headers)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"text": ""}', 422),
        (b'{"text": 5}', 422),
        (b'{"text": "x", "extra": 1}', 422),
        (b'{"text": "' + b"x" * 70000 + b'"}', 413),
    ],
)
def test_bad_bodies_get_clear_4xx_and_nothing_is_sent(
    orchestrator: OrchestratorHarness, alice: tuple[str, str], body: bytes, status: int
) -> None:
    ws, conv = alice
    headers = {**orchestrator.auth("alice"), "Content-Type": "application/json"}
    response = orchestrator.client.post(_messages(ws, conv), headers=headers, content=body)
    assert response.status_code == status
    assert "error" in response.json()
    assert orchestrator.runtime.requests == []


def test_runtime_failure_is_502(orchestrator: OrchestratorHarness, alice: tuple[str, str]) -> None:
    ws, conv = alice
    orchestrator.runtime.status = 500
    response = orchestrator.client.post(_messages(ws, conv), headers=orchestrator.auth("alice"), json={"text": "x"})
    assert response.status_code == 502


def test_create_makes_one_userswarm_with_owner_and_labels(orchestrator: OrchestratorHarness) -> None:
    response = orchestrator.client.post(
        "/v1/workspaces",
        headers=orchestrator.auth("alice"),
        json={"name": "mine", "runtime": {"mode": "wrong-identity"}},
    )
    assert response.status_code == 201
    body = response.json()
    [swarm] = orchestrator.swarms.objects.values()
    assert swarm["metadata"]["name"] == body["swarmName"] == f"ws-{body['id']}"
    assert swarm["spec"] == {
        "workspaceId": body["id"],
        "userId": "alice",
        "runtimeNamespace": "userswarms",
        "runtime": {"port": 42617, "mode": "wrong-identity"},
        "storage": {"size": "1Gi"},
        "suspend": False,
    }
    assert swarm["metadata"]["labels"][L.USER] == "alice"
    assert swarm["metadata"]["labels"][L.PLATFORM] == "swarm-system"
    assert swarm["metadata"]["labels"][L.CREATED_BY] == "orchestrator"


@pytest.mark.parametrize("body", [{"name": ""}, {"runtime": {"mode": "evil"}}, {"unknown": 1}])
def test_invalid_workspace_request_is_422_and_creates_nothing(
    orchestrator: OrchestratorHarness, body: dict[str, object]
) -> None:
    response = orchestrator.client.post("/v1/workspaces", headers=orchestrator.auth("alice"), json=body)
    assert response.status_code == 422
    assert orchestrator.swarms.objects == {}


def test_kubernetes_failure_on_create_leaves_no_workspace(orchestrator: OrchestratorHarness) -> None:
    orchestrator.swarms.fail = True
    response = orchestrator.client.post("/v1/workspaces", headers=orchestrator.auth("alice"), json={})
    assert response.status_code == 503
    orchestrator.swarms.fail = False
    assert orchestrator.client.get("/v1/workspaces", headers=orchestrator.auth("alice")).json() == {"workspaces": []}


def test_delete_removes_row_then_userswarm_and_everything_404s(
    orchestrator: OrchestratorHarness, alice: tuple[str, str]
) -> None:
    ws, conv = alice
    auth = orchestrator.auth("alice")
    assert orchestrator.client.delete(f"/v1/workspaces/{ws}", headers=auth).status_code == 204
    assert orchestrator.swarms.deleted == [f"ws-{ws}"]
    for method, path in [
        ("GET", f"/v1/workspaces/{ws}"),
        ("DELETE", f"/v1/workspaces/{ws}"),
        ("POST", _messages(ws, conv)),
        ("POST", f"/v1/workspaces/{ws}/conversations"),
    ]:
        response = orchestrator.client.request(method, path, headers=auth, json={"text": "x"})
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert orchestrator.runtime.requests == []


def test_internal_routes_need_the_service_token(orchestrator: OrchestratorHarness, alice: tuple[str, str]) -> None:
    ws, _ = alice
    for headers in [{}, orchestrator.auth("alice"), {"Authorization": "Bearer wrong"}]:
        assert orchestrator.client.get(f"/internal/workspaces/{ws}", headers=headers).status_code == 401


def test_internal_exists(orchestrator: OrchestratorHarness, alice: tuple[str, str]) -> None:
    ws, _ = alice
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    assert orchestrator.client.get(f"/internal/workspaces/{ws}", headers=service).json()["exists"] is True
    missing = orchestrator.client.get(f"/internal/workspaces/{uuid.uuid4()}", headers=service)
    assert (missing.status_code, missing.json()["exists"]) == (404, False)
    assert orchestrator.client.get("/internal/workspaces/not-a-uuid", headers=service).status_code == 400
    orchestrator.store.delete_workspace(ws, how="admin-forget")
    assert orchestrator.client.get(f"/internal/workspaces/{ws}", headers=service).status_code == 404


def test_every_message_request_is_audited(orchestrator: OrchestratorHarness, alice: tuple[str, str]) -> None:
    ws, conv = alice
    orchestrator.client.post(_messages(ws, conv), headers=orchestrator.auth("alice"), json={"text": "x"})
    orchestrator.client.post(_messages(ws, conv), headers=orchestrator.auth("bob"), json={"text": "x"})
    records = orchestrator.client.get("/internal/audit", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}).json()
    ok, denied = records["records"]
    assert (ok["user_id"], ok["status"], ok["forwarded"]) == ("alice", 200, True)
    assert ok["target"] == f"swarm-{ws}.userswarms:42617"
    assert (denied["user_id"], denied["status"], denied["forwarded"], denied["target"]) == ("bob", 404, False, None)
