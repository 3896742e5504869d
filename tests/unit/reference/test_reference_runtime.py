"""The runtime, in-process: signed deterministic replies, history on disk across restarts, the identity
challenge in both modes, and the request log.

Coverage matrix:

| area       | cases                                                                                  |
|------------|----------------------------------------------------------------------------------------|
| replies    | deterministic text and seq; signature verifies for its workspace                        |
| history    | kept per conversation; survives a new app on the same data dir (pod restart)            |
| challenge  | normal mode verifies; wrong-identity mode fails verification; bad bodies 400            |
| bad input  | non-UUID conversation 404; bad JSON / empty text 400                                     |
| request log| every request with method, path, remote address; ``since`` filters; the log itself unlogged |
| model      | with a provider URL the reply is the model's answer (signed); a failing model is 502, no history |
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import httpx
import pytest
from reference_fakes import ASGIClient

from swarmconf.fixtures.model_provider import ANSWER_PREFIX, CallLog
from swarmconf.fixtures.model_provider import create_app as create_stub
from swarmconf.reference.common.identity import derive_workspace_key, verify_challenge, verify_reply
from swarmconf.reference.common.settings import RuntimeSettings
from swarmconf.reference.runtime.app import create_app

ROOT = b"root"
WS = "0b5c7e0e-54f4-4c59-9b1a-3e4c1f4a2d11"


def runtime(data_dir: Path, mode: str = "normal") -> ASGIClient:
    settings = RuntimeSettings.model_validate(
        {
            "workspace_id": WS,
            "swarm_name": f"ws-{WS}",
            "runtime_mode": mode,
            "data_dir": str(data_dir),
            "identity_key": derive_workspace_key(ROOT, WS).hex(),
        }
    )
    return ASGIClient(create_app(settings))


def test_replies_are_deterministic_signed_and_persisted(tmp_path: Path) -> None:
    client, conv = runtime(tmp_path), str(uuid.uuid4())
    first = client.post(f"/v1/conversations/{conv}/messages", json={"text": "hello"}).json()
    second = client.post(f"/v1/conversations/{conv}/messages", json={"text": "again"}).json()
    assert (first["seq"], first["reply"], second["seq"]) == (1, "echo #1: hello", 2)
    assert verify_reply(ROOT, WS, first) and not verify_reply(ROOT, "other", first)
    restarted = runtime(tmp_path)
    history = restarted.get(f"/v1/conversations/{conv}/messages").json()
    assert [m["text"] for m in history["messages"]] == ["hello", "again"]
    assert restarted.post(f"/v1/conversations/{conv}/messages", json={"text": "x"}).json()["seq"] == 3
    assert restarted.get(f"/v1/conversations/{uuid.uuid4()}/messages").json()["messages"] == []


def test_challenge_normal_and_wrong_identity(tmp_path: Path) -> None:
    good = runtime(tmp_path).post("/v1/identity/challenge", json={"nonce": "n1"}).json()
    assert good["workspaceId"] == WS and verify_challenge(ROOT, WS, "n1", good["signature"])
    bad = runtime(tmp_path, "wrong-identity").post("/v1/identity/challenge", json={"nonce": "n1"}).json()
    assert not verify_challenge(ROOT, WS, "n1", bad["signature"])
    assert runtime(tmp_path).post("/v1/identity/challenge", json={}).status_code == 400


def test_bad_input(tmp_path: Path) -> None:
    client = runtime(tmp_path)
    assert client.post("/v1/conversations/nope/messages", json={"text": "x"}).status_code == 404
    assert client.post(f"/v1/conversations/{uuid.uuid4()}/messages", content=b"{").status_code == 400
    assert client.post(f"/v1/conversations/{uuid.uuid4()}/messages", json={"text": ""}).status_code == 400


def test_request_log_records_callers(tmp_path: Path) -> None:
    client = runtime(tmp_path)
    client.get("/healthz")
    client.post(f"/v1/conversations/{uuid.uuid4()}/messages", json={"text": "x"}, headers={"X-Swarm-User": "bob"})
    log = client.get("/debug/requests").json()["requests"]
    assert [(r["method"], r["path"].split("/")[-1], r["status"]) for r in log] == [
        ("GET", "healthz", 200),
        ("POST", "messages", 200),
    ]
    assert log[1]["remote"] == "127.0.0.1" and log[1]["headers"]["x-swarm-user"] == "bob"
    assert client.get("/debug/requests", params={"since": log[0]["seq"]}).json()["requests"] == log[1:]


def _model_runtime(data_dir: Path, transport: httpx.AsyncBaseTransport, url: str = "http://model/v1") -> ASGIClient:
    settings = RuntimeSettings.model_validate(
        {
            "workspace_id": WS,
            "swarm_name": f"ws-{WS}",
            "data_dir": str(data_dir),
            "identity_key": derive_workspace_key(ROOT, WS).hex(),
            "model_provider_url": url,
        }
    )
    return ASGIClient(create_app(settings, model_transport=transport))


def test_with_a_model_provider_the_reply_is_the_models_answer_signed(tmp_path: Path) -> None:
    log = CallLog()
    client, conv = _model_runtime(tmp_path, httpx.ASGITransport(app=create_stub(log))), str(uuid.uuid4())
    reply = client.post(f"/v1/conversations/{conv}/messages", json={"text": "hello model"}).json()
    [call] = log.since(0)
    assert reply["reply"] == call["answer"] and call["answer"].startswith(ANSWER_PREFIX)
    assert call["messages"][-1] == {"role": "user", "content": "hello model"}
    assert verify_reply(ROOT, WS, reply)


def test_a_model_that_does_not_answer_is_a_502_and_no_history(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = httpx.MockTransport(lambda request: httpx.Response(500, json={"error": "down"}))
    client, conv = _model_runtime(tmp_path, broken), str(uuid.uuid4())
    with caplog.at_level(logging.INFO, logger="swarmconf.reference.runtime"):
        resp = client.post(f"/v1/conversations/{conv}/messages", json={"text": "hello"})
    assert resp.status_code == 502 and resp.json()["error"] == "model_unavailable"
    # The pod's log says why (the orchestrator drops the runtime's 502 detail).
    [logged] = [r.getMessage() for r in caplog.records if "model-unavailable" in r.getMessage()]
    assert conv in logged and "500" in logged
    assert client.get(f"/v1/conversations/{conv}/messages").json()["messages"] == []
    garbled = httpx.MockTransport(lambda request: httpx.Response(200, json={"choices": []}))
    assert (
        _model_runtime(tmp_path, garbled).post(f"/v1/conversations/{conv}/messages", json={"text": "hello"}).status_code
        == 502
    )
