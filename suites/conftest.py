"""Fixtures shared by the suites (repository-local; the harness's public fixtures live in the plugin).

``verified_pair`` and ``harness_namespace`` serve the isolation suite; ``target`` and ``bystander`` serve
the deletion (DEL) and recovery (RPR) suites, whose logic is in ``swarmconf.fixtures.deletion``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from swarmconf.fixtures import deletion
from swarmconf.fixtures.cleanup import HARNESS_NAMESPACE
from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.tenants import Workspace


@pytest.fixture
def verified_pair(
    platform: Platform, tenant_factory: Callable[..., Any], workspace_factory: Callable[..., Workspace]
) -> tuple[Workspace, Workspace]:
    """Two users (A and B), each with one verified workspace (created together, verified in parallel)."""
    a = workspace_factory(tenant_factory(), wait_verified=False)
    b = workspace_factory(tenant_factory(), wait_verified=False)
    platform.wait_verified(a.id)
    platform.wait_verified(b.id)
    return a, b


@pytest.fixture(scope="session")
def harness_namespace(platform: Platform) -> str:
    """The harness's own namespace (it holds the run leases; probe pods run there, away from the platform)."""
    return HARNESS_NAMESPACE


#: The prepared workspaces a test can ask for, by fixture name.
PREPARED = ("target", "bystander")


@pytest.fixture
def prepared(
    request: pytest.FixtureRequest,
    platform: Platform,
    tenant_factory: Callable[..., Any],
    workspace_factory: Callable[..., Any],
) -> dict[str, deletion.Prepared]:
    """The prepared workspaces the test asks for (of :data:`PREPARED`), created together and verified side by side."""
    wanted = [name for name in PREPARED if name in request.fixturenames]
    return deletion.prepare_many(platform, tenant_factory, workspace_factory, wanted)


@pytest.fixture
def target(prepared: dict[str, deletion.Prepared]) -> deletion.Prepared:
    """The workspace a test deletes: verified, with data on its volume, pinned before anything happens."""
    return prepared["target"]


@pytest.fixture
def bystander(prepared: dict[str, deletion.Prepared]) -> deletion.Prepared:
    """Another user's workspace that no deletion, sweep or failed cleanup may touch (DEL-5)."""
    return prepared["bystander"]
