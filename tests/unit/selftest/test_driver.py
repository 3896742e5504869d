"""The matrix driver with a fake runner, and the parts of the real runner that need no cluster.

==========================  ================================================================================
unit                        cases
==========================  ================================================================================
run_matrix                  baseline first, selecting every clause the defects select; one row per defect;
                            --defect passed only for defect rows; rows judged from the runs' summaries
always switched off         before the matrix, after every run, after a run that raised (the matrix is then
                            aborted, what ran is kept), after Ctrl-C (the rest not run, reported);
                            leftovers removed after each run and reported
busy cluster                waits for other live runs; refuses when they stay (row inconclusive, not run);
                            goes ahead with --ignore-other-runs and says so
inner run IDs               valid run IDs, unique last six characters (the tenants' user-ID prefix)
expectations                every reference defect, with the documented couplings; unknown defect refused
PytestRunner.command        existing cluster, kept, clauses, defect, reports folder, extra args
runner.stop                 a child gets one SIGINT and finishes its teardown
lanes                       rows side by side, exclusive rows alone on lane 0 after the others; baseline
                            shards; Ctrl-C stops every lane's child; exclusive clauses read from the suites
own install / rejudge       renamed namespaces, rest unchanged; a finished folder judged again from disk
==========================  ================================================================================
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmconf.contract import Level
from swarmconf.fixtures.options import RUN_ID_PATTERN
from swarmconf.fixtures.profiles import load_profile
from swarmconf.reference.common.defects import Defect
from swarmconf.reports import summary
from swarmconf.reports.matrix import BASELINE, Expectation, RowVerdict
from swarmconf.reports.verdicts import Selection, TestRecord, TestStatus, judge
from swarmconf.selftest import leftovers
from swarmconf.selftest.driver import Plan, Steps, run_matrix
from swarmconf.selftest.expectations import NoDefects, expectations
from swarmconf.selftest.runner import InnerRun, Interrupted, PytestRunner, RunResult, Target, interruptible, stop

#: The fake suite: node ID → clauses it names.
SUITE = {
    "t::iso1": ("ISO-1",),
    "t::rpr1": ("RPR-1", "DEL-5"),
    "t::msg2": ("MSG-2",),
    "t::msg4": ("MSG-4",),
}


class FakeRunner:
    """Plays an inner run: the tests of the selected clauses run; a test fails when ``breaks`` says so."""

    def __init__(self, events: list[str], *, breaks: dict[str, set[str]], raise_on: dict[str, BaseException]):
        self.events, self.breaks, self.raise_on = events, breaks, raise_on
        self.runs: list[InnerRun] = []

    def __call__(self, run: InnerRun) -> RunResult:
        self.runs.append(run)
        self.events.append(f"run {run.defect}")
        if run.defect in self.raise_on:
            raise self.raise_on[run.defect]
        broken = self.breaks.get(run.defect or "", set())
        selected = {n: c for n, c in SUITE.items() if set(c) & set(run.clauses)}
        records = [
            TestRecord(n, c, TestStatus.FAILED, message=f"AssertionError: {n} broke")
            if n in broken
            else TestRecord(n, c, TestStatus.PASSED)
            for n, c in selected.items()
        ]
        outcome = judge(records, Selection(collected=selected, narrowed=True), level=Level.BASELINE)
        return RunResult(run, int(outcome.exit_code), summary.as_dict(outcome, run_id=run.run_id), 10.0)


EXPS = [
    Expectation("iso1", frozenset({"ISO-1"})),
    Expectation("rpr1", frozenset({"RPR-1"})),
    Expectation("msg2", frozenset({"MSG-2", "MSG-4"})),
]
#: How the fake platform behaves with each defect on: which tests then fail.
CORRECT_HARNESS = {"iso1": {"t::iso1"}, "rpr1": {"t::rpr1"}, "msg2": {"t::msg2", "t::msg4"}}


def make(
    tmp_path: Path,
    *,
    breaks: dict[str, set[str]] = CORRECT_HARNESS,
    raise_on: dict[str, BaseException] | None = None,
    others: list[set[str]] | None = None,
    **plan: Any,
) -> tuple[Plan, Steps, FakeRunner, list[str]]:
    events: list[str] = []
    runner = FakeRunner(events, breaks=breaks, raise_on=raise_on or {})
    live = list(others or [])

    def other_runs(mine: set[str]) -> set[str]:
        return live.pop(0) if live else set()

    def clean(run_id: str) -> list[str]:
        events.append("clean")
        return ["PersistentVolumeClaim/data-x"] if run_id.endswith(runner.runs[-1].run_id[-6:]) else []

    steps = Steps(
        runner=runner,
        switch_off=lambda: events.append("off"),
        clean=clean,
        other_runs=other_runs,
        log=lambda m: None,
    )
    opts = {"allow_co_named": True, "wait_idle": 0.0, "idle_poll": 0.01, **plan}
    return Plan("20261128-120000-ab12", tmp_path, EXPS, **opts), steps, runner, events


def test_baseline_first_then_each_defect_all_caught(tmp_path: Path) -> None:
    plan, steps, runner, events = make(tmp_path)
    matrix = run_matrix(plan, steps)
    assert [r.defect for r in matrix.rows] == [BASELINE, "iso1", "rpr1", "msg2"]
    assert [r.verdict for r in matrix.rows] == [RowVerdict.PASSED] + [RowVerdict.CAUGHT] * 3
    assert matrix.ok
    assert runner.runs[0].defect is None
    assert runner.runs[0].clauses == ("ISO-1", "MSG-2", "MSG-4", "RPR-1")
    assert [(r.defect, r.clauses) for r in runner.runs[1:]] == [
        ("iso1", ("ISO-1",)),
        ("rpr1", ("RPR-1",)),
        ("msg2", ("MSG-2", "MSG-4")),
    ]
    assert events == ["off"] + ["run None", "off", "clean"] + [
        e for d in ("iso1", "rpr1", "msg2") for e in (f"run {d}", "off", "clean")
    ]


def test_a_defect_the_harness_does_not_see_is_missed(tmp_path: Path) -> None:
    plan, steps, _, _ = make(tmp_path, breaks={**CORRECT_HARNESS, "msg2": {"t::msg2"}})
    matrix = run_matrix(plan, steps)
    assert {r.defect: r.verdict for r in matrix.rows}["msg2"] is RowVerdict.MISSED
    assert not matrix.ok


def test_co_named_failures_fail_the_matrix_when_not_allowed(tmp_path: Path) -> None:
    plan, steps, _, _ = make(tmp_path, allow_co_named=False)
    rows = {r.defect: r for r in run_matrix(plan, steps).rows}
    assert rows["rpr1"].verdict is RowVerdict.COLLATERAL
    assert rows["iso1"].verdict is RowVerdict.CAUGHT


def test_switched_off_and_cleaned_after_a_run_that_raised(tmp_path: Path) -> None:
    plan, steps, _, events = make(tmp_path, raise_on={"rpr1": RuntimeError("child could not start")})
    matrix = run_matrix(plan, steps)
    assert events[-3:] == ["run rpr1", "off", "clean"]
    assert matrix.meta["aborted"] == "RuntimeError: child could not start"
    assert matrix.meta["not_run"] == ["rpr1", "msg2"]
    assert [r.defect for r in matrix.rows] == [BASELINE, "iso1"] and not matrix.ok


def test_ctrl_c_switches_off_judges_what_ran_and_reports_the_rest(tmp_path: Path) -> None:
    plan, steps, runner, events = make(tmp_path)
    partial = RunResult(InnerRun("x", ("RPR-1",), "rpr1", tmp_path), 2, None, 3.0, interrupted=True)
    runner.raise_on = {"rpr1": Interrupted(partial)}
    matrix = run_matrix(plan, steps)
    assert [r.defect for r in matrix.rows] == [BASELINE, "iso1", "rpr1"]
    assert matrix.rows[-1].verdict is RowVerdict.INCONCLUSIVE
    assert any("interrupted" in n for n in matrix.rows[-1].notes)
    assert matrix.meta["interrupted"] is True and matrix.meta["not_run"] == ["msg2"]
    assert events[-3:] == ["run rpr1", "off", "clean"]
    assert not matrix.ok


def test_leftovers_are_reported_in_the_row(tmp_path: Path) -> None:
    plan, steps, _, _ = make(tmp_path)
    row = run_matrix(plan, steps).rows[1]
    assert any("removed 1 leftover object(s)" in n and "data-x" in n for n in row.notes)


def test_waits_for_other_runs_then_refuses_when_they_stay(tmp_path: Path) -> None:
    busy = {"someone-else"}
    plan, steps, runner, _ = make(tmp_path, others=[busy] * 1000, wait_idle=0.2, baseline=False)
    matrix = run_matrix(plan, steps)
    assert runner.runs == []
    assert all(r.verdict is RowVerdict.INCONCLUSIVE for r in matrix.rows)
    assert "not run: other harness runs stayed live" in matrix.rows[0].notes[0]


def test_waits_until_other_runs_end(tmp_path: Path) -> None:
    plan, steps, runner, _ = make(tmp_path, others=[{"a"}, {"a"}, set()], wait_idle=30, baseline=False)
    plan = Plan(plan.matrix_id, plan.runs_dir, EXPS[:1], baseline=False, wait_idle=30, idle_poll=0.01)
    steps.other_runs = _sequence([{"a"}, set()])
    matrix = run_matrix(plan, steps)
    assert len(runner.runs) == 1 and matrix.ok


def _sequence(values: list[set[str]]) -> Any:
    def other_runs(mine: set[str]) -> set[str]:
        return values.pop(0) if values else set()

    return other_runs


def test_ignore_other_runs_goes_ahead_and_says_so(tmp_path: Path) -> None:
    plan, steps, runner, _ = make(tmp_path, others=[{"b"}] * 100, ignore_other_runs=True, baseline=False, wait_idle=60)
    started = time.monotonic()
    matrix = run_matrix(plan, steps)
    assert time.monotonic() - started < 10, "it waited for the other runs"
    assert len(runner.runs) == 3
    assert any("other harness runs were live" in n for n in matrix.rows[0].info)


def test_inner_run_ids_are_valid_and_end_uniquely(tmp_path: Path) -> None:
    plan, _, _, _ = make(tmp_path)
    ids = [plan.inner_id(i) for i in range(40)]
    assert all(RUN_ID_PATTERN.match(i) for i in ids)
    assert len({leftovers.user_prefix(i) for i in ids}) == len(ids)


def test_reference_expectations_cover_every_defect_with_couplings() -> None:
    exps = {e.defect: e for e in expectations(load_profile("reference"))}
    assert set(exps) == {d.value for d in Defect}
    assert exps["msg4-first-conversation"].selection == ("MSG-4",)  # MSG-4 on its own, no coupling
    assert exps["msg4-shared-model-gateway"].selection == ("MSG-4",)
    assert exps["msg2-route-by-user"].selection == ("MSG-2", "MSG-4")
    assert exps["iso1-nodeport-service"].may_break == {"ISO-2"}
    assert exps["rpr5-abort-on-first-error"].selection == ("RPR-5",)
    assert exps["iso7-automount-token"].selection == ("ISO-7",)
    assert exps["iso6-open-ingress"].selection == ("ISO-6",)
    assert exps["del4-reaper-only-orchestrator-swarms"].keyword == "test_reaper_removes_a_userswarm_without_owner"
    assert exps["del3-finalize-orphans-pvc"].keyword == "test_finalize_after_a_partial_teardown_completes_it"
    only = expectations(load_profile("reference"), only=["lif2-no-self-heal"])
    assert [e.defect for e in only] == ["lif2-no-self-heal"]
    with pytest.raises(NoDefects, match="unknown defect"):
        expectations(load_profile("reference"), only=["no-such-defect"])


def test_pytest_command_points_at_the_existing_cluster(tmp_path: Path) -> None:
    runner = PytestRunner(Target(kubeconfig=Path("/k/config"), context="ctx", pytest_args=("-x",)), python="py")
    run = InnerRun("m-01abcd", ("MSG-2", "MSG-4"), "msg2-route-by-user", tmp_path)
    cmd = " ".join(runner.command(run))
    assert re.search(r"^py -m pytest \S+/suites ", cmd)
    for part in (
        "--cluster existing",
        "--kubeconfig /k/config",
        "--context ctx",
        "--keep-cluster",
        "--run-id m-01abcd",
        f"--reports --reports-dir {tmp_path}",
        "--clause MSG-2 --clause MSG-4",
        "--defect msg2-route-by-user",
    ):
        assert part in cmd
    assert cmd.endswith(" -x")
    assert "--defect" not in " ".join(runner.command(InnerRun("b", ("ISO-1",), None, tmp_path)))
    assert " -k " not in cmd
    narrowed = runner.command(InnerRun("c", ("DEL-5",), "del5-x", tmp_path, keyword="test_one"))
    assert narrowed[narrowed.index("-k") + 1] == "test_one"


def test_the_costly_rows_are_narrowed_to_the_test_that_sees_their_defect() -> None:
    exps = {e.defect: e for e in expectations(load_profile("reference"))}
    assert exps["del5-teardown-deletes-all-configmaps"].keyword == "test_deletion_runs_its_four_steps_in_order"
    assert exps["lif2-no-self-heal"].keyword == ""


def test_stop_gives_the_child_one_sigint_to_tear_down(tmp_path: Path) -> None:
    marker = tmp_path / "torn-down"
    script = (
        "import sys, time, pathlib\n"
        "try:\n    print('ready', flush=True)\n    time.sleep(60)\n"
        f"except KeyboardInterrupt:\n    pathlib.Path({str(marker)!r}).write_text('yes')\n    sys.exit(2)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True, preexec_fn=interruptible
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    stop(proc, grace=30)
    proc.stdout.close()
    assert proc.returncode == 2
    assert marker.read_text() == "yes"


def test_own_install_renames_the_namespaces_and_keeps_the_rest(tmp_path: Path) -> None:
    from swarmconf.fixtures.private_install import derive

    original = load_profile("reference")
    derived = load_profile(derive("reference", suffix="st1234", folder=tmp_path))
    assert (derived.platform_namespace, derived.runtime_namespace) == ("swarm-system-st1234", "userswarms-st1234")
    assert derived.components.orchestrator.namespace == "swarm-system-st1234"
    assert derived.crd == original.crd and derived.routes == original.routes
    assert derived.defects == original.defects


# --- lanes ---------------------------------------------------------------------------------------------------


class LaneRunner(FakeRunner):
    """A fake runner that also records how many runs were in flight when each started, across lanes."""

    active = 0
    lock = threading.Lock()

    def __init__(self, events: list[str], lane: str, seen: list[tuple[str, str | None, int]], **kw: Any):
        breaks = {**CORRECT_HARNESS, "iso1b": {"t::iso1"}, "msg2b": {"t::msg2"}}
        super().__init__(events, breaks=breaks, raise_on={}, **kw)
        self.lane, self.seen, self.interrupted = lane, seen, False

    def __call__(self, run: InnerRun) -> RunResult:
        with LaneRunner.lock:
            LaneRunner.active += 1
            self.seen.append((self.lane, run.defect, LaneRunner.active))
        try:
            time.sleep(0.05)  # long enough for the other lane to start a row meanwhile
            return super().__call__(run)
        finally:
            with LaneRunner.lock:
                LaneRunner.active -= 1

    def interrupt(self) -> None:
        self.interrupted = True


def lanes(n: int, events: list[str], seen: list[tuple[str, str | None, int]]) -> list[Steps]:
    return [
        Steps(
            runner=LaneRunner(events, f"lane {i}", seen),
            switch_off=lambda i=i: events.append(f"off {i}"),
            clean=lambda run_id: [],
            other_runs=lambda mine: set(),
            log=lambda m: None,
            name=f"lane {i}",
        )
        for i in range(n)
    ]


def test_lanes_run_every_row_side_by_side(tmp_path: Path) -> None:
    """Rows that take Metacontroller down run in lanes too: the lock the lanes' runs share keeps those blocks
    apart (``--run-lock``), not the driver."""
    events: list[str] = []
    seen: list[tuple[str, str | None, int]] = []
    exps = [*EXPS, Expectation("iso1b", frozenset({"ISO-1"})), Expectation("msg2b", frozenset({"MSG-2"}))]
    plan = Plan("m", tmp_path, exps, allow_co_named=True, wait_idle=0, baseline_shards=2)
    matrix = run_matrix(plan, lanes(2, events, seen))
    names = ["(none) 1/2", "(none) 2/2", "iso1", "rpr1", "msg2", "iso1b", "msg2b"]
    assert [r.defect for r in matrix.rows] == names
    assert matrix.ok and matrix.meta["lanes"] == 2
    assert sorted(d or "" for _, d, _ in seen) == sorted(["", "", "iso1", "rpr1", "msg2", "iso1b", "msg2b"])
    assert max(active for _, _, active in seen) == 2, "no two rows ever ran at once"
    assert {lane for lane, _, _ in seen} == {"lane 0", "lane 1"}


def test_baseline_is_sharded_over_lanes(tmp_path: Path) -> None:
    plan = Plan("m", tmp_path, EXPS, baseline_shards=2)
    shards = plan.baseline_rows()
    assert [(e.defect, e.selection) for e in shards] == [
        ("(none) 1/2", ("ISO-1", "MSG-4")),
        ("(none) 2/2", ("MSG-2", "RPR-1")),
    ]


def test_rows_start_longest_first_by_an_earlier_run_of_the_suite() -> None:
    from swarmconf.selftest.driver import longest_first

    earlier = {
        "clauses": [
            {"id": "ISO-1", "tests": [{"nodeid": "s/test_i.py::test_iso1", "duration": 10.0}]},
            {
                "id": "DEL-5",
                "tests": [
                    {"nodeid": "s/test_d.py::test_one", "duration": 100.0},
                    {"nodeid": "s/test_d.py::test_two", "duration": 300.0},
                ],
            },
            {"id": "DEL-6", "tests": [{"nodeid": "s/test_d.py::test_two", "duration": 300.0}]},
        ]
    }
    rows = [
        Expectation("iso1", frozenset({"ISO-1"})),
        Expectation("del5-narrowed", frozenset({"DEL-5"}), keyword="test_one"),
        Expectation("del56", frozenset({"DEL-5", "DEL-6"})),  # test_two counted once: 400 s
        Expectation("unknown", frozenset({"LIF-1"})),
    ]
    assert longest_first(rows, earlier) == [2, 1, 0, 3]
    assert longest_first(rows, None) == [0, 1, 2, 3], "nothing known: plan order"


def test_lanes_runs_share_one_lock(tmp_path: Path) -> None:
    lock = tmp_path / "m.lock"
    runner = PytestRunner(Target(kubeconfig=Path("/k/config"), run_lock=lock), python="py")
    cmd = runner.command(InnerRun("m-01abcd", ("RPR-2",), "rpr2-x", tmp_path))
    assert cmd[cmd.index("--run-lock") + 1] == str(lock)
    alone = PytestRunner(Target(kubeconfig=Path("/k/config")), python="py")
    assert "--run-lock" not in alone.command(InnerRun("m-01abcd", ("RPR-2",), None, tmp_path))


class CtrlC(LaneRunner):
    """Presses Ctrl-C (a real SIGINT to this process) while its ``iso1`` row runs."""

    def __call__(self, run: InnerRun) -> RunResult:
        if run.defect == "iso1":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)
        return super().__call__(run)


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here even when pytest was started with SIGINT ignored (a CI job)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_with_lanes_stops_every_child_and_switches_each_lane_off(tmp_path: Path) -> None:
    events: list[str] = []
    seen: list[tuple[str, str | None, int]] = []
    steps = lanes(2, events, seen)
    steps[0].runner = CtrlC(events, "lane 0", seen)
    exps = [*EXPS, *(Expectation(f"x{i}", frozenset({"ISO-1"})) for i in range(6))]
    plan = Plan("m", tmp_path, exps, allow_co_named=True, wait_idle=0, baseline=False)
    matrix = run_matrix(plan, steps)
    assert matrix.meta["interrupted"] is True
    assert matrix.meta["not_run"], "queued rows are not started after Ctrl-C"
    assert all(isinstance(s.runner, LaneRunner) and s.runner.interrupted for s in steps)
    started = sum(1 for e in events if e.startswith("run "))
    assert events.count("off 0") + events.count("off 1") == 2 + started, "every started row switched off"


def test_every_test_that_takes_down_metacontroller_is_marked_cluster_wide() -> None:
    """On private installs only the ``cluster_wide`` marker keeps such a test from running beside others."""
    from swarmconf.selftest.exclusive import unmarked_shared_fault_tests
    from swarmconf.selftest.runner import SUITES

    assert unmarked_shared_fault_tests(SUITES) == []


def test_the_suites_take_metacontroller_down_only_through_the_locking_fixture() -> None:
    """``faults.metacontroller_down`` called directly would hold Metacontroller down beside other tests."""
    from swarmconf.selftest.exclusive import direct_shared_fault_calls
    from swarmconf.selftest.runner import SUITES

    assert direct_shared_fault_calls(SUITES) == []


def test_the_direct_call_scan_finds_a_call_through_the_package(tmp_path: Path) -> None:
    from swarmconf.selftest.exclusive import direct_shared_fault_calls

    (tmp_path / "test_x.py").write_text(
        "@pytest.mark.cluster_wide\ndef test_a(metacontroller_down):\n    with metacontroller_down():\n        pass\n\n"
        "@pytest.mark.cluster_wide\ndef test_b(kube):\n    with faults.metacontroller_down(kube, x):\n        pass\n"
    )
    assert direct_shared_fault_calls(tmp_path) == ["test_x.py::test_b"]


def test_the_cluster_wide_scan_finds_an_unmarked_test(tmp_path: Path) -> None:
    from swarmconf.selftest.exclusive import unmarked_shared_fault_tests

    (tmp_path / "test_x.py").write_text(
        "@pytest.mark.cluster_wide\ndef test_a(kube):\n    faults.metacontroller_down(kube, x)\n\n"
        "@pytest.mark.alone\ndef test_b(kube):\n    with faults.metacontroller_down(kube, x):\n        pass\n"
    )
    assert unmarked_shared_fault_tests(tmp_path) == ["test_x.py::test_b"]


def test_rejudge_reads_a_finished_folder_and_rewrites_the_matrix(tmp_path: Path) -> None:
    from swarmconf.cli import main
    from swarmconf.reports import matrix_report

    plan, steps, runner, _ = make(tmp_path / "runs")
    matrix = run_matrix(plan, steps)
    for run in runner.runs:  # the fake runner keeps summaries in memory; a real run leaves them on disk
        result = FakeRunner([], breaks=CORRECT_HARNESS, raise_on={})(run)
        (run.folder).mkdir(parents=True)
        (run.folder / "summary.json").write_text(json.dumps(result.summary))
    matrix_report.write(matrix, tmp_path)
    code = main(["selftest", "--rejudge", str(tmp_path), "--no-html"])
    data = json.loads((tmp_path / "matrix.json").read_text())
    assert code == 0 and data["ok"] and "rejudged" in data["meta"]
    assert [r["verdict"] for r in data["rows"]] == ["passed", "caught", "caught", "caught"]
    assert list((tmp_path / "allure-results").glob("*-result.json"))


def test_a_lane_that_fails_aborts_the_matrix_without_calling_it_an_interrupt(tmp_path: Path) -> None:
    events: list[str] = []
    seen: list[tuple[str, str | None, int]] = []
    steps = lanes(2, events, seen)
    calls = {"n": 0}

    def gone() -> None:
        calls["n"] += 1
        if calls["n"] > 1:  # the first call is the matrix's own switch-off before it starts
            raise ConnectionRefusedError("the cluster went away")

    steps[1].switch_off = gone
    exps = [*EXPS, *(Expectation(f"x{i}", frozenset({"ISO-1"})) for i in range(6))]
    plan = Plan("m", tmp_path, exps, allow_co_named=True, wait_idle=0, baseline=False)
    matrix = run_matrix(plan, steps)
    assert matrix.meta["interrupted"] is False
    assert matrix.meta["aborted"] == "ConnectionRefusedError: the cluster went away"
    assert matrix.meta["not_run"] and not matrix.ok


def _write_run(folder: Path, records: list[TestRecord]) -> Path:
    collected = {r.nodeid: r.clauses for r in records}
    outcome = judge(records, Selection(collected=collected), level=Level.BASELINE)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary.as_dict(outcome, run_id=folder.name)))
    return folder


def test_baseline_judged_from_an_earlier_full_run_is_not_run_again(tmp_path: Path) -> None:
    earlier = _write_run(tmp_path / "conformance", [TestRecord(n, c, TestStatus.PASSED) for n, c in SUITE.items()])
    plan, steps, runner, _ = make(tmp_path, baseline_from=earlier)
    matrix = run_matrix(plan, steps)
    assert [r.defect for r in runner.runs] == ["iso1", "rpr1", "msg2"], "no baseline run"
    base = matrix.rows[0]
    assert base.defect == BASELINE and base.verdict is RowVerdict.PASSED
    assert base.run_id == "conformance" and any("not run again" in i for i in base.info)
    assert matrix.ok


def test_a_red_or_partial_earlier_run_fails_the_baseline(tmp_path: Path) -> None:
    red = [TestRecord(n, c, TestStatus.FAILED if n == "t::msg4" else TestStatus.PASSED) for n, c in SUITE.items()]
    plan, steps, _, _ = make(tmp_path, baseline_from=_write_run(tmp_path / "red", red))
    assert run_matrix(plan, steps).rows[0].verdict is RowVerdict.COLLATERAL

    partial = [TestRecord(n, c, TestStatus.PASSED) for n, c in SUITE.items() if n != "t::iso1"]
    plan, steps, _, _ = make(tmp_path, baseline_from=_write_run(tmp_path / "partial", partial))
    row = run_matrix(plan, steps).rows[0]
    assert row.verdict is RowVerdict.INCONCLUSIVE and "ISO-1" in row.notes[0]

    plan, steps, _, _ = make(tmp_path, baseline_from=tmp_path / "nothing-here")
    assert run_matrix(plan, steps).rows[0].verdict is RowVerdict.INCONCLUSIVE
