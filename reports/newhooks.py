"""Hooks the reports plugin offers to other plugins (registered with ``pytest_addhooks``)."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_swarmconf_run_manifest(config: pytest.Config) -> dict[str, Any] | None:
    """Return entries for the run manifest (versions, image IDs, profile, cluster); called once at session end.

    Every implementation's dict is merged into ``run-manifest.json`` and shown in the reports' environment
    sections. A plugin that learns things during the session can instead update
    ``config.stash[swarmconf.reports.manifest.MANIFEST_KEY]`` (a dict) at any time.
    """
