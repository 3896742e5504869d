"""Which suite tests take down something every install shares (Metacontroller), read from the suites' source.

Private installs (pytest-xdist workers, the self-test's lanes) keep tests apart, except for what every install
shares: a test that scales Metacontroller to zero stops every install's reconciliation. Such a test must carry
``cluster_wide`` and take Metacontroller down only through the ``metacontroller_down`` fixture, whose block holds
the run's lock exclusively (:mod:`swarmconf.fixtures.parallel`). These scans (``ast``; nothing is imported or run)
find the tests that break either rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

SHARED_FAULTS = ("metacontroller_down",)
"""Fault helpers (``swarmconf.fixtures.faults``) that act on components every install shares."""


def unmarked_shared_fault_tests(
    suites: Path, faults: Iterable[str] = SHARED_FAULTS, marker: str = "cluster_wide"
) -> list[str]:
    """Tests in ``suites/test_*.py`` that use any of ``faults`` without the ``marker`` that makes them run while no
    other test runs (under pytest-xdist, on private installs, nothing else keeps them apart)."""
    wanted = set(faults)
    found: list[str] = []
    for path, node in _tests(suites):
        if _uses(node, wanted) and f"pytest.mark.{marker}" not in {ast.unparse(d) for d in node.decorator_list}:
            found.append(f"{path.name}::{node.name}")
    return found


def direct_shared_fault_calls(suites: Path, faults: Iterable[str] = SHARED_FAULTS) -> list[str]:
    """Tests in ``suites/test_*.py`` that call a shared fault through the ``faults`` package (``faults.X(...)``)
    instead of the fixture of the same name, which holds the run's lock exclusively around it."""
    wanted = set(faults)
    found: list[str] = []
    for path, node in _tests(suites):
        # Attributes only: the fixture of the same name is a parameter (a Name), which is what tests should use.
        if any(isinstance(sub, ast.Attribute) and sub.attr in wanted for sub in ast.walk(node)):
            found.append(f"{path.name}::{node.name}")
    return found


def _tests(suites: Path) -> Iterator[tuple[Path, ast.FunctionDef]]:
    """Every test function in ``suites/test_*.py``, with its file."""
    for path in sorted(suites.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                yield path, node


def _uses(func: ast.FunctionDef, names: set[str]) -> bool:
    for node in ast.walk(func):
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
        if isinstance(node, ast.Name) and node.id in names:
            return True
    return False
