"""The run manifest: what was tested, with what, where. Written to ``<run-dir>/run-manifest.json``.

Three sources are merged, later ones winning:

1. what this plugin knows itself (:func:`base_manifest`): run ID, times, versions of the harness and its
   tools, the git commit, the command line, ``--profile``/``--cluster``/``--level`` as given;
2. ``config.stash[MANIFEST_KEY]``: a dict any plugin or session fixture may update during the run
   (the cluster provider puts the Kubernetes and node versions, image source and digests there);
3. the results of the ``pytest_swarmconf_run_manifest`` hook (see :mod:`swarmconf.reports.newhooks`).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

MANIFEST_KEY = pytest.StashKey[dict[str, Any]]()
MANIFEST_FILE = "run-manifest.json"

_DISTRIBUTIONS = ("swarm-conformance", "pytest", "allure-pytest", "pytest-html", "kubernetes", "pytest-kind")


def now() -> str:
    """The current UTC time as an ISO-8601 string (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def base_manifest(config: pytest.Config, *, run_id: str) -> dict[str, Any]:
    """What the reports plugin knows about the run by itself."""
    root = Path(config.rootpath)
    return {
        "run_id": run_id,
        "started": now(),
        "git": git_state(root),
        "versions": {"python": platform.python_version(), **_versions()},
        "host": {"platform": platform.platform(), "machine": platform.machine()},
        "profile": _option(config, "profile"),
        "cluster": _option(config, "cluster"),
        "level": _option(config, "level") or "baseline",
        "command": [Path(sys.argv[0]).name, *config.invocation_params.args],
    }


def merged(config: pytest.Config, base: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest from all three sources, with ``finished`` stamped."""
    result = dict(base)
    pushed: dict[str, Any] = config.stash.get(MANIFEST_KEY, {})
    _deep_update(result, pushed)
    for part in config.hook.pytest_swarmconf_run_manifest(config=config):
        if part:
            _deep_update(result, part)
    result["finished"] = now()
    return result


def write(path: Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest as pretty JSON (values that JSON cannot hold become strings)."""
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def flatten(manifest: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"versions": {"python": "3.11"}}`` → ``{"versions.python": "3.11"}``, for property tables."""
    flat: dict[str, str] = {}
    for key, value in manifest.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{name}."))
        elif isinstance(value, list | tuple):
            flat[name] = " ".join(str(v) for v in value)
        elif value is not None:
            flat[name] = str(value)
    return flat


def git_state(root: Path) -> dict[str, Any]:
    """The commit under test and whether the work tree had changes; empty values outside a git checkout."""
    sha = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if sha else None}


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _versions() -> dict[str, str]:
    found = {}
    for dist in _DISTRIBUTIONS:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name, default=None)
    return str(value) if isinstance(value, Path) else value


def _deep_update(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_update(into[key], value)
        else:
            into[key] = value
