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
import statistics
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmconf.clusters.usage import Peak
from swarmconf.reports.summary import area_of

BAD = ("failed", "error")
STATUSES = ("passed", "failed", "error", "skipped", "not-enforceable", "not-reached")
#: A test named by several clauses is listed under each, its status as far as that clause goes (a failure blamed
#: on one clause leaves the others "not reached"): its outcome in a run is the worst of them.
_SEVERITY = {
    status: rank
    for rank, status in enumerate(("passed", "not-enforceable", "skipped", "not-reached", "failed", "error"))
}


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
    seconds: dict[str, float] = field(default_factory=dict)
    """Run ID → the test's time (setup, call and teardown)."""

    @property
    def area(self) -> str:
        """The contract area: the suite module's name (one module per area), ``test_`` dropped."""
        return area_of(self.nodeid)

    @property
    def mean_seconds(self) -> float | None:
        return sum(self.seconds.values()) / len(self.seconds) if self.seconds else None

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.seconds.values()) if self.seconds else None

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
    peak: Peak | None = None
    """What the cluster's nodes peaked at over the runs (None: not a kind cluster, nothing sampled)."""

    @property
    def walls(self) -> list[float]:
        """The wall times of the runs that wrote a summary (an interrupted or crashed run's time says nothing)."""
        return [float(r["seconds"]) for r in self.runs if r["summary"]]

    @property
    def ok(self) -> bool:
        """True when every run wrote a summary, exited 0, left nothing behind, and no test ever failed or errored."""
        runs_ok = all(
            r["summary"] and r["exit_code"] == 0 and not r["leftovers"] and r["exit_matches"] for r in self.runs
        )
        return bool(self.runs) and runs_ok and all(t.kind == "stable" for t in self.tests)


def aggregate(runs: Sequence[RunOutcome], peak: Peak | None = None) -> Stability:
    """Every test's history over ``runs`` (in order); ``peak``, what the cluster peaked at meanwhile."""
    tests: dict[str, TestHistory] = {}
    for run in runs:
        run_id = run.run_id
        for entry in (run.summary or {}).get("clauses", []):
            for t in entry.get("tests", []):
                hist = tests.setdefault(t["nodeid"], TestHistory(t["nodeid"], ()))
                if entry["id"] not in hist.clauses:
                    hist.clauses += (entry["id"],)
                seen = hist.outcomes.get(run_id)
                if seen is not None and _SEVERITY.get(t["status"], 0) <= _SEVERITY.get(seen, 0):
                    continue
                hist.outcomes[run_id] = t["status"]
                hist.seconds[run_id] = float(t.get("duration", 0.0))
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
    return Stability(sorted(tests.values(), key=lambda h: h.nodeid), meta, peak)


def slowest(stab: Stability, n: int = 10) -> list[TestHistory]:
    """The ``n`` tests with the highest median time over the runs: where the next speed-up is."""
    by_id = {t.nodeid: t for t in stab.tests}
    return [by_id[nodeid] for nodeid, _ in slowest_by_median({t.nodeid: t.seconds.values() for t in stab.tests}, n)]


def slowest_by_median(seconds: Mapping[str, Collection[float]], n: int = 10) -> list[tuple[str, float]]:
    """The ``n`` tests (test ID → its time in each run) with the highest median time, as (test ID, median).

    The one definition of "the slowest tests" over several runs, for the stability report and the benchmarks:
    the median, so that one slow run does not rank a test.
    """
    medians = [(nodeid, statistics.median(times)) for nodeid, times in seconds.items() if times]
    return sorted(medians, key=lambda m: (-m[1], m[0]))[:n]


def wall_summary(stab: Stability) -> dict[str, float] | None:
    """Median, lowest and highest wall time of the runs that wrote a summary; None without any."""
    walls = stab.walls
    if not walls:
        return None
    return {"median": round(statistics.median(walls), 1), "min": min(walls), "max": max(walls), "runs": len(walls)}


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
                "mean_seconds": None if t.mean_seconds is None else round(t.mean_seconds, 1),
            }
            for t in stab.tests
        ],
        "areas": [
            {
                "area": a.area,
                "tests": a.tests,
                "median_seconds": round(a.median, 1),
                "seconds": {rid: round(v, 1) for rid, v in a.seconds.items()},
            }
            for a in area_times(stab)
        ],
        "wall_seconds": wall_summary(stab),
        "slowest_tests": [
            {"nodeid": t.nodeid, "median_seconds": round(t.median_seconds or 0.0, 1)} for t in slowest(stab)
        ],
        "cluster_peak": stab.peak.as_dict() if stab.peak else None,
    }


@dataclass(frozen=True)
class AreaTime:
    """One contract area's time in each run: the sum of its tests' times."""

    area: str
    tests: int
    seconds: dict[str, float]
    """Run ID → seconds."""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds.values()) if self.seconds else 0.0


def area_times(stab: Stability) -> list[AreaTime]:
    """Per area (suite module), its tests' summed time in each run, slowest area first."""
    by_area: dict[str, list[TestHistory]] = {}
    for t in stab.tests:
        by_area.setdefault(t.area, []).append(t)
    times = [
        AreaTime(
            area,
            len(tests),
            {r["run_id"]: sum(t.seconds.get(r["run_id"], 0.0) for t in tests) for r in stab.runs},
        )
        for area, tests in by_area.items()
    ]
    return sorted(times, key=lambda a: -a.median)


def markdown(stab: Stability) -> str:
    """A table of failures per test, then the messages of every non-passing outcome."""
    n = len(stab.runs)
    lines = [
        f"# Stability: {n} full runs",
        "",
        "**" + ("STABLE: no test failed or errored in any run" if stab.ok else "NOT STABLE: see below") + "**",
        "",
        *_headline(stab),
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
        lines.append(
            f"| `{t.nodeid}` | {', '.join(t.clauses)} | {t.kind} | {c['passed']} | {c['failed']} | {c['error']} "
            f"| {c['skipped']} | {c['not-enforceable']} | {c['not-reached']} | {t.mean_seconds or 0.0:.0f} |"
        )
    lines += [
        "",
        "## Time per area",
        "",
        "Each area's tests' time summed (setup, call and teardown), per run. Under pytest-xdist, tests of "
        "different areas overlap, so the areas add up to more than the wall time.",
        "",
        "| area | tests | median s | min s | max s |",
        "|---|---|---|---|---|",
        *(
            f"| {a.area} | {a.tests} | {a.median:.0f} | {min(a.seconds.values(), default=0):.0f} "
            f"| {max(a.seconds.values(), default=0):.0f} |"
            for a in area_times(stab)
        ),
    ]
    lines += [
        "",
        "## Ten slowest tests",
        "",
        "Median over the runs of each test's time (setup, call and teardown).",
        "",
        "| test | median s | min s | max s |",
        "|---|---|---|---|",
        *(
            f"| `{t.nodeid}` | {t.median_seconds or 0.0:.0f} | {min(t.seconds.values()):.0f} "
            f"| {max(t.seconds.values()):.0f} |"
            for t in slowest(stab)
        ),
    ]
    bad = [t for t in stab.tests if t.messages and t.kind != "stable"]
    if bad:
        lines += ["", "## Failures, run by run", ""]
        for t in bad:
            lines.append(f"### `{t.nodeid}` ({t.kind})")
            lines += [f"- `{rid}` {t.outcomes[rid]}: {_one_line(msg)}" for rid, msg in t.messages.items()]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _headline(stab: Stability) -> list[str]:
    """Wall time over the runs and what the cluster peaked at, as list items."""
    walls = wall_summary(stab)
    lines = []
    if walls:
        lines.append(
            f"- wall time: median **{walls['median']:.0f} s** (lowest {walls['min']:.0f} s, highest "
            f"{walls['max']:.0f} s) over {walls['runs']} runs that wrote a summary"
        )
    lines.append(f"- cluster peak: {stab.peak.describe() if stab.peak else 'not measured (not a kind cluster)'}")
    return [*lines, ""]


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
