"""``python -m swarmconf.reference.orchestrator``: serve the orchestrator API on port 8080."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import httpx
from kubernetes import client

from swarmconf.reference.common import logs
from swarmconf.reference.common.defects import ConfigMapSwitches
from swarmconf.reference.common.kube import load_api_client
from swarmconf.reference.common.serving import serve
from swarmconf.reference.common.settings import OrchestratorSettings, from_environ
from swarmconf.reference.orchestrator.app import Orchestrator, create_app
from swarmconf.reference.orchestrator.runtime_client import SERVICE_ACCOUNT, ApiServerRoute, RuntimeClient
from swarmconf.reference.orchestrator.store import Store
from swarmconf.reference.orchestrator.swarms import KubeSwarms


def main() -> None:
    logs.configure()
    settings = from_environ(OrchestratorSettings, os.environ)
    api = load_api_client()
    switches = ConfigMapSwitches(
        client.CoreV1Api(api), namespace=settings.platform_namespace, name=settings.defects_configmap
    )
    runtime = RuntimeClient(
        httpx.AsyncClient(trust_env=False), timeout=settings.runtime_timeout_seconds, api_server=_api_server_route()
    )
    orchestrator = Orchestrator(
        settings=settings,
        store=Store(settings.database_path),
        swarms=KubeSwarms(api),
        runtime=runtime,
        switches=switches,
    )
    serve(create_app(orchestrator, settings=settings), settings.port)


def _api_server_route() -> ApiServerRoute | None:
    """The API server's service proxy (used only by the defect msg3-via-api-server), when running in a pod."""
    ca = Path(SERVICE_ACCOUNT) / "ca.crt"
    if not ca.is_file():
        return None
    return ApiServerRoute(httpx.AsyncClient(trust_env=False, verify=ssl.create_default_context(cafile=str(ca))))


if __name__ == "__main__":
    main()
