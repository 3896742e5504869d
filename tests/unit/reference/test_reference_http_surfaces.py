"""The thin HTTP/CLI surfaces around the logic: the webhook app and the orchestrator's admin CLI.

Coverage matrix:

| surface          | cases                                                                      |
|------------------|----------------------------------------------------------------------------|
| webhook /sync    | JSON in → children + status out; bad JSON / non-object → 400               |
| webhook /finalize| injected fault → 500 (Metacontroller retries)                              |
| webhook /healthz | reports the active defect and fault                                        |
| admin CLI        | forget-workspace removes the row (tombstoned) only; idempotent; audit dump |
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_fakes import ASGIClient
from reference_webhook_fakes import FakeCluster, FakeVerifier, parent, request

from swarmconf.reference.common.defects import Defect, Fault, StaticSwitches, Switches
from swarmconf.reference.common.settings import WebhookSettings
from swarmconf.reference.orchestrator import admin
from swarmconf.reference.orchestrator.store import Store, Workspace
from swarmconf.reference.webhook.app import create_app
from swarmconf.reference.webhook.hooks import Hooks


def webhook(settings: WebhookSettings, switches: Switches) -> ASGIClient:
    hooks = Hooks(settings=settings, switches=StaticSwitches(switches), verifier=FakeVerifier(), cluster=FakeCluster())
    return ASGIClient(create_app(hooks))


def test_webhook_http(webhook_settings: WebhookSettings) -> None:
    client = webhook(webhook_settings, Switches(Defect.ISO3_MISSING_USER_LABEL, Fault.FINALIZE_ERROR))
    synced = client.post("/sync", json=request(parent(), []))
    assert synced.status_code == 200 and len(synced.json()["children"]) == 7
    assert client.post("/sync", content=b"{").status_code == 400
    assert client.post("/sync", json=[1]).status_code == 400
    assert client.post("/finalize", json=request(parent(), [], finalizing=True)).status_code == 500
    assert client.get("/healthz").json() == {
        "status": "ok",
        "defect": "iso3-missing-user-label",
        "fault": "finalize-error",
    }


def test_admin_forget_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "o.db")
    store = Store(db)
    store.create_workspace(Workspace("w1", "alice", "n", "ws-w1", "normal", 1.0))
    assert admin.main(["--database", db, "forget-workspace", "w1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"forgotten": "w1", "existed": True, "swarm": "ws-w1"}
    assert store.get_workspace("w1") is None and store.is_tombstoned("w1")
    assert admin.main(["--database", db, "forget-workspace", "w1"]) == 0
    assert json.loads(capsys.readouterr().out)["existed"] is False
    store.add_audit(ts=1.0, user_id="alice", method="POST", path="/p", status=200, forwarded=1)
    assert admin.main(["--database", db, "audit"]) == 0
    assert json.loads(capsys.readouterr().out)["user_id"] == "alice"
