"""The defect matrix's judgement (expected vs observed verdicts → cells and rows) and its report files.

Summaries are made by the real reports code (``judge`` + ``summary.as_dict``) from synthetic test records,
so the matrix reads exactly what an inner run writes.

========================  ===============================================================================
unit                      cases
========================  ===============================================================================
judge_cell                caught; missed; no verdict (error, skipped); coupled (fail or pass); collateral
                          (failing test names no expected clause); co-named (it does); clean; error;
                          crashed (failed by a non-assertion exception) and is_assertion
judge_row                 caught; missed wins over collateral; co-named counts unless allowed; no summary
                          → inconclusive; an expected clause no test ran → no-verdict; baseline passed /
                          baseline with a failure is collateral
Matrix                    ok only when every row is good; counts; clause order follows the catalogue
expectations_from         couplings become must-break, "may" clauses may-break; selection = must-break
matrix_report             matrix.json / matrix.md content; one Allure result per row + a summary, statuses
========================  ===============================================================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swarmconf.contract import Level
from swarmconf.reports import matrix_report, summary
from swarmconf.reports.matrix import (
    BASELINE,
    Cell,
    Expectation,
    Matrix,
    RowVerdict,
    baseline_expectation,
    clause_results,
    expectations_from,
    is_assertion,
    judge_cell,
    judge_row,
)
from swarmconf.reports.verdicts import Selection, TestRecord, TestStatus, judge

S = TestStatus


def make_summary(*tests: tuple[str, tuple[str, ...], TestStatus]) -> dict[str, Any]:
    """A real summary.json body for these (node ID, clauses, status) tests, narrowed like a --clause run."""
    records = [TestRecord(n, c, s, message=f"AssertionError: {n} {s.value}") for n, c, s in tests]
    selection = Selection(collected={n: c for n, c, _ in tests}, narrowed=True)
    return summary.as_dict(judge(records, selection, level=Level.BASELINE), run_id="inner")


def exp(defect: str, breaks: set[str], may: set[str] = frozenset()) -> Expectation:  # type: ignore[assignment]
    return Expectation(defect, frozenset(breaks), frozenset(may))


RPR1 = exp("rpr1", {"RPR-1"})


def cell_of(expectation: Expectation, summary_data: dict[str, Any], clause: str) -> Cell:
    return judge_cell(expectation, clause_results(summary_data)[clause]).cell


# --- judge_cell --------------------------------------------------------------------------------------------


def test_expected_clause_that_fails_is_caught_and_one_that_passes_is_missed() -> None:
    failing = make_summary(("t::rpr1", ("RPR-1",), S.FAILED))
    passing = make_summary(("t::rpr1", ("RPR-1",), S.PASSED))
    assert cell_of(RPR1, failing, "RPR-1") is Cell.CAUGHT
    assert cell_of(RPR1, passing, "RPR-1") is Cell.MISSED


def test_a_failure_blamed_on_the_expected_clause_is_caught_by_its_own_message() -> None:
    """The test also names DEL-5, where it shows as not reached with a message of its own: the DEL-4 cell must
    judge the DEL-4 failure's message (an assertion), not that one."""
    record = TestRecord(
        "t::del4", ("DEL-4", "DEL-5"), S.FAILED, message="swarmconf.waits.WaitTimeout: orphan left", blamed=("DEL-4",)
    )
    selection = Selection(collected={"t::del4": ("DEL-4", "DEL-5")}, narrowed=True)
    data = summary.as_dict(judge([record], selection, level=Level.BASELINE), run_id="inner")
    results = clause_results(data)
    assert "DEL-5" not in results, "not reached: no verdict"
    assert judge_cell(exp("del4", {"DEL-4"}), results["DEL-4"]).cell is Cell.CAUGHT


def test_expected_clause_with_an_infrastructure_error_or_a_skip_has_no_verdict() -> None:
    assert cell_of(RPR1, make_summary(("t::a", ("RPR-1",), S.INFRA)), "RPR-1") is Cell.NO_VERDICT
    not_enf = make_summary(("t::a", ("RPR-1",), S.NOT_ENFORCEABLE))
    assert cell_of(RPR1, not_enf, "RPR-1") is Cell.NO_VERDICT


def test_may_break_clause_is_coupled_whether_it_fails_or_passes() -> None:
    iso1 = exp("iso1", {"ISO-1"}, {"ISO-2"})
    for status in (S.FAILED, S.PASSED):
        data = make_summary(("t::iso1", ("ISO-1",), S.FAILED), ("t::iso2", ("ISO-2",), status))
        assert cell_of(iso1, data, "ISO-2") is Cell.COUPLED


def test_unexpected_failure_through_its_own_test_is_collateral() -> None:
    data = make_summary(("t::rpr1", ("RPR-1",), S.FAILED), ("t::del4", ("DEL-4",), S.FAILED))
    result = judge_cell(RPR1, clause_results(data)["DEL-4"])
    assert result.cell is Cell.COLLATERAL
    assert result.failing_tests == ("t::del4",)


def test_unexpected_failure_only_through_a_test_that_names_an_expected_clause_is_co_named() -> None:
    data = make_summary(("t::rpr1", ("RPR-1", "DEL-4", "DEL-5"), S.FAILED), ("t::del4", ("DEL-4",), S.PASSED))
    assert cell_of(RPR1, data, "DEL-4") is Cell.CO_NAMED
    assert cell_of(RPR1, data, "DEL-5") is Cell.CO_NAMED


def test_co_named_clause_also_failing_through_its_own_test_is_collateral() -> None:
    data = make_summary(("t::rpr1", ("RPR-1", "DEL-4"), S.FAILED), ("t::del4", ("DEL-4",), S.FAILED))
    assert cell_of(RPR1, data, "DEL-4") is Cell.COLLATERAL


def test_unexpected_clause_passing_is_clean_and_erroring_is_error() -> None:
    data = make_summary(
        ("t::rpr1", ("RPR-1",), S.FAILED), ("t::a", ("DEL-1",), S.PASSED), ("t::b", ("DEL-2",), S.INFRA)
    )
    assert cell_of(RPR1, data, "DEL-1") is Cell.CLEAN
    assert cell_of(RPR1, data, "DEL-2") is Cell.ERROR


def test_a_failure_by_a_non_assertion_exception_is_a_crash_not_a_catch() -> None:
    data = make_summary(("t::rpr1", ("RPR-1",), S.FAILED))
    data["clauses"][[c["id"] for c in data["clauses"]].index("RPR-1")]["tests"][0]["message"] = "KeyError: 'metadata'"
    assert cell_of(RPR1, data, "RPR-1") is Cell.CRASHED
    assert judge_row(RPR1, data).verdict is RowVerdict.INCONCLUSIVE


def test_is_assertion_resolves_builtin_and_harness_exception_types() -> None:
    assert is_assertion("AssertionError: x")
    assert is_assertion("swarmconf.waits.WaitTimeout: timed out after 1.0s")
    assert is_assertion("swarmconf.waits.ConsistencyViolation: stopped holding")
    assert is_assertion("Failed: cleanup left things behind")
    assert not is_assertion("KeyError: 'metadata'")
    assert not is_assertion("httpx.ConnectError: refused")
    assert not is_assertion("swarmconf.fixtures.platform.RuntimeLogUnavailable: 404")
    assert not is_assertion("")


# --- judge_row ---------------------------------------------------------------------------------------------


def test_row_caught_when_every_expected_clause_fails_and_nothing_else() -> None:
    msg2 = exp("msg2", {"MSG-2", "MSG-4"})
    data = make_summary(("t::m2", ("MSG-2",), S.FAILED), ("t::m4", ("MSG-4",), S.FAILED))
    row = judge_row(msg2, data, run_id="r1", exit_code=1, duration=12.0)
    assert row.verdict is RowVerdict.CAUGHT
    assert [c.cell for c in row.cells] == [Cell.CAUGHT, Cell.CAUGHT]
    assert (row.run_id, row.exit_code, row.duration) == ("r1", 1, 12.0)


def test_row_missed_when_one_expected_clause_passes_even_with_collateral() -> None:
    msg2 = exp("msg2", {"MSG-2", "MSG-4"})
    data = make_summary(
        ("t::m2", ("MSG-2",), S.FAILED), ("t::m4", ("MSG-4",), S.PASSED), ("t::x", ("MSG-1",), S.FAILED)
    )
    assert judge_row(msg2, data).verdict is RowVerdict.MISSED


def test_row_with_co_named_failures_is_collateral_unless_allowed() -> None:
    data = make_summary(("t::rpr1", ("RPR-1", "DEL-5"), S.FAILED))
    assert judge_row(RPR1, data).verdict is RowVerdict.COLLATERAL
    assert judge_row(RPR1, data, allow_co_named=True).verdict is RowVerdict.CAUGHT


def test_row_with_independent_collateral_fails_even_when_co_named_is_allowed() -> None:
    data = make_summary(("t::rpr1", ("RPR-1",), S.FAILED), ("t::x", ("DEL-5",), S.FAILED))
    assert judge_row(RPR1, data, allow_co_named=True).verdict is RowVerdict.COLLATERAL


def test_row_without_summary_is_inconclusive_and_says_so() -> None:
    row = judge_row(RPR1, None, exit_code=3)
    assert row.verdict is RowVerdict.INCONCLUSIVE
    assert [(c.clause, c.cell) for c in row.cells] == [("RPR-1", Cell.NO_VERDICT)]
    assert any("no summary" in n for n in row.notes)


def test_row_whose_expected_clause_was_not_run_is_inconclusive() -> None:
    data = make_summary(("t::other", ("DEL-1",), S.PASSED))
    row = judge_row(RPR1, data)
    assert row.verdict is RowVerdict.INCONCLUSIVE
    assert ("RPR-1", "not-run", Cell.NO_VERDICT) in [(c.clause, c.observed, c.cell) for c in row.cells]


def test_row_with_an_infrastructure_error_elsewhere_is_inconclusive_not_caught() -> None:
    data = make_summary(("t::rpr1", ("RPR-1",), S.FAILED), ("t::x", ("DEL-1",), S.INFRA))
    assert judge_row(RPR1, data).verdict is RowVerdict.INCONCLUSIVE


def test_baseline_row_passes_only_when_every_clause_passes() -> None:
    base = baseline_expectation(["ISO-1", "RPR-1", "ISO-1"])
    assert base.selection == ("ISO-1", "RPR-1")
    green = make_summary(("t::a", ("ISO-1",), S.PASSED), ("t::b", ("RPR-1",), S.PASSED))
    red = make_summary(("t::a", ("ISO-1",), S.PASSED), ("t::b", ("RPR-1",), S.FAILED))
    assert judge_row(base, green).verdict is RowVerdict.PASSED
    row = judge_row(base, red)
    assert row.verdict is RowVerdict.COLLATERAL
    assert [c.cell for c in row.cells_of(Cell.COLLATERAL)] == [Cell.COLLATERAL]


# --- Matrix and expectations ---------------------------------------------------------------------------------


def _matrix(*, bad: bool = False) -> Matrix:
    base = judge_row(
        baseline_expectation(["RPR-1", "ISO-1"]),
        make_summary(("t::iso1", ("ISO-1",), S.PASSED), ("t::rpr1", ("RPR-1", "DEL-5"), S.PASSED)),
    )
    rpr1 = judge_row(RPR1, make_summary(("t::rpr1", ("RPR-1", "DEL-5"), S.FAILED)), allow_co_named=True)
    iso1_status = S.PASSED if bad else S.FAILED
    iso1 = judge_row(exp("iso1", {"ISO-1"}), make_summary(("t::iso1", ("ISO-1",), iso1_status)))
    return Matrix([base, rpr1, iso1], allow_co_named=True, duration=75.0, meta={"cluster": "kind-x"})


def test_matrix_ok_only_when_every_row_is_good() -> None:
    assert _matrix().ok
    bad = _matrix(bad=True)
    assert not bad.ok
    assert bad.counts() == {"caught": 1, "passed": 1, "missed": 1, "collateral": 0, "inconclusive": 0}
    assert not Matrix([]).ok


def test_matrix_clauses_follow_the_catalogue_order() -> None:
    assert _matrix().clauses() == ["ISO-1", "DEL-5", "RPR-1"]


def test_expectations_from_couplings() -> None:
    exps = expectations_from({"msg2": "MSG-2", "iso1": "ISO-1"}, coupled={"msg2": ["MSG-4"]}, may={"iso1": ["ISO-2"]})
    assert [(e.defect, e.selection, sorted(e.may_break)) for e in exps] == [
        ("msg2", ("MSG-2", "MSG-4"), []),
        ("iso1", ("ISO-1",), ["ISO-2"]),
    ]


# --- report files --------------------------------------------------------------------------------------------


def test_matrix_json_and_markdown(tmp_path: Path) -> None:
    data = matrix_report.write(_matrix(bad=True), tmp_path)
    on_disk = json.loads((tmp_path / "matrix.json").read_text())
    assert on_disk == data
    assert data["ok"] is False
    rows = {r["defect"]: r for r in data["rows"]}
    assert rows[BASELINE]["verdict"] == "passed"
    assert rows["rpr1"]["cells"]["DEL-5"] == {
        "expected": "pass",
        "observed": "fail",
        "cell": "co-named",
        "failing_tests": ["t::rpr1"],
        "messages": ["AssertionError: t::rpr1 failed"],
    }
    assert rows["iso1"]["verdict"] == "missed"
    md = (tmp_path / "matrix.md").read_text()
    assert "**FAILED" in md
    assert "| `iso1` | ISO-1 | ❌ missed |" in md
    assert "## Defect × clause" in md and "| defect | ISO-1 | DEL-5 | RPR-1 |" in md
    assert "### `iso1` — ❌ missed" in md


def test_allure_results_one_per_row_plus_summary(tmp_path: Path) -> None:
    matrix_report.write_allure(_matrix(bad=True), tmp_path, started_ms=1_000, run_id="m1")
    results = [json.loads(p.read_text()) for p in tmp_path.glob("*-result.json")]
    by_name = {r["name"]: r for r in results}
    assert set(by_name) == {"(none) → all pass", "rpr1 → RPR-1", "iso1 → ISO-1", "defect matrix"}
    assert by_name["iso1 → ISO-1"]["status"] == "failed"
    assert by_name["rpr1 → RPR-1"]["status"] == "passed"
    assert by_name["defect matrix"]["status"] == "failed"
    for r in results:
        for att in r["attachments"]:
            assert (tmp_path / att["source"]).is_file()
    summary_atts = {a["name"] for a in by_name["defect matrix"]["attachments"]}
    assert summary_atts == {"matrix.md", "matrix.json"}
    env = (tmp_path / "environment.properties").read_text()
    assert "matrix.ok=False" in env and "matrix.missed=1" in env
    assert (tmp_path / "categories.json").is_file() and (tmp_path / "executor.json").is_file()
