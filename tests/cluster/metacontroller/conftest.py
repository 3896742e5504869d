"""Fixtures for the Metacontroller end-to-end tests (repository-local: these tests only).

Environment (read here, once):

* the cluster comes from ``tests/cluster/conftest.py`` (``kind_cluster``, ``kube``, ``app_image``): a reused
  kept kind cluster, or the one ``SWARMCONF_KUBECONFIG``/``SWARMCONF_CLUSTER_NAME`` name.
* ``SWARMCONF_MC_EXTERNAL=1`` — a controller is already running (e.g. by hand against a bare API server):
  don't install one, and serve the test hook from this process on 127.0.0.1 instead of in-cluster.

By default the session installs the compatible controller (offline mode, the project's app image) as
StatefulSet ``metacontroller/metacontroller`` and runs the test hook as a Deployment in
``mce2e-testhook``, reached only through the API server's service proxy.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
from mce2e import HOOK_NAMESPACE, ClusterHookServer, HookServer, LocalHookServer, Scenario, deploy_testhook

from swarmconf.clusters.metacontroller.controller.errors import ApiError, NotFound
from swarmconf.clusters.metacontroller.controller.kube import KubeApi
from swarmconf.kube import Kube
from swarmconf.waits import wait_for


@pytest.fixture(scope="session")
def api(kube: Kube) -> KubeApi:
    """The controller's own raw JSON API layer (used for proxy calls and exact object shapes)."""
    return KubeApi(kube.api_client)


@pytest.fixture(scope="session")
def external() -> bool:
    """Whether the controller is run outside this session (dev loop)."""
    return os.environ.get("SWARMCONF_MC_EXTERNAL") == "1"


@pytest.fixture(scope="session")
def metacontroller(kube: Kube, external: bool, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Install the compatible controller (offline mode) unless one runs externally; return the install record."""
    if external:
        return {"mode": "external", "image": None}
    from swarmconf.clusters.metacontroller.install import install_metacontroller

    image = request.getfixturevalue("app_image")
    return install_metacontroller(kube.api_client, mode="offline", image=image, timeout=300)


@pytest.fixture(scope="session")
def hook_server(api: KubeApi, metacontroller: dict[str, Any], external: bool) -> Iterator[HookServer]:
    """The shared test hook server (in-cluster by default)."""
    if external:
        local = LocalHookServer()
        yield local
        local.stop()
        return
    deploy_testhook(api, metacontroller["image"])
    server = ClusterHookServer(api)
    wait_for(
        lambda: server.control("GET", "/control/ready-probe/requests"),
        until=lambda r: r == [],
        description="test hook answers through the service proxy",
        timeout=120,
        interval=1.0,
        transient=(ApiError,),
    )
    yield server
    _delete(api, f"/api/v1/namespaces/{HOOK_NAMESPACE}")


@pytest.fixture
def scenario(api: KubeApi, hook_server: HookServer) -> Iterator[Scenario]:
    """A test's own CRD/CompositeController/namespaces/hook id; removed in teardown whatever happens."""
    world = Scenario(api, hook_server)
    yield world
    world.cleanup()


def _delete(api: KubeApi, path: str) -> None:
    with contextlib.suppress(NotFound):
        api.request("DELETE", path)
