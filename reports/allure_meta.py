"""Allure metadata: labels from clause markers, and the files Allure reads next to the results.

Labels (added at collection, only where the test did not set its own): ``epic`` = the area of the test's
primary (first) clause, ``story`` = that clause, a ``tag`` per other clause it checks, ``severity`` by level
(baseline → critical, strict → normal), a link per clause to its text on the run folder's contract page, and
a description that quotes every clause the test names. One epic and one story per test, so Allure's counts
per area and per clause are counts of tests and add up to the number of tests (a test that names DEL and RPR
clauses used to count under both areas: deletion 39 and recovery 24 for 31 tests); the verdict of every
clause, secondary ones included, is in ``summary.md``. After a failure the plugin adds a ``failure`` label
(``infrastructure``, ``contract`` or ``strict-gap``) which the categories below match, and every test gets an
``outcome`` label (:func:`outcome_group`) that the HTML report groups by first: a release manager sees the
failures, and why (a failed test's title says it), at the top of the first screen.

Files: ``environment.properties`` (the run's identity from the manifest), ``categories.json`` (Allure 2 format,
matched on status and on the section our plugin appends to every classified failure's trace) and
``executor.json``. Allure 3 takes its categories from its config instead, matching the ``failure`` label;
:func:`allure3_categories` builds that list.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from swarmconf.contract import Clause, Level, clause_text
from swarmconf.reports.outcomes import CONTRACT, INFRASTRUCTURE, STRICT_GAP

FAILURE_LABEL = "failure"
#: The first level of the Allure tree: what became of the test, failures first (see :func:`outcome_group`).
OUTCOME_LABEL = "outcome"
SKIPPED = "skipped"
_OUTCOME_GROUPS = {
    CONTRACT: "1. contract failures",
    INFRASTRUCTURE: "2. infrastructure errors (no verdict)",
    STRICT_GAP: "3. strict gaps (known, not gating)",
    SKIPPED: "4. skipped or not enforceable",
    "": "5. passed",
}
SEVERITY = {Level.BASELINE: "critical", Level.STRICT: "normal"}
#: The marker section appended to a classified failure's trace (``Captured <key> <phase>``).
TRACE_SECTION = "swarmconf"

_CATEGORIES = (
    (INFRASTRUCTURE, "Infrastructure errors (no verdict)", "A fixture failed: cluster, build, install, cleanup."),
    (CONTRACT, "Contract failures", "The platform breaks a gating clause."),
    (STRICT_GAP, "Strict gaps (known, not gating)", "A strict clause is not met; reported at baseline."),
)


def add_clause_labels(item: pytest.Item, clauses: list[Clause], *, link_template: str) -> None:
    """Mark the item with epic/story/severity/link labels unless it already carries its own."""
    if not clauses:
        return
    own = {m.kwargs.get("label_type") for m in item.iter_markers(name="allure_label")}
    primary, others = clauses[0], clauses[1:]
    if "epic" not in own:
        item.add_marker(pytest.mark.allure_label(primary.area.value, label_type="epic"))
    if "story" not in own:
        item.add_marker(pytest.mark.allure_label(primary.id, label_type="story"))
    if others and "tag" not in own:
        item.add_marker(pytest.mark.allure_label(*(c.id for c in others), label_type="tag"))
    if item.get_closest_marker("allure_description") is None:
        item.add_marker(pytest.mark.allure_description(description(item, clauses)))
    if "severity" not in own:
        level = Level.BASELINE if any(c.level is Level.BASELINE for c in clauses) else Level.STRICT
        item.add_marker(pytest.mark.allure_label(SEVERITY[level], label_type="severity"))
    linked = {m.kwargs.get("name") for m in item.iter_markers(name="allure_link")}
    for c in clauses:
        if c.id not in linked:
            url = clause_url(link_template, c)
            item.add_marker(pytest.mark.allure_link(url, link_type="link", name=f"{c.id}: {c.title}"))


def outcome_group(kind: str) -> str:
    """The ``outcome`` label of a test: its failure kind (``contract``, ``infrastructure``, ``strict-gap``),
    ``skipped``, or passed (empty). Numbered, so Allure's tree lists failures first whatever it sorts by."""
    return _OUTCOME_GROUPS.get(kind, _OUTCOME_GROUPS[""])


def description(item: pytest.Item, clauses: list[Clause]) -> str:
    """The test's docstring, then the full text of every clause it names (Markdown, as Allure renders it)."""
    doc = inspect.cleandoc(getattr(getattr(item, "function", None), "__doc__", None) or "")
    lines = [doc, ""] if doc else []
    lines += ["**The clauses this test names** (CONTRACT.md):", ""]
    for n, c in enumerate(clauses):
        role = "proves; counted here" if n == 0 else "also checks"
        lines.append(f"- **{c.id}** ({c.level.value}, {role}): {clause_text(c.id)}")
    return "\n".join(lines)


def clause_url(template: str, clause: Clause) -> str:
    """The link to a clause's text; the template may use ``{id}``, ``{area}`` and ``{anchor}`` (the clause's
    anchor on the contract page, :mod:`swarmconf.reports.contract_page`: its ID)."""
    return template.format(id=clause.id, area=clause.area.value, anchor=clause.id)


#: The run's identity, all the Allure report shows of the manifest: its metadata block sits above the tree,
#: and a screen of environment rows there would push the failures off the first screen (the whole manifest
#: is in ``run-manifest.json`` and in report.html's Environment section).
IDENTITY_KEYS = ("run_id", "profile.name", "level", "cluster.kubernetes")


def identity(flat: Mapping[str, str]) -> dict[str, str]:
    """The manifest entries the Allure report shows (:data:`IDENTITY_KEYS`, where present)."""
    return {k: flat[k] for k in IDENTITY_KEYS if flat.get(k)}


def write_environment(results: Path, flat: Mapping[str, str]) -> None:
    """``environment.properties``: one ``key = value`` per manifest entry (Java properties escaping)."""
    lines = [f"{_escape(k, key=True)}={_escape(v)}" for k, v in sorted(flat.items())]
    (results / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_categories(results: Path) -> None:
    """``categories.json`` in Allure 2's format (Allure 3 reads it for its classic/allure2 views)."""
    data = [
        {
            "name": name,
            "description": text,
            "matchedStatuses": ["failed", "broken"],
            "traceRegex": f"(?s).*{FAILURE_LABEL}: {kind}.*",
        }
        for kind, name, text in _CATEGORIES
    ]
    data.append({"name": "Skipped or not enforceable", "matchedStatuses": ["skipped"]})
    (results / "categories.json").write_text(json.dumps(data, indent=2) + "\n")


def allure3_categories() -> list[dict[str, Any]]:
    """The same categories for Allure 3's config, matched on the ``failure`` label."""
    rules: list[dict[str, Any]] = [
        {"id": kind, "name": name, "matchers": {"labels": {FAILURE_LABEL: f"^{kind}$"}}, "expand": True}
        for kind, name, _ in _CATEGORIES
    ]
    rules.append({"id": "skipped", "name": "Skipped or not enforceable", "matchers": {"statuses": ["skipped"]}})
    return rules


def write_executor(results: Path, *, run_id: str, report_name: str, report_url: str = "") -> None:
    """``executor.json``: who produced these results (shown in the report's executor widget)."""
    data = {
        "name": "swarm-conformance",
        "type": "pytest",
        "buildName": run_id,
        "buildOrder": run_id,
        "reportName": report_name,
        "reportUrl": report_url,
    }
    (results / "executor.json").write_text(json.dumps(data, indent=2) + "\n")


def _escape(text: str, *, key: bool = False) -> str:
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if key:
        for ch in " =:":
            out = out.replace(ch, "\\" + ch)
    return out
