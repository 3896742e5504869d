"""Fixtures for the reference platform's unit tests (the fakes live in reference_fakes.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from reference_fakes import (
    ROOT_KEY,
    SERVICE_TOKEN,
    TOKEN_KEY,
    ASGIClient,
    FakeSwarms,
    OrchestratorHarness,
    RuntimeRecorder,
    Switchboard,
)

from swarmconf.reference.common.settings import OrchestratorSettings, WebhookSettings
from swarmconf.reference.orchestrator.app import Orchestrator, create_app
from swarmconf.reference.orchestrator.runtime_client import ApiServerRoute, RuntimeClient
from swarmconf.reference.orchestrator.store import Store


@pytest.fixture
def switches() -> Switchboard:
    return Switchboard()


@pytest.fixture
def orchestrator(tmp_path: Any, switches: Switchboard) -> Iterator[OrchestratorHarness]:
    settings = OrchestratorSettings.model_validate(
        {"token_key": TOKEN_KEY.decode(), "service_token": SERVICE_TOKEN, "database_path": str(tmp_path / "o.db")}
    )
    swarms, recorder, store = FakeSwarms(), RuntimeRecorder(), Store(settings.database_path)
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder.handler))
    token = tmp_path / "sa-token"
    token.write_text("sa-token\n")
    runtime = RuntimeClient(http, timeout=5, api_server=ApiServerRoute(http, token_file=str(token)))
    app = create_app(
        Orchestrator(settings=settings, store=store, swarms=swarms, runtime=runtime, switches=switches),
        settings=settings,
    )
    yield OrchestratorHarness(ASGIClient(app), swarms, recorder, switches, store)


@pytest.fixture
def webhook_settings() -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"identity_root_key": ROOT_KEY.decode(), "runtime_image": "app:dev", "node_ip": "172.18.0.2"}
    )
