"""Fixtures for the tests that need a real cluster (``tests/cluster``; marker ``cluster``).

One kind cluster serves every test here: ``swarmconf cluster up --reuse`` semantics -- a kept, healthy
cluster built from the current node image is reused, otherwise one is created and kept (``swarmconf
cluster down`` removes it). ``SWARMCONF_KUBECONFIG`` points the tests at another kind cluster instead
(its name is then read from ``SWARMCONF_CLUSTER_NAME``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmconf.clusters.appimage import ensure_app_image
from swarmconf.clusters.provider import ClusterHandle, acquire_cluster
from swarmconf.kube import Kube


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster" in str(item.path):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def kind_cluster() -> Iterator[ClusterHandle]:
    """A ready kind cluster, reused across runs (kept on exit)."""
    if kubeconfig := os.environ.get("SWARMCONF_KUBECONFIG"):
        name = os.environ.get("SWARMCONF_CLUSTER_NAME", "swarmconf-dev")
        yield ClusterHandle(name, Path(kubeconfig), None, "kind", created=False, keep=True)
        return
    yield acquire_cluster(provider="kind", reuse=True, keep=True, image_source="offline")


@pytest.fixture(scope="session")
def kube(kind_cluster: ClusterHandle) -> Kube:
    """API clients for the test cluster."""
    return kind_cluster.kube()


@pytest.fixture(scope="session")
def app_image(kind_cluster: ClusterHandle) -> str:
    """The project's app image, built here and loaded into the cluster."""
    return ensure_app_image(kind_cluster.name)
