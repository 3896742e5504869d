"""Drive the defect matrix: a baseline run on the correct platform, then one run per defect, judged.

Each step is injected (:class:`Steps`), so the order and the guarantees are tested without a cluster:

* before each run, wait (bounded) until no other harness run is live on the cluster — the defect switch is
  cluster-wide, it would break their runs and theirs could break ours — unless told to go ahead anyway;
* the defect is switched on by the inner run itself (``--defect``) and, whatever happens (failure, Ctrl-C,
  SIGTERM), switched off again by the driver right after, then the run's leftovers are removed;
* an interrupt stops the matrix after the current run: the rows so far are judged, the rest are not run.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from swarmconf.reports.matrix import Expectation, Matrix, Row, baseline_expectation, judge_row
from swarmconf.selftest.runner import InnerRun, Interrupted, Runner, RunResult
from swarmconf.waits import WaitTimeout, wait_for

Log = Callable[[str], None]


@dataclass
class Steps:
    """What the driver does to the world; the real ones talk to the cluster, the tests' ones do not."""

    runner: Runner
    switch_off: Callable[[], None]
    """Switch every defect off and return once the platform uses none."""
    clean: Callable[[str], list[str]]
    """Remove what the run with this ID left behind; return what was removed."""
    other_runs: Callable[[set[str]], set[str]]
    """Live harness runs on the cluster other than these."""
    log: Log = print


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
    """Run even while other harness runs are live (their results, and ours, may then be wrong)."""
    idle_poll: float = 5.0
    """How often to look for other live runs while waiting."""

    def rows(self) -> list[Expectation]:
        """Every row to run, the baseline first."""
        clauses = {c for e in self.expectations for c in e.selection}
        head = [baseline_expectation(clauses)] if self.baseline else []
        return [*head, *self.expectations]

    def inner_id(self, index: int) -> str:
        """The run ID of row ``index``; its last six characters are unique (tenants' user IDs end in them)."""
        return f"{self.matrix_id}-{index:02d}{secrets.token_hex(2)}"


@dataclass
class _State:
    mine: set[str] = field(default_factory=set)
    interrupted: bool = False


def run_matrix(plan: Plan, steps: Steps, *, clock: Callable[[], float] = time.monotonic) -> Matrix:
    """Run every row of ``plan`` and judge it; see the module docstring."""
    started = clock()
    state = _State()
    rows: list[Row] = []
    steps.switch_off()
    for index, exp in enumerate(plan.rows()):
        if state.interrupted:
            break
        rows.append(_one_row(plan, steps, state, index, exp))
        steps.log(_progress(rows[-1], index, len(plan.rows())))
    matrix = Matrix(rows, allow_co_named=plan.allow_co_named, duration=clock() - started)
    matrix.meta.update({"matrix_id": plan.matrix_id, "interrupted": state.interrupted})
    if state.interrupted:
        matrix.meta["not_run"] = [e.defect for e in plan.rows()[len(rows) :]]
    return matrix


def _one_row(plan: Plan, steps: Steps, state: _State, index: int, exp: Expectation) -> Row:
    run = InnerRun(plan.inner_id(index), exp.selection, exp.defect if exp.breaks else None, plan.runs_dir)
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
    return _judged(plan, exp, run, result, busy, removed, state.interrupted)


def _judged(
    plan: Plan,
    exp: Expectation,
    run: InnerRun,
    result: RunResult | None,
    busy: set[str],
    removed: list[str],
    interrupted: bool,
) -> Row:
    summary = None if result is None or result.interrupted else result.summary
    row = judge_row(
        exp,
        summary,
        allow_co_named=plan.allow_co_named,
        run_id=run.run_id,
        exit_code=result.exit_code if result else None,
        duration=result.duration if result else 0.0,
    )
    if interrupted:
        row.notes.append("interrupted: the run was stopped before it finished")
    if busy:
        row.notes.append(f"other harness runs were live when it started: {sorted(busy)}")
    if removed:
        row.notes.append(f"removed {len(removed)} leftover object(s) after the run: {', '.join(removed)}")
    if result is not None:
        row.notes += result.notes
        row.notes.append(f"test time {result.test_time:.0f} s of {result.duration:.0f} s wall (log: {run.log})")
    return row


def _clean(steps: Steps, run_id: str) -> list[str]:
    try:
        return steps.clean(run_id)
    except Exception as exc:  # leftovers are reported, never a reason to stop the matrix
        return [f"(leftover cleanup failed: {exc!r})"]


def _wait_idle(plan: Plan, steps: Steps, mine: set[str]) -> set[str]:
    """Wait until no other run is live (bounded); return the runs still live (empty when idle)."""
    others = steps.other_runs(mine)
    if not others or plan.wait_idle <= 0:
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


def _progress(row: Row, index: int, total: int) -> str:
    failed = ",".join(c.clause for c in row.cells if c.observed == "fail") or "-"
    return f"[{index + 1}/{total}] {row.defect:<40} {row.verdict.value:<13} failed: {failed}  ({row.duration:.0f} s)"
