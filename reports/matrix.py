"""The defect matrix, judged: for each defect, expected clause verdicts against observed ones. Pure data.

``swarmconf selftest`` switches each defect of the reference platform on, runs the tests of the clauses it
concerns, and hands the run's ``summary.json`` here. Each clause that ran gets a :class:`Cell`:

=================  ==========================================================================================
cell               meaning
=================  ==========================================================================================
``caught``         the defect must break this clause, and the harness failed it by an assertion
``crashed``        the defect must break this clause, and its tests failed, but by an exception that is not an
                   assertion (a ``KeyError`` in the test, a transport error): no proof, a test bug to fix
``missed``         the defect must break this clause, and the harness passed it (the harness is blind to it)
``no-verdict``     the defect must break this clause, but its tests errored, were skipped or not run
``coupled``        a documented coupling (the defect *may* break it): failed or passed, both are fine
``collateral``     not expected, and failed through a test that names no expected clause: a false alarm
``co-named``       not expected, and failed only through tests that also name an expected clause (the
                   summary attributes a test's failure to every clause it names); a false attribution
``clean``          not expected, and passed (or had no verdict: ``error`` here is reported apart)
``error``          not expected, and an infrastructure error kept it from a verdict
=================  ==========================================================================================

A row (one defect) is ``caught`` when every must-break clause is caught and nothing collateral failed;
``missed`` when some must-break clause passed; ``inconclusive`` when a must-break clause has no verdict or
only crashed, or the run had infrastructure errors; ``collateral`` when it was caught but some other clause
failed (``co-named`` counts here unless the policy allows it). The baseline row (no defect) must pass every
clause it ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

BASELINE = "(none)"
"""The defect name of the baseline row: the correct reference."""


class Cell(StrEnum):
    """How one clause came out for one defect (see the module docstring)."""

    CAUGHT = "caught"
    CRASHED = "crashed"
    MISSED = "missed"
    NO_VERDICT = "no-verdict"
    COUPLED = "coupled"
    COLLATERAL = "collateral"
    CO_NAMED = "co-named"
    CLEAN = "clean"
    ERROR = "error"


class RowVerdict(StrEnum):
    """How one defect came out as a whole."""

    CAUGHT = "caught"
    PASSED = "passed"  # the baseline row: every clause passed
    MISSED = "missed"
    COLLATERAL = "collateral"
    INCONCLUSIVE = "inconclusive"


GOOD_ROWS = frozenset({RowVerdict.CAUGHT, RowVerdict.PASSED})


@dataclass(frozen=True)
class Expectation:
    """What switching one defect on must do: the clauses it must break, and those it may break."""

    defect: str
    breaks: frozenset[str]
    may_break: frozenset[str] = frozenset()
    note: str = ""
    select: tuple[str, ...] = ()
    """Clauses to select instead of the must-break ones (the baseline row selects every clause it checks)."""
    keyword: str = ""
    """A ``-k`` expression narrowing the row to the tests that can see its defect, where running every test of
    its clause would cost minutes for nothing (the clause's other tests are judged by the baseline row)."""

    @property
    def selection(self) -> tuple[str, ...]:
        """The clauses whose tests the run selects (``--clause``): ``select``, else the must-break ones."""
        return self.select or tuple(sorted(self.breaks))


@dataclass(frozen=True)
class ClauseResult:
    """One clause as a run's summary reports it: verdict and the tests behind it (node ID → status)."""

    clause: str
    verdict: str
    tests: Mapping[str, str]
    """Node ID → the test's status (``passed``, ``failed``, ``error``, ...)."""
    clauses_of: Mapping[str, tuple[str, ...]]
    """Node ID → every clause that test names."""
    messages: Mapping[str, str] = field(default_factory=dict)
    """Node ID → the failure's one-line message (``ExceptionType: text``)."""


@dataclass(frozen=True)
class CellResult:
    """One (defect, clause) cell: expected, observed, and the judgement."""

    clause: str
    expected: str
    """``fail`` (must break), ``fail-or-pass`` (may break) or ``pass``."""
    observed: str
    cell: Cell
    failing_tests: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    """The failing tests' messages, in the same order."""


@dataclass
class Row:
    """One defect's line of the matrix."""

    defect: str
    expectation: Expectation
    cells: list[CellResult]
    verdict: RowVerdict
    run_id: str = ""
    exit_code: int | None = None
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    """What a reader must know (leftovers removed, interrupted, exit code mismatch...)."""
    info: list[str] = field(default_factory=list)
    """Context only (lane, test time, log path, other runs seen on a shared cluster)."""

    def cells_of(self, *kinds: Cell) -> list[CellResult]:
        """The cells of these kinds."""
        return [c for c in self.cells if c.cell in kinds]


def clause_results(summary: Mapping[str, Any]) -> dict[str, ClauseResult]:
    """The clauses a run's ``summary.json`` has a verdict for (``not-run`` ones left out)."""
    names: dict[str, list[str]] = {}
    for entry in summary.get("clauses", []):
        for t in entry.get("tests", []):
            names.setdefault(t["nodeid"], []).append(entry["id"])
    out = {}
    for entry in summary.get("clauses", []):
        if entry.get("verdict") == "not-run":
            continue
        # A test's status and message are per clause: a failure blamed on another clause shows here as
        # "not-reached" or "passed" with a message of its own (see swarmconf.reports.attribution).
        tests = {t["nodeid"]: t["status"] for t in entry.get("tests", [])}
        out[entry["id"]] = ClauseResult(
            entry["id"],
            entry["verdict"],
            tests,
            {n: tuple(names.get(n, ())) for n in tests},
            {t["nodeid"]: t.get("message", "") for t in entry.get("tests", [])},
        )
    return out


#: Modules whose exception types :func:`is_assertion` may import to look at their class.
_RESOLVABLE = ("swarmconf.", "_pytest.", "pytest.")
#: Deliberate failures that are not ``AssertionError`` subclasses (``pytest.fail``).
_DELIBERATE = frozenset({"Failed", "_pytest.outcomes.Failed", "pytest.fail.Exception"})


def is_assertion(message: str) -> bool:
    """True when a failure message (``Type: text``) names an ``AssertionError`` (or ``pytest.fail``).

    Builtin names and the harness's own exception types are resolved and checked with ``issubclass``; a type
    that cannot be resolved here (``httpx.ConnectError``...) is not an assertion.
    """
    name = message.split(":", 1)[0].strip()
    if name in _DELIBERATE:
        return True
    cls = _resolve(name)
    return isinstance(cls, type) and issubclass(cls, AssertionError)


def _resolve(name: str) -> object:
    import builtins
    import importlib

    if "." not in name:
        return getattr(builtins, name, None)
    if not name.startswith(_RESOLVABLE):
        return None
    module, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return None


def judge_cell(exp: Expectation, result: ClauseResult) -> CellResult:
    """Judge one clause of one defect's run."""
    cid, observed = result.clause, result.verdict
    bad = tuple(sorted(n for n, s in result.tests.items() if s in ("failed", "error")))
    failing = tuple(n for n in bad if result.tests[n] == "failed")
    why = tuple(result.messages.get(n, "") for n in bad)

    def cell(expected: str, kind: Cell) -> CellResult:
        return CellResult(cid, expected, observed, kind, bad, why)

    if cid in exp.breaks:
        kind = {"fail": Cell.CAUGHT, "pass": Cell.MISSED}.get(observed, Cell.NO_VERDICT)
        if kind is Cell.CAUGHT and not any(is_assertion(result.messages.get(n, "")) for n in failing):
            kind = Cell.CRASHED
        return cell("fail", kind)
    if cid in exp.may_break:
        return cell("fail-or-pass", Cell.COUPLED)
    if observed == "fail":
        explained = all(exp.breaks.intersection(result.clauses_of.get(n, ())) for n in failing)
        return cell("pass", Cell.CO_NAMED if explained else Cell.COLLATERAL)
    return cell("pass", Cell.ERROR if observed == "error" else Cell.CLEAN)


def judge_row(
    exp: Expectation,
    summary: Mapping[str, Any] | None,
    *,
    allow_co_named: bool = False,
    run_id: str = "",
    exit_code: int | None = None,
    duration: float = 0.0,
) -> Row:
    """Judge one defect's run (``summary`` None: the run wrote no summary, so nothing could be judged)."""
    results = clause_results(summary or {})
    cells = [judge_cell(exp, results[cid]) for cid in sorted(results)]
    seen = set(results)
    cells += [CellResult(cid, "fail", "not-run", Cell.NO_VERDICT) for cid in sorted(exp.breaks - seen)]
    row = Row(exp.defect, exp, cells, RowVerdict.INCONCLUSIVE, run_id, exit_code, duration)
    row.verdict = _row_verdict(row, allow_co_named=allow_co_named, judged=summary is not None)
    if summary is None:
        row.notes.append("the run wrote no summary.json (see its log)")
    return row


def _row_verdict(row: Row, *, allow_co_named: bool, judged: bool) -> RowVerdict:
    extra = {Cell.COLLATERAL} if allow_co_named else {Cell.COLLATERAL, Cell.CO_NAMED}
    if row.cells_of(Cell.MISSED):
        return RowVerdict.MISSED
    if not judged or row.cells_of(Cell.NO_VERDICT, Cell.ERROR, Cell.CRASHED):
        return RowVerdict.INCONCLUSIVE
    if row.cells_of(*extra):
        return RowVerdict.COLLATERAL
    if not row.expectation.breaks:
        return RowVerdict.PASSED
    return RowVerdict.CAUGHT


@dataclass
class Matrix:
    """Every row (baseline first), and how the whole matrix came out."""

    rows: list[Row]
    allow_co_named: bool = False
    duration: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every planned row ran, the baseline passed and every defect was caught without collateral."""
        finished = not (self.meta.get("interrupted") or self.meta.get("aborted") or self.meta.get("not_run"))
        return finished and bool(self.rows) and all(r.verdict in GOOD_ROWS for r in self.rows)

    def counts(self) -> dict[str, int]:
        """Rows per verdict."""
        counts = dict.fromkeys((v.value for v in RowVerdict), 0)
        for r in self.rows:
            counts[r.verdict.value] += 1
        return counts

    def clauses(self) -> list[str]:
        """Every clause that appears in some row, in catalogue order where known."""
        from swarmconf.contract import CLAUSES

        seen = {c.clause for r in self.rows for c in r.cells}
        return [c for c in CLAUSES if c in seen] + sorted(seen - set(CLAUSES))


def baseline_expectation(clauses: Iterable[str]) -> Expectation:
    """The baseline row's expectation: nothing breaks (the clauses are only what it selects)."""
    return Expectation(BASELINE, frozenset(), note="the correct reference", select=tuple(sorted(set(clauses))))


def expectations_from(
    defect_clauses: Mapping[str, str],
    *,
    coupled: Mapping[str, Sequence[str]] = {},
    may: Mapping[str, Sequence[str]] = {},
    notes: Mapping[str, str] = {},
    keywords: Mapping[str, str] = {},
) -> list[Expectation]:
    """Expectations from ``defect → clause`` plus documented couplings (``coupled``: must also break;
    ``may``: may also break) and narrowed rows (``keywords``: a ``-k`` expression per defect)."""
    return [
        Expectation(
            defect=name,
            breaks=frozenset({clause, *coupled.get(name, ())}),
            may_break=frozenset(may.get(name, ())),
            note=notes.get(name, ""),
            keyword=keywords.get(name, ""),
        )
        for name, clause in defect_clauses.items()
    ]
