"""Drive the defect matrix: baseline runs on the correct platform, then one run per defect, judged.

Each lane is one install of the platform with its own defect switch and its own :class:`Steps` (injected, so
the order and the guarantees are tested without a cluster). With one lane every row runs in turn. With more
(``swarmconf selftest --lanes N``, each lane a private install), every row runs in the next free lane. What
every install shares (Metacontroller) is kept apart by the lock the lanes' runs share (``--run-lock``, see
:mod:`swarmconf.fixtures.parallel`): only a test's block that takes it down waits for the other lanes' running
tests, not the whole row. The baseline is split into one shard per lane.

Guarantees, per row:

* before it, wait (bounded) until no other harness run is live on the cluster — a defect switch is
  install-wide, theirs could break ours and ours theirs — unless told to go ahead anyway (private installs);
* the defect is switched on by the inner run itself (``--defect``) and, whatever happens (failure, Ctrl-C,
  SIGTERM), switched off again by the driver right after, then the run's leftovers are removed;
* an interrupt stops the matrix: running children are told to stop (one SIGINT each, so they tear down), the
  rows so far are judged, the rest are listed as not run.
"""

from __future__ import annotations

import queue
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmconf.reports.matrix import (
    BASELINE,
    Expectation,
    Matrix,
    Row,
    RowVerdict,
    baseline_expectation,
    judge_row,
)
from swarmconf.selftest.runner import InnerRun, Interrupted, Runner, RunResult, read_summary
from swarmconf.waits import WaitTimeout, wait_for

Log = Callable[[str], None]


@dataclass
class Steps:
    """What the driver does to one lane's install; the real ones talk to the cluster, the tests' ones do not."""

    runner: Runner
    switch_off: Callable[[], None]
    """Switch every defect off and return once the platform uses none."""
    clean: Callable[[str], list[str]]
    """Remove what the run with this ID left behind; return what was removed."""
    other_runs: Callable[[set[str]], set[str]]
    """Live harness runs on the cluster other than these."""
    log: Log = print
    name: str = "lane 0"


@dataclass(frozen=True)
class Plan:
    """What to run: the expectations (defects), the baseline, the policy."""

    matrix_id: str
    runs_dir: Path
    expectations: Sequence[Expectation]
    baseline: bool = True
    allow_co_named: bool = False
    wait_idle: float = 600.0
    """How long to wait for other harness runs to end before each run (0: do not wait)."""
    ignore_other_runs: bool = False
    """Run even while other harness runs are live (right for private installs; else results may be wrong)."""
    idle_poll: float = 5.0
    """How often to look for other live runs while waiting."""
    baseline_shards: int = 1
    """Into how many runs the baseline's non-exclusive clauses are split (one per lane is a good choice)."""
    baseline_from: Path | None = None
    """A finished run folder (with ``summary.json``) of the suite on the correct platform: the baseline row is
    judged from it instead of being run again (CI runs the conformance suite just before the matrix)."""

    def rows(self) -> list[Expectation]:
        """Every row to run, the baseline shards first."""
        return [*self.baseline_rows(), *self.expectations]

    def baseline_rows(self) -> list[Expectation]:
        """The baseline: every clause the defects select, on the correct platform, in shards."""
        if not self.baseline or self.baseline_from is not None:
            return []
        clauses = sorted({c for e in self.expectations for c in e.selection})
        n = max(1, min(self.baseline_shards, len(clauses)))
        shards = [s for s in (clauses[i::n] for i in range(n)) if s]
        if len(shards) == 1:
            return [baseline_expectation(shards[0])]
        return [_named(baseline_expectation(s), f"{BASELINE} {i + 1}/{len(shards)}") for i, s in enumerate(shards)]

    def inner_id(self, index: int) -> str:
        """The run ID of row ``index``; its last six characters are unique (tenants' user IDs end in them)."""
        return f"{self.matrix_id}-{index:02d}{secrets.token_hex(2)}"


def _named(exp: Expectation, name: str) -> Expectation:
    return Expectation(name, exp.breaks, exp.may_break, exp.note, exp.select)


@dataclass
class _State:
    mine: set[str] = field(default_factory=set)
    interrupted: bool = False
    """Ctrl-C or SIGTERM: stop."""
    failed: bool = False
    """A lane failed (cluster gone, switch did not answer): stop, the error is raised after the lanes drain."""

    @property
    def stopping(self) -> bool:
        return self.interrupted or self.failed


def run_matrix(plan: Plan, lanes: Steps | Sequence[Steps], *, clock: Callable[[], float] = time.monotonic) -> Matrix:
    """Run every row of ``plan`` on ``lanes`` and judge it; see the module docstring."""
    lanes = [lanes] if isinstance(lanes, Steps) else list(lanes)
    started = clock()
    state = _State()
    for lane in lanes:
        lane.switch_off()
    rows_plan = plan.rows()
    done: dict[int, Row] = {}
    given = _given_baseline(plan)
    aborted = None
    try:
        if len(lanes) > 1:
            earlier = read_summary(plan.baseline_from) if plan.baseline_from is not None else None
            _run_parallel(plan, lanes, state, rows_plan, longest_first(rows_plan, earlier), done)
        else:
            for index, exp in enumerate(rows_plan):
                if state.stopping:
                    break
                done[index] = _one_row(plan, lanes[0], state, index, exp)
                lanes[0].log(_progress(done[index], len(done), len(rows_plan)))
    except Exception as exc:  # a lane failed (the cluster went away, a switch did not answer): keep what ran
        aborted = f"{type(exc).__name__}: {exc}"
        lanes[0].log(f"matrix aborted: {aborted}")
    rows = [*given, *(done[i] for i in sorted(done))]
    matrix = Matrix(rows, allow_co_named=plan.allow_co_named, duration=clock() - started)
    matrix.meta.update({"matrix_id": plan.matrix_id, "interrupted": state.interrupted, "lanes": len(lanes)})
    if aborted:
        matrix.meta["aborted"] = aborted
    if state.interrupted or aborted:
        matrix.meta["not_run"] = [e.defect for i, e in enumerate(rows_plan) if i not in done]
    return matrix


def longest_first(rows: Sequence[Expectation], earlier: dict[str, Any] | None) -> list[int]:
    """The rows' indices, those expected to take longest first (so that no long row starts last and runs on
    alone), from an earlier run of the suite (``summary.json``); in plan order where nothing is known."""
    if not earlier:
        return list(range(len(rows)))
    clauses = {c["id"]: c.get("tests", []) for c in earlier.get("clauses", [])}

    def seconds(exp: Expectation) -> float:
        tests = {
            t["nodeid"]: float(t.get("duration") or 0.0)
            for cid in exp.selection
            for t in clauses.get(cid, [])
            if not exp.keyword or _may_select(exp.keyword, t["nodeid"])
        }
        return sum(tests.values())

    estimates = [seconds(e) for e in rows]
    return sorted(range(len(rows)), key=lambda i: -estimates[i])


def _may_select(keyword: str, nodeid: str) -> bool:
    """Whether ``-k keyword`` may select the test: a plain name must be part of its node ID; anything else may."""
    return keyword in nodeid if keyword.isidentifier() else True


def _given_baseline(plan: Plan) -> list[Row]:
    """The baseline row judged from ``plan.baseline_from`` (a run of the whole suite), if one was given."""
    if not plan.baseline or plan.baseline_from is None:
        return []
    folder = plan.baseline_from
    summary = read_summary(folder)
    clauses = {c for e in plan.expectations for c in e.selection}
    row = judge_row(baseline_expectation(clauses), summary, allow_co_named=plan.allow_co_named, run_id=folder.name)
    if summary is not None:
        row.exit_code = summary.get("exit_code")
        ran = {c["id"] for c in summary.get("clauses", []) if c.get("verdict") != "not-run"}
        if missing := sorted(clauses - ran):
            row.notes.append(f"{folder.name} has no verdict for {', '.join(missing)}, which the defects select")
            row.verdict = RowVerdict.INCONCLUSIVE
    row.info.append(f"judged from the earlier run {folder}, not run again")
    return [row]


def _run_parallel(
    plan: Plan,
    lanes: list[Steps],
    state: _State,
    rows_plan: list[Expectation],
    order: list[int],
    done: dict[int, Row],
) -> None:
    free: queue.Queue[Steps] = queue.Queue()
    for lane in lanes:
        free.put(lane)

    def job(index: int) -> None:
        if state.stopping:
            return
        lane = free.get()
        try:
            if not state.stopping:
                done[index] = _one_row(plan, lane, state, index, rows_plan[index])
                lane.log(f"{lane.name}: " + _progress(done[index], len(done), len(rows_plan)))
        finally:
            free.put(lane)

    pool = ThreadPoolExecutor(len(lanes), thread_name_prefix="lane")
    futures: list[Future[None]] = []
    try:
        futures += [pool.submit(job, i) for i in order]
        if not _wait_all(futures):
            state.failed = True  # a lane failed: queued rows are skipped, running ones finish
    except KeyboardInterrupt:
        state.interrupted = True
        for lane in lanes:
            stop = getattr(lane.runner, "interrupt", None)
            if stop is not None:
                stop()
    finally:
        _drain(pool, futures)
    for f in futures:
        f.result()  # a lane's unexpected error (e.g. the switch did not answer) ends the matrix


def _drain(pool: ThreadPoolExecutor, futures: list[Future[None]]) -> None:
    """Wait for the running rows to finish (their children are being stopped); more Ctrl-C only waits on."""
    while True:
        try:
            wait(futures)
            pool.shutdown(wait=True)
            return
        except KeyboardInterrupt:
            continue


def _wait_all(futures: list[Future[None]]) -> bool:
    """Wait for every future (in short steps, so Ctrl-C reaches this thread); False once one failed."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=1.0, return_when=FIRST_EXCEPTION)
        if any(f.exception() is not None for f in finished):
            return False
    return True


def _one_row(plan: Plan, steps: Steps, state: _State, index: int, exp: Expectation) -> Row:
    run = InnerRun(
        plan.inner_id(index), exp.selection, exp.defect if exp.breaks else None, plan.runs_dir, keyword=exp.keyword
    )
    state.mine.add(run.run_id)
    busy = _wait_idle(plan, steps, state.mine)
    if busy and not plan.ignore_other_runs:
        row = judge_row(exp, None, run_id=run.run_id, allow_co_named=plan.allow_co_named)
        row.notes = [f"not run: other harness runs stayed live for {plan.wait_idle:.0f} s: {sorted(busy)}"]
        return row
    result: RunResult | None = None
    try:
        result = steps.runner(run)
    except Interrupted as exc:
        result, state.interrupted = exc.result, True
    except KeyboardInterrupt:
        state.interrupted = True
    finally:
        try:
            steps.switch_off()  # an error here ends the matrix: a defect may still be on
        finally:
            removed = _clean(steps, run.run_id)
    return _judged(plan, exp, run, result, busy, removed, state.interrupted, steps.name)


def _judged(
    plan: Plan,
    exp: Expectation,
    run: InnerRun,
    result: RunResult | None,
    busy: set[str],
    removed: list[str],
    interrupted: bool,
    lane: str,
) -> Row:
    summary = None if result is None else result.summary  # an interrupted run's: its unreached tests have none
    row = judge_row(
        exp,
        summary,
        allow_co_named=plan.allow_co_named,
        run_id=run.run_id,
        exit_code=result.exit_code if result else None,
        duration=result.duration if result else 0.0,
    )
    if interrupted or (result is not None and result.interrupted):
        row.notes.append("interrupted: the run was stopped before it finished")
    if busy:
        seen = f"other harness runs were live when it started: {sorted(busy)}"
        (row.info if plan.ignore_other_runs else row.notes).append(seen)
    if removed:
        row.notes.append(f"removed {len(removed)} leftover object(s) after the run: {', '.join(removed)}")
    if result is not None:
        row.notes += result.notes
        if summary is not None and summary.get("exit_code") != result.exit_code:
            row.notes.append(
                f"the run exited {result.exit_code} but its summary says {summary.get('exit_code')}: the session "
                "failed after writing it (harness bug; see the log)"
            )
        row.info.append(f"{lane}; test time {result.test_time:.0f} s of {result.duration:.0f} s wall")
        row.info.append(f"log: {run.log}")
    return row


def _clean(steps: Steps, run_id: str) -> list[str]:
    try:
        return steps.clean(run_id)
    except Exception as exc:  # leftovers are reported, never a reason to stop the matrix
        return [f"(leftover cleanup failed: {exc!r})"]


def _wait_idle(plan: Plan, steps: Steps, mine: set[str]) -> set[str]:
    """Wait until no other run is live (bounded); return the runs still live (empty when idle)."""
    others = steps.other_runs(mine)
    if not others or plan.wait_idle <= 0 or plan.ignore_other_runs:
        return others
    steps.log(f"waiting up to {plan.wait_idle:.0f} s for other harness runs to end: {sorted(others)}")
    try:
        return wait_for(
            lambda: steps.other_runs(mine),
            until=lambda live: not live,
            description="no other harness run is live on the cluster",
            timeout=plan.wait_idle,
            interval=plan.idle_poll,
        )
    except WaitTimeout as exc:
        return set(exc.last or others)


def _progress(row: Row, count: int, total: int) -> str:
    failed = ",".join(c.clause for c in row.cells if c.observed == "fail") or "-"
    return f"[{count}/{total}] {row.defect:<40} {row.verdict.value:<13} failed: {failed}  ({row.duration:.0f} s)"
