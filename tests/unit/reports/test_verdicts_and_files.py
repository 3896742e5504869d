"""Pure parts of the reports: verdict precedence, run folders and history seeding, manifest flattening,
the Allure CLI pin check and the ``swarmconf run`` command line. No pytest-in-pytest here.

=================================  =========================================================================
unit                               cases
=================================  =========================================================================
judge                              worst outcome wins; not-reached tests; unlabelled failures gate; only a
                                   complete run opens the gate (else PARTIAL); a lost report's clauses come
                                   from the collected marker; a teardown breach after a clean body
rundir / allure_html.seed_history  previous run with history; none; re-seeding is idempotent
manifest.flatten                   nested dicts, lists, None dropped
toolchain.allure_cli               wrong version is not accepted
cli.run.pytest_command             suites appended unless a path is given; options forwarded
=================================  =========================================================================
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from swarmconf.cli import run as run_cli
from swarmconf.cli.run import DISTRIBUTION, SUITES, pytest_command
from swarmconf.contract import CLAUSES, Level
from swarmconf.reports import allure_html, manifest, rundir, toolchain
from swarmconf.reports.exitcodes import ExitCode
from swarmconf.reports.verdicts import Selection, TestRecord, TestStatus, Verdict, headline, judge

S = TestStatus


def _judge(*records: TestRecord, level: Level = Level.BASELINE, **selection):
    sel = Selection(collected={r.nodeid: r.clauses for r in records}, narrowed=True, **selection)
    return judge(records, sel, level=level)


def _verdict(outcome, clause_id):
    return next(cv for cv in outcome.clauses if cv.clause.id == clause_id)


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ((S.PASSED, S.FAILED, S.INFRA), Verdict.FAIL),
        ((S.PASSED, S.INFRA, S.NOT_ENFORCEABLE), Verdict.ERROR),
        ((S.PASSED, S.NOT_ENFORCEABLE, S.SKIPPED), Verdict.NOT_ENFORCEABLE),
        ((S.PASSED, S.SKIPPED), Verdict.NOT_RUN),
        ((S.PASSED, S.PASSED), Verdict.PASS),
    ],
)
def test_the_worst_outcome_decides_the_clause(statuses, verdict):
    records = [TestRecord(f"t{i}", ("ISO-4",), s) for i, s in enumerate(statuses)]
    assert _verdict(_judge(*records), "ISO-4").verdict is verdict


def test_collected_but_not_reached_is_not_run_and_blocks():
    sel = Selection(collected={"t1": ("ISO-4",), "t2": ("ISO-4",)}, narrowed=True)
    outcome = judge([TestRecord("t1", ("ISO-4",), S.PASSED)], sel)
    iso4 = _verdict(outcome, "ISO-4")
    assert (iso4.verdict, iso4.reason, iso4.blocks) == (Verdict.NOT_RUN, "not reached", True)
    assert outcome.exit_code is ExitCode.INCOMPLETE


def test_unlabelled_failures_still_gate():
    assert _judge(TestRecord("t", (), S.FAILED)).exit_code is ExitCode.CONTRACT_FAILED
    assert _judge(TestRecord("t", (), S.INFRA)).exit_code is ExitCode.INFRA_ERROR
    assert _judge(TestRecord("t", (), S.PASSED)).exit_code is ExitCode.PARTIAL


def _every_clause_passes() -> list[TestRecord]:
    return [TestRecord(f"t{cid}", (cid,), S.PASSED) for cid in CLAUSES]


def test_only_a_complete_run_opens_the_gate():
    records = _every_clause_passes()
    complete = judge(records, Selection(collected={r.nodeid: r.clauses for r in records}))
    assert complete.exit_code is ExitCode.GATE_PASSED and headline(complete).startswith("PASSED")
    partial = judge(records, Selection(collected={r.nodeid: r.clauses for r in records}, narrowed=True))
    assert partial.exit_code is ExitCode.PARTIAL
    assert headline(partial) == "PARTIAL: 25 of 25 gating clauses judged, not a release verdict (none failed)"
    deselected = Selection(collected={r.nodeid: r.clauses for r in records}, deselected_clauses=frozenset({"DEL-4"}))
    outcome = judge(records, deselected)
    assert outcome.exit_code is ExitCode.PARTIAL, "a --deselect or --clause run is partial without -k or paths"
    assert _verdict(outcome, "DEL-4").verdict is Verdict.NOT_RUN, "one of DEL-4's tests was deselected"


def test_a_report_that_lost_its_clauses_still_counts_against_the_declared_ones():
    """An xdist worker's crash report carries no user properties: the collected marker decides."""
    sel = Selection(collected={"t1": ("ISO-4",), "t2": ("ISO-4", "ISO-5")}, narrowed=True)
    outcome = judge([TestRecord("t1", ("ISO-4",), S.PASSED), TestRecord("t2", (), S.INFRA, phase="???")], sel)
    assert _verdict(outcome, "ISO-4").verdict is Verdict.ERROR
    assert _verdict(outcome, "ISO-5").verdict is Verdict.ERROR
    assert outcome.unlabelled == []


def test_a_teardown_breach_after_a_passing_body_passes_the_other_clauses():
    record = TestRecord("t", ("MSG-1", "DEL-3"), S.FAILED, phase="teardown", blamed=("DEL-3",))
    assert record.for_clause("MSG-1").status is S.PASSED
    assert record.for_clause("DEL-3").status is S.FAILED
    in_body = TestRecord("t", ("MSG-1", "DEL-3"), S.FAILED, phase="call", blamed=("DEL-3",), checked=("MSG-1",))
    assert in_body.for_clause("MSG-1").status is S.NOT_REACHED, "a finished check is not the whole test"


def _run_with_history(root: Path, run_id: str, lines: int) -> rundir.RunDir:
    run = rundir.RunDir(root, run_id).create()
    run.allure_history.write_text("".join(json.dumps({"n": i}) + "\n" for i in range(lines)))
    return run


def test_history_is_seeded_from_the_newest_earlier_run(tmp_path):
    _run_with_history(tmp_path, "20260101-000000-aaaa", 1)
    _run_with_history(tmp_path, "20260102-000000-bbbb", 2)
    later = _run_with_history(tmp_path, "20260104-000000-dddd", 9)
    current = rundir.RunDir(tmp_path, "20260103-000000-cccc").create()
    rundir.point_latest(later)
    assert rundir.previous(current) == rundir.RunDir(tmp_path, "20260102-000000-bbbb")
    for _ in range(2):  # regenerating starts from the same seed again
        allure_html.seed_history(current)
        assert len(current.allure_history.read_text().splitlines()) == 2
    assert rundir.resolve(tmp_path) == later


def test_first_run_has_no_history(tmp_path):
    run = rundir.RunDir(tmp_path, "20260101-000000-aaaa").create()
    run.allure_history.write_text("stale\n")
    allure_html.seed_history(run)
    assert not run.allure_history.exists()
    with pytest.raises(FileNotFoundError, match="no run 'nope'"):
        rundir.resolve(tmp_path, "nope")


def test_manifest_flattens_for_property_tables():
    flat = manifest.flatten({"a": {"b": 1, "c": None}, "d": ["x", "y"], "e": "z"})
    assert flat == {"a.b": "1", "d": "x y", "e": "z"}


def test_allure_cli_at_another_version_is_not_accepted(tmp_path):
    package = tmp_path / "node_modules" / "allure"
    package.mkdir(parents=True)
    (package / "cli.js").write_text("")
    (package / "package.json").write_text(json.dumps({"version": "2.0.0"}))
    assert toolchain.allure_cli(tmp_path) is None
    (package / "package.json").write_text(json.dumps({"version": toolchain.ALLURE_VERSION}))
    assert toolchain.allure_cli(tmp_path) == package / "cli.js"


def _args(*extra: str, **kw) -> argparse.Namespace:
    base = {"profile": None, "cluster": None, "kubeconfig": None, "context": None, "level": None, "workers": 0}
    return argparse.Namespace(reports_dir=Path("/r"), pytest_args=list(extra), **(base | kw))


def test_run_command_line_targets_the_suites_and_forwards_options(tmp_path):
    cmd = pytest_command(_args(cluster="existing", context="staging", profile="my.yaml"), "rid")
    assert cmd[cmd.index("--reports-run-id") + 1] == "rid"
    assert cmd[-7:] == ["--profile", "my.yaml", "--cluster", "existing", "--context", "staging", str(SUITES)]
    test_file = tmp_path / "test_x.py"
    test_file.write_text("")
    narrowed = pytest_command(_args("--", str(test_file), "-k", "iso"), "rid")
    assert str(SUITES) not in narrowed and narrowed[-3:] == [str(test_file), "-k", "iso"]


@pytest.mark.parametrize(
    ("workers", "cpus", "extra", "expected"),
    [
        (None, 2, [], ["-n", "5", *DISTRIBUTION]),  # auto on 2 cores: the measured faster default
        (None, 8, [], ["-n", "5", *DISTRIBUTION]),  # more workers are not measured: auto stays at 5
        (None, 1, [], []),  # one core: serial
        (0, 2, [], []),
        (1, 2, [], []),  # one worker is serial with extra processes: run serially instead
        (3, 2, [], ["-n", "3", *DISTRIBUTION]),
        (None, 2, ["-n", "4"], []),  # pytest arguments that choose win (their own -n stays)
        (None, 2, ["-n4"], []),
        (None, 2, ["--numprocesses=3"], []),
        (None, 2, ["-p", "no:xdist"], []),
        (None, 2, ["--pdb"], []),  # pdb does not work under xdist
    ],
)
def test_workers_default_to_the_count_measured_fastest(workers, cpus, extra, expected, monkeypatch):
    monkeypatch.setattr(run_cli.os, "cpu_count", lambda: cpus)
    cmd = pytest_command(_args("--", *extra, workers=workers), "rid")
    assert cmd[cmd.index("rid") + 1 : cmd.index(str(SUITES))] == expected  # what swarmconf adds


def test_workers_option_rejects_what_is_not_a_count():
    assert run_cli.workers_option("auto") is None and run_cli.workers_option("0") == 0
    for bad in ("two", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            run_cli.workers_option(bad)


def test_the_allure_title_is_readable_and_leads_with_the_verdict():
    manifest = {"profile": {"name": "reference", "source": "/x/reference.yaml"}, "run_id": "r-1"}
    title = allure_html.report_name(manifest, verdict="PARTIAL: 3 of 25 gating clauses judged", exit_code=7)
    assert title == "PARTIAL (exit 7) — UserSwarm conformance of reference — run r-1"
    assert "source" not in allure_html.report_name({"profile": "mine.yaml", "run_id": "r"})


def test_swarmconf_run_prints_the_verdict_line_of_the_summary(tmp_path, capsys):
    run = rundir.RunDir(tmp_path, "r-1").create()
    line = "PARTIAL: 3 of 25 gating clauses judged, not a release verdict (none failed)"
    run.summary_json.write_text(json.dumps({"exit_code": 7, "exit_meaning": line, "level": "baseline"}))
    run_cli._print_where(run)
    assert f"verdict: {line} (exit code 7, level baseline)" in capsys.readouterr().out


def test_every_summary_says_where_the_time_went_slowest_first():
    from swarmconf.reports import summary

    records = [
        TestRecord("suites/test_deletion.py::test_a", ("DEL-1",), S.PASSED, duration=120.4),
        TestRecord("suites/test_deletion.py::test_b", ("DEL-2",), S.PASSED, duration=30.0),
        TestRecord("suites/test_isolation.py::test_c", ("ISO-1",), S.FAILED, duration=45.2),
    ]
    outcome = _judge(*records)
    data = summary.as_dict(outcome, run_id="r")["timings"]
    assert [t["nodeid"].rsplit("::", 1)[1] for t in data["tests"]] == ["test_a", "test_c", "test_b"]
    assert data["areas"] == {"deletion": 150.4, "isolation": 45.2}
    assert data["total_seconds"] == 195.6
    text = summary.markdown(outcome, run_id="r")
    assert "## Where the time went (196 s of test time" in text
    assert "| `suites/test_deletion.py::test_a` | 120 | passed |" in text
    assert text.index("Where the time went") > text.index("| clause |"), "the verdict comes first"
