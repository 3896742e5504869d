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


@pytest.fixture
def target(
    platform: Platform, tenant_factory: Callable[..., Any], workspace_factory: Callable[..., Any]
) -> deletion.Prepared:
    """The workspace a test deletes: verified, with data on its volume, pinned before anything happens."""
    return deletion.prepare(platform, tenant_factory, workspace_factory, "target")


@pytest.fixture
def bystander(
    platform: Platform, tenant_factory: Callable[..., Any], workspace_factory: Callable[..., Any]
) -> deletion.Prepared:
    """Another user's workspace that no deletion, sweep or failed cleanup may touch (DEL-5)."""
    return deletion.prepare(platform, tenant_factory, workspace_factory, "bystander")
