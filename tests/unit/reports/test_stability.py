"""Stability over repeated runs: per-test histories, flaky vs broken vs stable, and the files.

=============  ====================================================================================
unit           cases
=============  ====================================================================================
aggregate      one history per test across runs; messages kept for non-passing outcomes only
kind           stable (always pass, or a steady skip); flaky (pass + fail/error); broken (never passes)
ok             false with any flaky/broken test, a run without summary or exiting non-zero, or leftovers
aggregate      a test listed under several clauses: its worst status in a run is its outcome
write          stability.json / stability.md content
=============  ====================================================================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swarmconf.clusters.usage import Peak
from swarmconf.contract import Level
from swarmconf.reports import stability, summary
from swarmconf.reports.stability import RunOutcome
from swarmconf.reports.verdicts import Selection, TestRecord, TestStatus, judge

S = TestStatus


def run(run_id: str, **statuses: TestStatus) -> RunOutcome:
    records = [
        TestRecord(f"t::{n}", ("ISO-1",) if n != "lif" else ("LIF-1",), s, message=f"{n} {s.value}")
        for n, s in statuses.items()
    ]
    data: dict[str, Any] = summary.as_dict(
        judge(records, Selection(collected={r.nodeid: r.clauses for r in records}), level=Level.BASELINE),
        run_id=run_id,
    )
    return RunOutcome(run_id, data, int(data["exit_code"]), 100.0)


def test_histories_and_kinds() -> None:
    stab = stability.aggregate(
        [
            run("r1", a=S.PASSED, b=S.PASSED, c=S.FAILED, d=S.NOT_ENFORCEABLE),
            run("r2", a=S.PASSED, b=S.INFRA, c=S.FAILED, d=S.NOT_ENFORCEABLE),
        ]
    )
    kinds = {t.nodeid: t.kind for t in stab.tests}
    assert kinds == {"t::a": "stable", "t::b": "flaky", "t::c": "broken", "t::d": "stable"}
    b = next(t for t in stab.tests if t.nodeid == "t::b")
    assert b.outcomes == {"r1": "passed", "r2": "error"}
    assert b.messages == {"r2": "b error"}
    assert not stab.ok


def test_a_failure_blamed_on_one_clause_is_the_tests_outcome_not_its_other_clauses_not_reached() -> None:
    """A test proving DEL-5 and RPR-3 failed on RPR-3: listed under DEL-5 first as not reached. The first entry
    won before, and a stability report called the test stable and the whole series ok (this session's run 5)."""
    records = [
        TestRecord("t::hook", ("DEL-5", "RPR-3"), S.FAILED, message="recreated", blamed=("RPR-3",)),
        TestRecord("t::other", ("DEL-5",), S.PASSED),
    ]
    selection = Selection(collected={r.nodeid: r.clauses for r in records})
    data: dict[str, Any] = summary.as_dict(judge(records, selection, level=Level.BASELINE), run_id="r2")
    by_clause = {c["id"]: c["tests"] for c in data["clauses"] if c["tests"]}
    assert [t["status"] for t in by_clause["DEL-5"] if t["nodeid"] == "t::hook"] == ["not-reached"]  # the trap
    failed = RunOutcome("r2", data, int(data["exit_code"]), 100.0)
    green = run("r1", hook=S.PASSED)
    stab = stability.aggregate([green, failed])
    hook = next(t for t in stab.tests if t.nodeid == "t::hook")
    assert hook.outcomes == {"r1": "passed", "r2": "failed"} and hook.kind == "flaky"
    assert hook.messages["r2"] == "recreated"
    assert not stab.ok


def test_ok_needs_every_run_to_exit_0() -> None:
    """Even when every test it recorded passed: a run that exited 1 did not gate green."""
    green = _exited_0(run("r1", a=S.PASSED))
    assert stability.aggregate([green]).ok
    assert green.summary is not None
    assert not stability.aggregate([RunOutcome("r1", {**green.summary, "exit_code": 1}, 1, 1.0)]).ok
    assert not stability.aggregate([run("r1", a=S.PASSED)]).ok  # exit 6: the run judged one clause of many


def _exited_0(outcome: RunOutcome) -> RunOutcome:
    """``outcome`` as a whole-suite run that gated green (``run`` judges one clause of many: exit 6, partial)."""
    assert outcome.summary is not None
    return RunOutcome(outcome.run_id, {**outcome.summary, "exit_code": 0}, 0, outcome.seconds)


def test_ok_needs_every_summary_and_no_leftovers() -> None:
    green = _exited_0(run("r1", a=S.PASSED))
    assert stability.aggregate([green]).ok
    assert not stability.aggregate([green, RunOutcome("r2", None, 3, 5.0)]).ok
    assert not stability.aggregate([RunOutcome("r1", green.summary, 0, 1.0, ("Pod/x",))]).ok
    assert not stability.aggregate([]).ok
    assert not stability.aggregate([RunOutcome("r1", green.summary, 1, 1.0)]).ok  # exit code ≠ the summary's


def test_files(tmp_path: Path) -> None:
    stab = stability.aggregate([run("r1", a=S.PASSED, b=S.FAILED), run("r2", a=S.PASSED, b=S.PASSED)])
    stability.write(stab, tmp_path)
    data = json.loads((tmp_path / "stability.json").read_text())
    assert data["ok"] is False
    assert {t["nodeid"]: t["counts"] for t in data["tests"]} == {
        "t::a": {"passed": 2},
        "t::b": {"passed": 1, "failed": 1},
    }
    md = (tmp_path / "stability.md").read_text()
    assert "| `t::b` | ISO-1 | flaky | 1 | 1 | 0 |" in md
    assert "- `r1` failed: b failed" in md


def test_time_per_area_sums_each_areas_tests_per_run() -> None:
    def timed(run_id: str, **seconds: float) -> RunOutcome:
        records = [
            TestRecord(f"suites/test_{n.split('_')[0]}.py::{n}", ("ISO-1",), S.PASSED, duration=v)
            for n, v in seconds.items()
        ]
        data = summary.as_dict(
            judge(records, Selection(collected={r.nodeid: r.clauses for r in records}), level=Level.BASELINE),
            run_id=run_id,
        )
        return RunOutcome(run_id, data, int(data["exit_code"]), 100.0)

    stab = stability.aggregate(
        [
            timed("r1", isolation_a=10.0, isolation_b=5.0, deletion_a=40.0),
            timed("r2", isolation_a=12.0, isolation_b=6.0, deletion_a=50.0),
            timed("r3", isolation_a=11.0, isolation_b=5.0, deletion_a=60.0),
        ]
    )
    areas = stability.area_times(stab)
    assert [(a.area, a.tests, a.seconds) for a in areas] == [
        ("deletion", 1, {"r1": 40.0, "r2": 50.0, "r3": 60.0}),
        ("isolation", 2, {"r1": 15.0, "r2": 18.0, "r3": 16.0}),
    ]
    assert [a.median for a in areas] == [50.0, 16.0]
    text = stability.markdown(stab)
    assert "| deletion | 1 | 50 | 40 | 60 |" in text and "| isolation | 2 | 16 | 15 | 18 |" in text
    assert stability.as_dict(stab)["areas"][0] == {
        "area": "deletion",
        "tests": 1,
        "median_seconds": 50.0,
        "seconds": areas[0].seconds,
    }


def _timed(run_id: str, wall: float, **seconds: float) -> RunOutcome:
    records = [TestRecord(f"suites/test_x.py::{n}", ("ISO-1",), S.PASSED, duration=v) for n, v in seconds.items()]
    data = summary.as_dict(
        judge(records, Selection(collected={r.nodeid: r.clauses for r in records}), level=Level.BASELINE),
        run_id=run_id,
    )
    return RunOutcome(run_id, data, int(data["exit_code"]), wall)


def test_wall_times_count_only_runs_that_wrote_a_summary() -> None:
    stab = stability.aggregate(
        [_timed("r1", 200.0, a=1.0), _timed("r2", 240.0, a=1.0), RunOutcome("r3", None, 130, 19.0)]
    )
    assert stability.wall_summary(stab) == {"median": 220.0, "min": 200.0, "max": 240.0, "runs": 2}
    assert "- wall time: median **220 s** (lowest 200 s, highest 240 s) over 2 runs" in stability.markdown(stab)
    assert stability.wall_summary(stability.aggregate([RunOutcome("r1", None, 3, 5.0)])) is None


def test_the_ten_slowest_tests_by_their_median() -> None:
    tests = {f"t{i:02d}": float(i) for i in range(12)}
    runs = [_timed("r1", 100.0, **tests), _timed("r2", 100.0, **{**tests, "t00": 99.0}), _timed("r3", 100.0, **tests)]
    stab = stability.aggregate(runs)
    slow = stability.slowest(stab)
    # t00 was slow once: its median (0 s) keeps it out; one slow run does not make a slow test.
    assert [t.nodeid.split("::")[1] for t in slow] == [f"t{i:02d}" for i in range(11, 1, -1)]
    data = stability.as_dict(stab)
    assert data["slowest_tests"][0] == {"nodeid": "suites/test_x.py::t11", "median_seconds": 11.0}
    assert "| `suites/test_x.py::t11` | 11 | 11 | 11 |" in stability.markdown(stab)


def test_slowest_by_median_ranks_by_median_and_breaks_ties_by_name() -> None:
    seconds = {"b": [5.0, 5.0, 50.0], "a": [5.0, 6.0, 4.0], "c": [9.0, 1.0], "never": []}
    # Medians all 5 s (b's one slow run does not count; "never" ran in no run): ties go by name.
    assert stability.slowest_by_median(seconds) == [("a", 5.0), ("b", 5.0), ("c", 5.0)]
    assert stability.slowest_by_median({"x": [1.0], "y": [3.0], "z": [2.0]}, n=2) == [("y", 3.0), ("z", 2.0)]


def test_the_clusters_peak_is_reported_or_said_to_be_missing() -> None:
    runs = [_timed("r1", 100.0, a=1.0)]
    assert "- cluster peak: not measured (not a kind cluster)" in stability.markdown(stability.aggregate(runs))
    assert stability.as_dict(stability.aggregate(runs))["cluster_peak"] is None
    stab = stability.aggregate(runs, Peak(190.4, 2.5 * 2**30, 40))
    assert (
        "- cluster peak: CPU 190 % (100 % = one core; from docker stats), memory 2.50 GiB (40 samples)"
        in stability.markdown(stab)
    )
    assert stability.as_dict(stab)["cluster_peak"] == {
        "cpu_percent": 190.4,
        "cpu_from": "docker stats",
        "memory_bytes": 2684354560,
        "samples": 40,
    }
