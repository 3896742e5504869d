"""Helpers for testing the reports plugin as users see it: a synthetic suite run through pytester."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: The swarmconf fixtures plugin (cluster, platform) and pytest-kind are off: these runs need no cluster.
#: ``--level`` is the fixtures plugin's option; the inner conftest below stands in for it.
BASE_ARGS = ("-p", "no:swarmconf", "-p", "no:pytest-kind", "-p", "no:cacheprovider", "--reports")

INNER_CONFTEST = """
import pytest

def pytest_addoption(parser):
    parser.addoption("--level", default="baseline", choices=("baseline", "strict"))

@pytest.fixture
def cluster():
    raise RuntimeError("kind cluster did not come up")

@pytest.fixture
def leaky():
    yield
    raise RuntimeError("cleanup failed: namespace stuck terminating")
"""


@dataclass
class Run:
    """One synthetic run: pytest's result and the files the plugin wrote."""

    result: pytest.RunResult
    folder: Path

    @property
    def ret(self) -> int:
        return int(self.result.ret)

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.folder / "summary.json").read_text())

    def verdict(self, clause_id: str) -> dict[str, Any]:
        return next(c for c in self.summary["clauses"] if c["id"] == clause_id)


@pytest.fixture
def suite(pytester: pytest.Pytester):
    """``suite(source, *args)`` writes ``test_suite.py`` and runs it with the reports plugin on."""
    pytester.makeconftest(INNER_CONFTEST)

    def run(source: str, *args: str, path: bool = True) -> Run:
        test_file = pytester.makepyfile(test_suite=source)
        target = (str(test_file),) if path else ()
        result = pytester.runpytest(*BASE_ARGS, *args, *target)
        return Run(result, (pytester.path / "reports" / "out" / "latest").resolve())

    return run
