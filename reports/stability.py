"""Stability of the suites over repeated full runs: outcomes per test, judged and written. Pure data.

Input: the ``summary.json`` of each run (None for a run that wrote none). Output, per test: how often it
passed, failed (contract), errored (infrastructure), was skipped / not enforceable, or was not reached, and
the message of every run where it did not pass — the evidence for finding the cause. There are no retries
anywhere: a test that both passes and fails over the same runs is **flaky**, a bug to report with its cause.

=============  ==========================================================================================
kind           meaning
=============  ==========================================================================================
``stable``     the same outcome in every run (pass, or a steady skip / not-enforceable)
``flaky``      passed in some runs and failed or errored in others
``broken``     never passed and failed or errored in at least one run
=============  ==========================================================================================
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BAD = ("failed", "error")
STATUSES = ("passed", "failed", "error", "skipped", "not-enforceable", "not-reached")


@dataclass
class TestHistory:
    """One test over every run."""

    __test__ = False

    nodeid: str
    clauses: tuple[str, ...]
    outcomes: dict[str, str] = field(default_factory=dict)
    """Run ID → status."""
    messages: dict[str, str] = field(default_factory=dict)
    """Run ID → message, for the runs where it did not pass."""
    durations: list[float] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    @property
    def kind(self) -> str:
        counts = self.counts
        bad = sum(counts[s] for s in BAD)
        if bad and counts["passed"]:
            return "flaky"
        if bad:
            return "broken"
        return "stable"


@dataclass(frozen=True)
class RunOutcome:
    """One full run: its ID, its summary (None if it wrote none), exit code, wall time, what it left behind."""

    run_id: str
    summary: Mapping[str, Any] | None
    exit_code: int
    seconds: float
    leftovers: tuple[str, ...] = ()


@dataclass
class Stability:
    """Every test's history and every run's exit code and wall time."""

    tests: list[TestHistory]
    runs: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        """True when every run wrote a summary, left nothing behind, and no test ever failed or errored."""
        runs_ok = all(r["summary"] and not r["leftovers"] and r["exit_matches"] for r in self.runs)
        return bool(self.runs) and runs_ok and all(t.kind == "stable" for t in self.tests)


def aggregate(runs: Sequence[RunOutcome]) -> Stability:
    """Every test's history over ``runs`` (in order)."""
    tests: dict[str, TestHistory] = {}
    for run in runs:
        run_id = run.run_id
        for entry in (run.summary or {}).get("clauses", []):
            for t in entry.get("tests", []):
                hist = tests.setdefault(t["nodeid"], TestHistory(t["nodeid"], ()))
                if entry["id"] not in hist.clauses:
                    hist.clauses += (entry["id"],)
                if run_id in hist.outcomes:
                    continue
                hist.outcomes[run_id] = t["status"]
                hist.durations.append(float(t.get("duration", 0.0)))
                if t["status"] != "passed":
                    hist.messages[run_id] = t.get("message", "")
    meta = [
        {
            "run_id": r.run_id,
            "exit_code": r.exit_code,
            "seconds": round(r.seconds, 1),
            "summary": r.summary is not None,
            "summary_exit_code": (r.summary or {}).get("exit_code"),
            "exit_matches": r.summary is not None and r.summary.get("exit_code") == r.exit_code,
            "leftovers": list(r.leftovers),
        }
        for r in runs
    ]
    return Stability(sorted(tests.values(), key=lambda h: h.nodeid), meta)


def as_dict(stab: Stability) -> dict[str, Any]:
    """JSON-ready data."""
    return {
        "schema": 1,
        "ok": stab.ok,
        "runs": stab.runs,
        "tests": [
            {
                "nodeid": t.nodeid,
                "clauses": list(t.clauses),
                "kind": t.kind,
                "counts": {s: t.counts[s] for s in STATUSES if t.counts[s]},
                "outcomes": t.outcomes,
                "messages": t.messages,
                "mean_seconds": round(sum(t.durations) / len(t.durations), 1) if t.durations else None,
            }
            for t in stab.tests
        ],
    }


def markdown(stab: Stability) -> str:
    """A table of failures per test, then the messages of every non-passing outcome."""
    n = len(stab.runs)
    lines = [
        f"# Stability: {n} full runs",
        "",
        "**" + ("STABLE: no test failed or errored in any run" if stab.ok else "NOT STABLE: see below") + "**",
        "",
        "| run | exit code | summary's exit code | wall time | left behind |",
        "|---|---|---|---|---|",
        *(
            f"| `{r['run_id']}` | {r['exit_code']} | {_summary_exit(r)} | {r['seconds']:.0f} s "
            f"| {', '.join(r['leftovers']) or '—'} |"
            for r in stab.runs
        ),
        "",
        "A process exit code that differs from its summary's means the session failed after the summary was "
        "written (see the run's log): a harness bug.",
        "",
        "| test | clauses | kind | passed | failed | error | skipped | not-enf. | not reached | mean s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in stab.tests:
        c = t.counts
        mean = sum(t.durations) / len(t.durations) if t.durations else 0.0
        lines.append(
            f"| `{t.nodeid}` | {', '.join(t.clauses)} | {t.kind} | {c['passed']} | {c['failed']} | {c['error']} "
            f"| {c['skipped']} | {c['not-enforceable']} | {c['not-reached']} | {mean:.0f} |"
        )
    bad = [t for t in stab.tests if t.messages and t.kind != "stable"]
    if bad:
        lines += ["", "## Failures, run by run", ""]
        for t in bad:
            lines.append(f"### `{t.nodeid}` ({t.kind})")
            lines += [f"- `{rid}` {t.outcomes[rid]}: {_one_line(msg)}" for rid, msg in t.messages.items()]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _summary_exit(run: Mapping[str, Any]) -> str:
    if not run["summary"]:
        return "NO SUMMARY"
    return str(run["summary_exit_code"]) + ("" if run["exit_matches"] else " ≠ process")


def _one_line(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")[:400]


def write(stab: Stability, folder: Path) -> None:
    """``stability.json`` and ``stability.md`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stability.json").write_text(json.dumps(as_dict(stab), indent=2) + "\n")
    (folder / "stability.md").write_text(markdown(stab))
