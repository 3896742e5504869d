"""Write a judged :class:`~swarmconf.reports.matrix.Matrix`: ``matrix.json``, ``matrix.md`` and Allure results.

The Allure results hold one test result per row (the defect; passed when caught, failed when missed or with
collateral failures, broken when inconclusive) with one step per clause, the row's cells as an attachment,
``matrix.md`` and ``matrix.json`` attached to a summary result, and the matrix counts in
``environment.properties``; :func:`swarmconf.reports.allure_html.generate` turns them into the HTML report.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from swarmconf.reports import allure_meta
from swarmconf.reports.matrix import BASELINE, GOOD_ROWS, Cell, CellResult, Matrix, Row, RowVerdict

SCHEMA = 1
EPIC = "harness self-test"

_SYMBOLS = {
    Cell.CAUGHT: "✅ caught",
    Cell.CRASHED: "⚠️ crashed",
    Cell.MISSED: "❌ MISSED",
    Cell.NO_VERDICT: "⚠️ no verdict",
    Cell.COUPLED: "〰️ coupled",
    Cell.COLLATERAL: "❌ COLLATERAL",
    Cell.CO_NAMED: "🟠 co-named",
    Cell.CLEAN: "· pass",
    Cell.ERROR: "⚠️ error",
}
_ROW_SYMBOLS = {
    RowVerdict.CAUGHT: "✅ caught",
    RowVerdict.PASSED: "✅ passed",
    RowVerdict.MISSED: "❌ missed",
    RowVerdict.COLLATERAL: "❌ collateral",
    RowVerdict.INCONCLUSIVE: "⚠️ inconclusive",
}


def as_dict(matrix: Matrix) -> dict[str, Any]:
    """The matrix as JSON-ready data."""
    return {
        "schema": SCHEMA,
        "ok": matrix.ok,
        "allow_co_named": matrix.allow_co_named,
        "duration_seconds": round(matrix.duration, 1),
        "counts": matrix.counts(),
        "meta": matrix.meta,
        "clauses": matrix.clauses(),
        "rows": [_row(r) for r in matrix.rows],
    }


def _row(r: Row) -> dict[str, Any]:
    exp = r.expectation
    return {
        "defect": r.defect,
        "breaks": sorted(exp.breaks),
        "may_break": sorted(exp.may_break),
        "selected_clauses": list(exp.selection),
        "note": exp.note,
        "verdict": r.verdict.value,
        "run_id": r.run_id,
        "exit_code": r.exit_code,
        "duration_seconds": round(r.duration, 1),
        "notes": r.notes,
        "info": r.info,
        "cells": {
            c.clause: {
                "expected": c.expected,
                "observed": c.observed,
                "cell": c.cell.value,
                "failing_tests": list(c.failing_tests),
                "messages": list(c.messages),
            }
            for c in r.cells
        },
    }


def markdown(matrix: Matrix) -> str:
    """The matrix for people: the outcome, one line per defect, the defect × clause grid, then the problems."""
    meta = matrix.meta
    head = "PASSED: every defect caught, nothing else failed" if matrix.ok else "FAILED: see the rows below"
    lines = [
        "# Harness self-test: the defect matrix",
        "",
        f"**{head}** — {len(matrix.rows)} runs in {_minutes(matrix.duration)}"
        + (f" on cluster `{meta['cluster']}`" if meta.get("cluster") else ""),
        "",
        "Counts: " + ", ".join(f"{k} {v}" for k, v in matrix.counts().items() if v),
        "",
        *_unfinished(matrix),
        "A defect is *caught* when every clause it must break fails and no other clause that ran fails. "
        "*co-named*: a clause that failed only because a failing test also names it (the reports attribute a "
        "test's failure to every clause the test names) — "
        + ("allowed by `--allow-co-named`." if matrix.allow_co_named else "counted as collateral."),
        "",
        *_row_table(matrix),
        "",
        *_grid(matrix),
        "",
        *_problems(matrix),
    ]
    return "\n".join(lines).rstrip() + "\n"


def _unfinished(matrix: Matrix) -> list[str]:
    meta = matrix.meta
    lines = []
    if meta.get("aborted"):
        lines.append(f"> **Aborted**: {meta['aborted']}")
    if meta.get("infrastructure_error"):
        lines.append(f"> **Infrastructure error**: {meta['infrastructure_error']}")
    if meta.get("interrupted"):
        lines.append("> **Interrupted** (Ctrl-C or SIGTERM).")
    if meta.get("not_run"):
        lines.append(f"> Not run: {', '.join(f'`{d}`' for d in meta['not_run'])}")
    return [*lines, ""] if lines else []


def _row_table(matrix: Matrix) -> list[str]:
    rows = ["| defect | must break | verdict | failed clauses | time | run |", "|---|---|---|---|---|---|"]
    for r in matrix.rows:
        failed = ", ".join(c.clause for c in r.cells if c.observed == "fail") or "—"
        must = ", ".join(sorted(r.expectation.breaks)) or "nothing"
        if r.expectation.may_break:
            must += f" (may: {', '.join(sorted(r.expectation.may_break))})"
        rows.append(
            f"| `{r.defect}` | {must} | {_ROW_SYMBOLS[r.verdict]} | {failed} | {r.duration:.0f} s | `{r.run_id}` |"
        )
    return rows


def _grid(matrix: Matrix) -> list[str]:
    clauses = matrix.clauses()
    if not clauses:
        return []
    rows = ["## Defect × clause", "", "| defect | " + " | ".join(clauses) + " |", "|---|" + "---|" * len(clauses)]
    for r in matrix.rows:
        by = {c.clause: c for c in r.cells}
        cells = [_SYMBOLS[by[c].cell] if c in by else "" for c in clauses]
        rows.append(f"| `{r.defect}` | " + " | ".join(cells) + " |")
    return rows


def _problems(matrix: Matrix) -> list[str]:
    bad = [r for r in matrix.rows if r.verdict not in GOOD_ROWS or r.notes]
    if not bad:
        return []
    lines = ["## Details", ""]
    for r in bad:
        lines.append(f"### `{r.defect}` — {_ROW_SYMBOLS[r.verdict]}")
        lines.append("")
        for c in r.cells:
            if c.cell in (Cell.CAUGHT, Cell.CLEAN, Cell.COUPLED):
                continue
            lines.append(f"- {c.clause}: expected {c.expected}, observed {c.observed} → **{c.cell.value}**")
            lines += [f"  - `{t}`: {_one_line(m)}" for t, m in zip(c.failing_tests, c.messages, strict=False)]
        lines += [f"- note: {n}" for n in r.notes]
        lines.append("")
    return lines


def _one_line(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")[:300]


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


def write(matrix: Matrix, folder: Path) -> dict[str, Any]:
    """Write ``matrix.json`` and ``matrix.md`` into ``folder``; return the JSON data."""
    folder.mkdir(parents=True, exist_ok=True)
    data = as_dict(matrix)
    (folder / "matrix.json").write_text(json.dumps(data, indent=2) + "\n")
    (folder / "matrix.md").write_text(markdown(matrix))
    return data


# --- Allure ------------------------------------------------------------------------------------------------


def write_allure(matrix: Matrix, results: Path, *, started_ms: int, run_id: str) -> None:
    """One Allure result per row plus a summary result; environment, categories and executor files."""
    results.mkdir(parents=True, exist_ok=True)
    for r in matrix.rows:
        _write_result(results, _row_result(r, results, started_ms))
    summary = _result(
        "defect matrix",
        "passed" if matrix.ok else "failed",
        started_ms,
        started_ms + int(matrix.duration * 1000),
        labels={"epic": EPIC, "story": "matrix", "severity": "critical"},
        message="" if matrix.ok else "some defect was not caught cleanly: see matrix.md",
    )
    summary["attachments"] = [
        _attach(results, "matrix.md", markdown(matrix), "text/markdown", "md"),
        _attach(results, "matrix.json", json.dumps(as_dict(matrix), indent=2), "application/json", "json"),
    ]
    _write_result(results, summary)
    env = {f"matrix.{k}": str(v) for k, v in matrix.counts().items()}
    env.update({f"matrix.{k}": str(v) for k, v in matrix.meta.items()})
    env["matrix.ok"] = str(matrix.ok)
    allure_meta.write_environment(results, env)
    allure_meta.write_categories(results)
    allure_meta.write_executor(results, run_id=run_id, report_name=f"UserSwarm harness self-test — {run_id}")


def _row_result(r: Row, results: Path, started_ms: int) -> dict[str, Any]:
    status = {RowVerdict.INCONCLUSIVE: "broken"}.get(r.verdict, "passed" if r.verdict in GOOD_ROWS else "failed")
    must = sorted(r.expectation.breaks)
    labels = {"epic": EPIC, "feature": "baseline" if r.defect == BASELINE else "defects", "severity": "critical"}
    result = _result(
        f"{r.defect} → {', '.join(must) or 'all pass'}",
        status,
        started_ms,
        started_ms + int(r.duration * 1000),
        labels=labels,
        message=f"{r.verdict.value}: " + "; ".join(_cell_line(c) for c in r.cells if c.cell not in _QUIET),
    )
    result["labels"] += [{"name": "story", "value": c} for c in must or ["baseline"]]
    result["parameters"] = [
        {"name": "defect", "value": r.defect},
        {"name": "run", "value": r.run_id},
        {"name": "exit code", "value": str(r.exit_code)},
    ]
    result["steps"] = [_step(c, started_ms) for c in r.cells]
    table = "\n".join([*(_cell_line(c) for c in r.cells), *r.notes, *r.info])
    result["attachments"] = [_attach(results, "cells", table, "text/plain", "txt")]
    return result


_QUIET = (Cell.CAUGHT, Cell.CLEAN, Cell.COUPLED)


def _cell_line(c: CellResult) -> str:
    return f"{c.clause}: expected {c.expected}, observed {c.observed} → {c.cell.value}"


def _step(c: CellResult, at: int) -> dict[str, Any]:
    bad = c.cell in (Cell.MISSED, Cell.COLLATERAL, Cell.CO_NAMED)
    status = "failed" if bad else "broken" if c.cell in (Cell.NO_VERDICT, Cell.ERROR, Cell.CRASHED) else "passed"
    return {
        "name": _cell_line(c),
        "status": status,
        "stage": "finished",
        "start": at,
        "stop": at,
        "steps": [],
        "attachments": [],
        "parameters": [{"name": "failing tests", "value": ", ".join(c.failing_tests) or "none"}],
    }


def _result(
    name: str, status: str, start: int, stop: int, *, labels: dict[str, str], message: str = ""
) -> dict[str, Any]:
    history = hashlib.md5(f"swarmconf-selftest:{name}".encode(), usedforsecurity=False).hexdigest()
    return {
        "uuid": str(uuid.uuid4()),
        "historyId": history,
        "testCaseId": history,
        "name": name,
        "fullName": f"selftest.{name}",
        "status": status,
        "statusDetails": {"message": message} if message else {},
        "stage": "finished",
        "start": start,
        "stop": max(stop, start),
        "labels": [{"name": k, "value": v} for k, v in labels.items()],
        "steps": [],
        "attachments": [],
        "parameters": [],
    }


def _attach(results: Path, name: str, content: str, mime: str, ext: str) -> dict[str, str]:
    source = f"{uuid.uuid4()}-attachment.{ext}"
    (results / source).write_text(content)
    return {"name": name, "source": source, "type": mime}


def _write_result(results: Path, result: dict[str, Any]) -> None:
    (results / f"{result['uuid']}-result.json").write_text(json.dumps(result, indent=2))
