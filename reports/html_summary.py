"""The verdict section of ``report.html`` (pytest-html): the verdict line, what failed and why, every clause.

pytest-html opens on its Environment table (the run manifest: dozens of rows) and puts the summary below it.
A release manager must see the verdict and the failures on the first screen, so this section comes first:
a style block reorders the page (title, then the summary with this section, then the environment, collapsed
to its header, then pytest-html's results table), and the section itself reads top-down as the verdict
line, a row per failing test (the clause it broke, with the clause's text one click away, and the reason),
and then the verdict of every clause next to its text.
"""

from __future__ import annotations

from html import escape

from swarmconf.contract import CLAUSES, clause_text
from swarmconf.reports import contract_page
from swarmconf.reports.verdicts import ClauseVerdict, Outcome, TestRecord, TestStatus, headline

_CELL_COLOURS = {"pass": "#c8e6c9", "fail": "#ffcdd2", "error": "#ffe0b2", "not-enforceable": "#e1bee7"}
_KINDS = {TestStatus.FAILED: "contract failure", TestStatus.INFRA: "infrastructure error (no verdict)"}

# Flex order puts the title and the summary (which holds this section) above the Environment table; the
# script collapses that table to its header (pytest-html's own toggle opens it again).
_LAYOUT = (
    "<style>body{display:flex;flex-direction:column}#title{order:-3}body>p:first-of-type{order:-2}"
    ".summary{order:-1}#swarmconf-verdict{margin:.2em 0}.swarmconf-table{border-collapse:collapse;margin:.4em 0}"
    ".swarmconf-table td,.swarmconf-table th{border:1px solid #999;padding:2px 4px;text-align:left}</style>"
    '<script>window.addEventListener("load",()=>{document.getElementById("environment").classList.add("hidden");'
    'document.getElementById("environment-header").classList.add("collapsed")})</script>'
)


def verdict_section(outcome: Outcome) -> str:
    """The HTML for pytest-html's summary prefix."""
    return (
        _LAYOUT
        + f'<h2 id="swarmconf-verdict">Verdict: {escape(headline(outcome))} (exit code {int(outcome.exit_code)})</h2>'
        + failures_table(outcome)
        + clauses_table(outcome)
    )


def failures_table(outcome: Outcome) -> str:
    """A row per contract failure and infrastructure error: kind, clause, test, reason."""
    failing = [r for r in outcome.records if r.status in _KINDS]
    if not failing:
        return '<p id="swarmconf-failures">Nothing failed.</p>'
    rows = "".join(_failure_row(r) for r in sorted(failing, key=lambda r: r.status is not TestStatus.FAILED))
    head = _head("what", "clause", "test", "why")
    return f'<table id="swarmconf-failures" class="swarmconf-table">{head}<tbody>{rows}</tbody></table>'


def _failure_row(record: TestRecord) -> str:
    on = record.blamed[0] if record.blamed else (record.clauses[0] if record.clauses else "")
    clause = _clause_link(on) if on in CLAUSES else "no clause"
    return (
        f'<tr class="swarmconf-failure-{record.status.value}"><td>{_KINDS[record.status]} (in {record.phase})</td>'
        f"<td>{clause}</td><td><code>{escape(record.nodeid)}</code></td><td>{escape(record.message)}</td></tr>"
    )


def clauses_table(outcome: Outcome) -> str:
    """The verdict of every clause, next to the clause's text."""
    head = _head("clause", "level", "verdict", "note", "the clause (CONTRACT.md)")
    rows = "".join(_clause_row(cv) for cv in outcome.clauses)
    return f'<table id="swarmconf-clauses" class="swarmconf-table">{head}<tbody>{rows}</tbody></table>'


def _clause_row(cv: ClauseVerdict) -> str:
    colour = _CELL_COLOURS.get(cv.verdict.value, "#eeeeee")
    note = escape(str(cv.reason)) + (" (blocks the release)" if cv.blocks else "")
    note += " (strict gap)" if cv.strict_gap else ""
    return (
        f'<tr class="swarmconf-verdict-{cv.verdict.value}"><td>{cv.clause.id}</td>'
        f"<td>{cv.clause.level.value}</td>"
        f'<td style="background:{colour};font-weight:bold">{cv.verdict.value}</td>'
        f"<td>{note}</td><td>{_clause_link(cv.clause.id)}: {contract_page.inline(clause_text(cv.clause.id))}</td></tr>"
    )


def _clause_link(clause_id: str) -> str:
    return f'<a href="{contract_page.href(CLAUSES[clause_id])}">{escape(clause_id)}</a>'


def _head(*names: str) -> str:
    return "<thead><tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr></thead>"
