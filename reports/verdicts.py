"""Per-test outcomes in, one verdict per clause and a gating exit code out. Pure data: no pytest here.

A test's outcome is one of :class:`TestStatus`; a clause's verdict is the worst outcome among the tests that
name it, in this order (worst first)::

    fail  >  error (infrastructure)  >  not-enforceable  >  not-run  >  pass

so a clause passes only when every test that names it ran and passed (how a test's failure counts for each
clause it names: :mod:`swarmconf.reports.attribution`). A clause no selected test names is ``not-run`` with a
reason that says whether that was on purpose (deselected, outside a narrowed selection) or a gap (no test
names it, its tests were skipped or never reached). A clause some of whose tests were deselected is never
*pass* either: it is ``not-run`` (deselected) unless a test that ran failed it.

A run narrowed on purpose (``-k``, ``-m``, ``--deselect``, ``--clause``, paths or node IDs) is *partial*: it
can fail the gate but never open it; when nothing it judged failed it exits ``PARTIAL`` and its verdict line
(:func:`headline`) says how many gating clauses it judged.

Gating (see :mod:`swarmconf.reports.exitcodes`): at ``--level baseline`` only baseline clauses gate; at
``--level strict`` every clause does. A strict clause that fails at baseline is a *strict gap*: reported,
never counted as a pass, never blocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from swarmconf.contract import CLAUSES, Clause, Level
from swarmconf.reports.exitcodes import KEPT_PYTEST_CODES, ExitCode, describe


class TestStatus(StrEnum):
    """What happened to one test, already classified."""

    __test__ = False  # not a pytest test class

    PASSED = "passed"
    FAILED = "failed"  # contract failure: the test body proved a breach
    INFRA = "error"  # infrastructure error: a fixture (setup/teardown) failed
    SKIPPED = "skipped"
    NOT_ENFORCEABLE = "not-enforceable"
    NOT_REACHED = "not-reached"  # collected, but the run stopped before it


class Verdict(StrEnum):
    """The verdict for one clause."""

    FAIL = "fail"
    ERROR = "error"
    NOT_ENFORCEABLE = "not-enforceable"
    NOT_RUN = "not-run"
    PASS = "pass"


class NotRunReason(StrEnum):
    """Why a clause has no verdict; the first two are on purpose and never block the gate."""

    DESELECTED = "deselected"
    NOT_SELECTED = "not selected"
    NO_TEST = "no test names this clause"
    SKIPPED = "skipped"
    NOT_REACHED = "not reached"


EXCUSED = frozenset({NotRunReason.DESELECTED, NotRunReason.NOT_SELECTED})

_STATUS_VERDICT = {
    TestStatus.FAILED: Verdict.FAIL,
    TestStatus.INFRA: Verdict.ERROR,
    TestStatus.NOT_ENFORCEABLE: Verdict.NOT_ENFORCEABLE,
    TestStatus.SKIPPED: Verdict.NOT_RUN,
    TestStatus.NOT_REACHED: Verdict.NOT_RUN,
    TestStatus.PASSED: Verdict.PASS,
}
_ORDER = list(Verdict)


@dataclass(frozen=True)
class TestRecord:
    """One test's classified outcome and the clauses it names."""

    __test__ = False

    nodeid: str
    clauses: tuple[str, ...]
    status: TestStatus
    phase: str = "call"
    message: str = ""
    duration: float = 0.0
    blamed: tuple[str, ...] = ()
    """For a contract failure: the clause(s) it is blamed on (empty: every clause named)."""
    checked: tuple[str, ...] = ()
    """Clauses whose per-clause checks finished without a failure (see :mod:`.attribution`)."""

    def for_clause(self, clause_id: str) -> TestRecord:
        """This test's outcome as far as ``clause_id`` goes (the rule is in :mod:`.attribution`).

        A contract failure blamed on another clause leaves ``clause_id`` not reached, even when one of its
        ``checks()`` blocks had finished: another of its blocks, or the rest of the body, never ran. Only a
        failure in teardown, after the whole body ran and passed, leaves the test's other clauses passed.
        """
        if self.status is not TestStatus.FAILED or not self.blamed or clause_id in self.blamed:
            return self
        on = self.blamed[0]
        if self.phase == "teardown":
            return replace(self, status=TestStatus.PASSED, message=f"the body passed; its teardown failed on {on}")
        done = "a check of it finished, but " if clause_id in self.checked else ""
        message = f"not judged: {done}the test failed on {on} in {self.phase} before its end"
        return replace(self, status=TestStatus.NOT_REACHED, message=message)

    def declaring(self, declared: tuple[str, ...]) -> TestRecord:
        """This record naming every clause its marker declares (a report that lost them, e.g. an xdist
        worker's crash report, still counts against them)."""
        clauses = tuple(dict.fromkeys((*declared, *self.clauses)))
        return self if clauses == self.clauses else replace(self, clauses=clauses)


@dataclass(frozen=True)
class Selection:
    """What the run meant to check: the collected tests (node ID → clauses) and what was left out on purpose."""

    collected: Mapping[str, tuple[str, ...]]
    deselected_clauses: frozenset[str] = frozenset()
    narrowed: bool = False
    collection_errors: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        """True when the run left tests out on purpose: its verdict is not a release verdict."""
        return self.narrowed or bool(self.deselected_clauses)


@dataclass
class ClauseVerdict:
    """The verdict for one clause, with the tests behind it."""

    clause: Clause
    verdict: Verdict
    gating: bool
    reason: str = ""
    tests: list[TestRecord] = field(default_factory=list)

    @property
    def blocks(self) -> bool:
        """True when this verdict keeps the release gate shut."""
        if not self.gating or self.verdict is Verdict.PASS:
            return False
        return not (self.verdict is Verdict.NOT_RUN and self.reason in EXCUSED)

    @property
    def strict_gap(self) -> bool:
        """A strict clause that is not met while only baseline gates: a known gap, reported apart."""
        return not self.gating and self.clause.level is Level.STRICT and self.verdict is not Verdict.PASS


@dataclass
class Outcome:
    """Everything the summary writer needs: verdicts per clause, stray tests and the exit code."""

    level: Level
    clauses: list[ClauseVerdict]
    unlabelled: list[TestRecord]
    selection: Selection
    exit_code: ExitCode
    records: list[TestRecord] = field(default_factory=list)
    """Every test once, as it came out (a clause's ``tests`` show each test as far as that clause goes)."""

    def by_level(self) -> dict[str, dict[str, int]]:
        """Counts of each verdict per level, for the summary's table."""
        counts: dict[str, dict[str, int]] = {lvl.value: dict.fromkeys(Verdict, 0) for lvl in Level}
        for cv in self.clauses:
            counts[cv.clause.level.value][cv.verdict] += 1
        return counts


def gating_levels(level: Level) -> frozenset[Level]:
    """The levels whose clauses gate a run at ``level``."""
    return frozenset({Level.BASELINE}) if level is Level.BASELINE else frozenset(Level)


def judge(
    records: Iterable[TestRecord],
    selection: Selection,
    *,
    level: Level = Level.BASELINE,
    catalogue: Mapping[str, Clause] = CLAUSES,
) -> Outcome:
    """Aggregate test records into clause verdicts and the gating exit code."""
    records = [r.declaring(selection.collected.get(r.nodeid, ())) for r in records]
    seen = {r.nodeid for r in records}
    records += [
        TestRecord(nodeid, clauses, TestStatus.NOT_REACHED, phase="")
        for nodeid, clauses in selection.collected.items()
        if nodeid not in seen
    ]
    gates = gating_levels(level)
    verdicts = [
        _clause_verdict(c, [r.for_clause(c.id) for r in records if c.id in r.clauses], selection, c.level in gates)
        for c in catalogue.values()
    ]
    unlabelled = [r for r in records if not any(cid in catalogue for cid in r.clauses)]
    code = _exit_code(verdicts, unlabelled, selection)
    return Outcome(
        level=level, clauses=verdicts, unlabelled=unlabelled, selection=selection, exit_code=code, records=records
    )


def _clause_verdict(clause: Clause, tests: list[TestRecord], sel: Selection, gating: bool) -> ClauseVerdict:
    if not tests:
        return ClauseVerdict(clause, Verdict.NOT_RUN, gating, reason=_absent_reason(clause, sel))
    verdict = min((_STATUS_VERDICT[t.status] for t in tests), key=_ORDER.index)
    reason = ""
    if verdict is Verdict.PASS and clause.id in sel.deselected_clauses:
        verdict, reason = Verdict.NOT_RUN, NotRunReason.DESELECTED  # its other tests never ran
    elif verdict is Verdict.NOT_RUN:
        reached = all(t.status is not TestStatus.NOT_REACHED for t in tests)
        reason = NotRunReason.SKIPPED if reached else NotRunReason.NOT_REACHED
    return ClauseVerdict(clause, verdict, gating, reason=reason, tests=tests)


def _absent_reason(clause: Clause, sel: Selection) -> NotRunReason:
    if clause.id in sel.deselected_clauses:
        return NotRunReason.DESELECTED
    # In any partial run a clause without a collected test may just be outside the selection; a complete run
    # is the one that tells a gap in the suite (no test names it) apart.
    return NotRunReason.NOT_SELECTED if sel.partial else NotRunReason.NO_TEST


def _exit_code(verdicts: list[ClauseVerdict], unlabelled: list[TestRecord], sel: Selection) -> ExitCode:
    blocking = [cv.verdict for cv in verdicts if cv.blocks]
    stray = {r.status for r in unlabelled}
    if Verdict.FAIL in blocking or TestStatus.FAILED in stray:
        return ExitCode.CONTRACT_FAILED
    if Verdict.ERROR in blocking or TestStatus.INFRA in stray or sel.collection_errors:
        return ExitCode.INFRA_ERROR
    if blocking:
        return ExitCode.INCOMPLETE
    if sel.partial:
        return ExitCode.PARTIAL
    return ExitCode.GATE_PASSED


def judged(outcome: Outcome) -> tuple[int, int]:
    """``(judged, gating)``: gating clauses with a verdict of pass or fail, and all gating clauses."""
    gating = [cv for cv in outcome.clauses if cv.gating]
    return sum(cv.verdict in (Verdict.PASS, Verdict.FAIL) for cv in gating), len(gating)


def headline(outcome: Outcome) -> str:
    """The verdict line a release manager reads: what the exit code means, and whether the run was partial."""
    if outcome.exit_code is ExitCode.PARTIAL:
        done, total = judged(outcome)
        return f"PARTIAL: {done} of {total} gating clauses judged, not a release verdict (none failed)"
    line = describe(outcome.exit_code)
    if outcome.selection.partial and outcome.exit_code not in KEPT_PYTEST_CODES:
        done, total = judged(outcome)
        line += f" (partial run: {done} of {total} gating clauses judged)"
    return line
