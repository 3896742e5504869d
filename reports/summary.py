"""Write ``summary.json`` (for machines) and ``summary.md`` (for people) from a judged :class:`Outcome`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from swarmconf.contract import CLAUSES, Level, clause_text
from swarmconf.reports import contract_page
from swarmconf.reports.exitcodes import ExitCode
from swarmconf.reports.verdicts import ClauseVerdict, Outcome, TestRecord, TestStatus, Verdict, headline, judged

SCHEMA = 1

_ICONS = {
    Verdict.PASS: "✅ pass",
    Verdict.FAIL: "❌ fail",
    Verdict.ERROR: "⚠️ error (infra)",
    Verdict.NOT_ENFORCEABLE: "🚫 not-enforceable",
    Verdict.NOT_RUN: "⏸️ not-run",
}


def as_dict(outcome: Outcome, *, run_id: str) -> dict[str, Any]:
    """The summary as JSON-ready data."""
    unique = {r.nodeid: r for r in _records(outcome)}
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "level": outcome.level.value,
        "exit_code": int(outcome.exit_code),
        "exit_meaning": headline(outcome),
        "gate": "passed" if outcome.exit_code is ExitCode.GATE_PASSED else "failed",
        "partial": outcome.selection.partial,
        "complete": not outcome.selection.partial,
        "judged": dict(zip(("clauses", "gating"), judged(outcome), strict=True)),
        "tests": dict(Counter(r.status.value for r in unique.values())),
        "levels": outcome.by_level(),
        "clauses": [_clause(cv) for cv in outcome.clauses],
        "contract_failures": sorted(n for n, r in unique.items() if r.status is TestStatus.FAILED),
        "infrastructure_errors": sorted(n for n, r in unique.items() if r.status is TestStatus.INFRA),
        "collection_errors": list(outcome.selection.collection_errors),
        "unlabelled_tests": [_test(r) for r in outcome.unlabelled],
        "timings": timings(outcome),
    }


def write(outcome: Outcome, *, run_id: str, json_path: Path, md_path: Path) -> dict[str, Any]:
    """Write both files; return the JSON data."""
    data = as_dict(outcome, run_id=run_id)
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    md_path.write_text(markdown(outcome, run_id=run_id))
    return data


def markdown(outcome: Outcome, *, run_id: str) -> str:
    """The summary for people: the verdict, what failed and why, counts per level, a row per clause."""
    lines = [
        f"# Conformance summary — run `{run_id}`",
        "",
        f"**{headline(outcome)}** (exit code {int(outcome.exit_code)}; level `{outcome.level.value}`)",
        "",
    ]
    if outcome.selection.partial:
        lines += [
            "> Partial run: tests were left out on purpose (`-k`, `-m`, `--deselect`, `--clause`, paths). The "
            "clauses below were judged on the tests that ran; a release needs a run of the whole suite.",
            "",
        ]
    # What failed and why first (a release manager reads from the top), then every clause.
    lines += _details("Contract failures", outcome, TestStatus.FAILED)
    lines += _details("Infrastructure errors (no verdict; not a contract failure)", outcome, TestStatus.INFRA)
    lines += [*_level_table(outcome), "", *_clause_table(outcome), ""]
    gaps = [cv for cv in outcome.clauses if cv.strict_gap]
    if gaps:
        lines += ["## Strict gaps (reported, not gating at this level)", ""]
        lines += [f"- **{cv.clause.id}** {_ICONS[cv.verdict]} — {cv.clause.title}" for cv in gaps] + [""]
    if outcome.selection.collection_errors:
        lines += ["## Collection errors", ""] + [f"- `{e}`" for e in outcome.selection.collection_errors] + [""]
    if outcome.unlabelled:
        lines += ["## Tests without a clause marker", ""]
        lines += [f"- `{r.nodeid}` — {r.status.value}" for r in outcome.unlabelled] + [""]
    lines += _timing_tables(timings(outcome))
    return "\n".join(lines)


SLOWEST = 10
"""How many tests the summary's time table lists (``summary.json`` has all of them)."""


def timings(outcome: Outcome) -> dict[str, Any]:
    """Where the run's time went: every test's seconds (setup, call and teardown), slowest first, and per area.

    An area is a suite module (``suites/test_deletion.py`` → ``deletion``). The sums are test time, not wall
    time: tests that run side by side (pytest-xdist) add up to more than the run took.
    """
    unique = {r.nodeid: r for r in _records(outcome)}.values()
    ordered = sorted(unique, key=lambda r: (-r.duration, r.nodeid))
    areas: dict[str, float] = {}
    for r in ordered:
        area = area_of(r.nodeid)
        areas[area] = areas.get(area, 0.0) + r.duration
    return {
        "total_seconds": round(sum(r.duration for r in ordered), 1),
        "areas": {area: round(seconds, 1) for area, seconds in sorted(areas.items(), key=lambda a: -a[1])},
        "tests": [{"nodeid": r.nodeid, "seconds": round(r.duration, 1), "status": r.status.value} for r in ordered],
    }


def area_of(nodeid: str) -> str:
    """The contract area of a test: its suite module's name (``suites/test_deletion.py::t`` → ``deletion``)."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return module.removeprefix("test_").removesuffix(".py")


def _timing_tables(data: dict[str, Any]) -> list[str]:
    if not data["tests"]:
        return []
    lines = [
        f"## Where the time went ({data['total_seconds']:.0f} s of test time; side-by-side tests overlap)",
        "",
        "| area | seconds |",
        "|---|---|",
        *(f"| {area} | {seconds:.0f} |" for area, seconds in data["areas"].items()),
        "",
        f"| the {min(SLOWEST, len(data['tests']))} slowest tests | seconds | outcome |",
        "|---|---|---|",
        *(f"| `{t['nodeid']}` | {t['seconds']:.0f} | {t['status']} |" for t in data["tests"][:SLOWEST]),
        "",
    ]
    return lines


def _level_table(outcome: Outcome) -> list[str]:
    verdicts = list(Verdict)
    rows = ["| level | gating | " + " | ".join(v.value for v in verdicts) + " |"]
    rows.append("|---|---|" + "---|" * len(verdicts))
    gating = {cv.clause.level for cv in outcome.clauses if cv.gating}
    for level, counts in outcome.by_level().items():
        flag = "yes" if Level(level) in gating else "no"
        rows.append(f"| {level} | {flag} | " + " | ".join(str(counts[v]) for v in verdicts) + " |")
    return rows


def _clause_table(outcome: Outcome) -> list[str]:
    rows = [
        "| clause | level | verdict | tests | note | the clause (CONTRACT.md) |",
        "|---|---|---|---|---|---|",
    ]
    for cv in outcome.clauses:
        note = cv.reason or ("blocks the release" if cv.blocks else "")
        if cv.strict_gap:
            note = "strict gap" + (f"; {note}" if note else "")
        rows.append(
            f"| [{cv.clause.id}]({contract_page.href(cv.clause)}) | {cv.clause.level.value} | {_ICONS[cv.verdict]} "
            f"| {len(cv.tests)} | {note} | {_one_line(clause_text(cv.clause.id), limit=None)} |"
        )
    return rows


def _records(outcome: Outcome) -> list[TestRecord]:
    """Every test once, as it came out (an Outcome built by hand may carry only its clauses' tests)."""
    if outcome.records:
        return outcome.records
    return [t for cv in outcome.clauses for t in cv.tests] + outcome.unlabelled


def _details(title: str, outcome: Outcome, status: TestStatus) -> list[str]:
    hits = {t.nodeid: t for t in _records(outcome) if t.status is status}
    if not hits:
        return []
    lines = [f"## {title}", ""]
    for t in hits.values():
        clauses = ", ".join(t.clauses) or "no clause"
        if t.blamed and len(t.clauses) > 1:
            clauses += f"; failed on {t.blamed[0]}"
        lines.append(f"- `{t.nodeid}` ({clauses}; in {t.phase}): {_one_line(t.message)}")
        on = t.blamed[0] if t.blamed else (t.clauses[0] if t.clauses else None)
        if on is not None and on in CLAUSES:
            lines.append(f"  > **{on}**: {_one_line(clause_text(on), limit=None)}")
    return [*lines, ""]


def _one_line(text: str, *, limit: int | None = 300) -> str:
    return text.replace("\n", " ").replace("|", "\\|")[:limit]


def _clause(cv: ClauseVerdict) -> dict[str, Any]:
    return {
        "id": cv.clause.id,
        "area": cv.clause.area.value,
        "level": cv.clause.level.value,
        "title": cv.clause.title,
        "text": clause_text(cv.clause.id),
        "verdict": cv.verdict.value,
        "gating": cv.gating,
        "blocks": cv.blocks,
        "strict_gap": cv.strict_gap,
        "reason": str(cv.reason),
        "tests": [_test(t) for t in cv.tests],
    }


def _test(t: TestRecord) -> dict[str, Any]:
    return {
        "nodeid": t.nodeid,
        "status": t.status.value,
        "phase": t.phase,
        "message": t.message,
        "duration": round(t.duration, 3),
        **({"blamed": list(t.blamed)} if t.blamed else {}),
    }
