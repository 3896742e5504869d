"""Allure metadata: labels from clause markers, and the files Allure reads next to the results.

Labels (added at collection, only where the test did not set its own): ``epic`` = contract area,
``story`` = clause ID, ``severity`` by level (baseline → critical, strict → normal), a link per clause to
its text. After a failure the plugin adds a ``failure`` label (``infrastructure``, ``contract`` or
``strict-gap``) which the categories below match.

Files: ``environment.properties`` (the run manifest, flattened), ``categories.json`` (Allure 2 format,
matched on status and on the section our plugin appends to every classified failure's trace) and
``executor.json``. Allure 3 takes its categories from its config instead, matching the ``failure`` label;
:func:`allure3_categories` builds that list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from swarmconf.contract import Clause, Level
from swarmconf.reports.outcomes import CONTRACT, INFRASTRUCTURE, STRICT_GAP

FAILURE_LABEL = "failure"
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
    if "epic" not in own:
        for area in dict.fromkeys(c.area.value for c in clauses):
            item.add_marker(pytest.mark.allure_label(area, label_type="epic"))
    if "story" not in own:
        item.add_marker(pytest.mark.allure_label(*(c.id for c in clauses), label_type="story"))
    if "severity" not in own:
        level = Level.BASELINE if any(c.level is Level.BASELINE for c in clauses) else Level.STRICT
        item.add_marker(pytest.mark.allure_label(SEVERITY[level], label_type="severity"))
    linked = {m.kwargs.get("name") for m in item.iter_markers(name="allure_link")}
    for c in clauses:
        if c.id not in linked:
            url = clause_url(link_template, c)
            item.add_marker(pytest.mark.allure_link(url, link_type="link", name=f"{c.id}: {c.title}"))


def clause_url(template: str, clause: Clause) -> str:
    """The link to a clause's text; the template may use ``{id}``, ``{area}`` and ``{anchor}``."""
    prefix = clause.id.split("-")[0]
    anchor = f"{prefix.lower()}--{clause.area.value}"  # the section heading "ISO — isolation"
    return template.format(id=clause.id, area=clause.area.value, anchor=anchor)


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
