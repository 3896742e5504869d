"""Fixtures for the tests that prove, against upstream Metacontroller, the hook protocol the reference relies on.

The session installs upstream Metacontroller the harness's way (``install_metacontroller``: upstream's deploy
files, the image preloaded in the node image) unless it already runs, and runs the programmable test hook
(:mod:`swarmconf.clusters.metacontroller.testhook`) from the app image; tests reach it through the API server's
service proxy only. Each test gets a :class:`~world.World` of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from world import World

from swarmconf.clusters.metacontroller import testhook
from swarmconf.clusters.metacontroller.install import describe_metacontroller, install_metacontroller
from swarmconf.kube import Kube, KubeError


@pytest.fixture(scope="session")
def metacontroller(kube: Kube) -> dict[str, Any]:
    """Upstream Metacontroller, installed unless present; what runs (image, image IDs, version)."""
    if kube.get("apps/v1", "StatefulSet", "metacontroller", "metacontroller") is None:
        return install_metacontroller(kube.api_client, timeout=300)
    return describe_metacontroller(kube, installed_by_this_run=False)


@pytest.fixture(scope="session")
def hook_server(kube: Kube, metacontroller: dict[str, Any], app_image: str) -> Iterator[None]:
    """The shared in-cluster test hook."""
    testhook.deploy(kube, app_image)
    yield
    with contextlib.suppress(KubeError):
        kube.delete("v1", "Namespace", testhook.NAMESPACE)


@pytest.fixture
def world(kube: Kube, hook_server: None) -> Iterator[World]:
    """This test's own CRD, CompositeController, namespace and hook id; removed whatever happens."""
    made = World(kube)
    yield made
    made.cleanup()
