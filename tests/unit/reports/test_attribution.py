"""A failing test that names several clauses counts against the clause it failed on, not against all of them.

=====================================================  =========================================================
in the test                                            per clause
=====================================================  =========================================================
fails inside ``checks("DEL-5")`` after DEL-1's check   DEL-5 fail; DEL-1 pass (checked first); DEL-3 not reached
fails outside every ``checks`` block                   the primary (first) clause fails; the others not reached
nested ``checks`` blocks                               the innermost clause is blamed
passes                                                 every clause it names passes
=====================================================  =========================================================
"""

from __future__ import annotations

import pytest

from swarmconf.reports.attribution import BLAME_ATTRIBUTE, blamed_clause, checks, collecting_checks
from swarmconf.reports.exitcodes import ExitCode

pytest_plugins = ["pytester"]

SUITE = """
import pytest
from swarmconf.reports.attribution import checks

@pytest.mark.clause("DEL-1", "DEL-3", "DEL-5")
def test_fails_on_a_secondary_clause():
    with checks("DEL-1", "the workspace answers 404"):
        assert True
    with checks("DEL-5", "the bystander is untouched"):
        assert False, "bystander lost its data"
    with checks("DEL-3", "children gone"):
        assert True

@pytest.mark.clause("RPR-1", "DEL-4")
def test_fails_outside_checks():
    assert False, "orphan never reaped"

@pytest.mark.clause("MSG-1", "MSG-2", "MSG-4")
def test_nested():
    with checks("MSG-2", "routing"):
        with checks("MSG-4", "signature"):
            raise AssertionError("wrong signer")

@pytest.mark.clause("LIF-1", "LIF-2")
def test_passes():
    with checks("LIF-2", "self-heal"):
        pass
"""


def test_each_clause_gets_its_own_share_of_a_failure(suite):
    run = suite(SUITE)
    assert run.ret == ExitCode.CONTRACT_FAILED
    verdicts = {c["id"]: c["verdict"] for c in run.summary["clauses"]}
    assert verdicts["DEL-5"] == "fail"
    assert verdicts["DEL-1"] == "pass", "DEL-1 was checked before the failure"
    assert verdicts["DEL-3"] == "not-run", "DEL-3 was never checked"
    assert verdicts["RPR-1"] == "fail", "a failure outside checks blocks counts against the primary clause"
    assert verdicts["DEL-4"] == "not-run"
    assert verdicts["MSG-4"] == "fail" and verdicts["MSG-1"] == "not-run" and verdicts["MSG-2"] == "not-run"
    assert verdicts["LIF-1"] == verdicts["LIF-2"] == "pass"
    del3 = run.verdict("DEL-3")["tests"][0]
    assert del3["status"] == "not-reached" and "failed first on DEL-5" in del3["message"]
    failed = run.verdict("DEL-5")["tests"][0]
    assert failed["status"] == "failed" and failed["blamed"] == ["DEL-5"]
    assert sorted(run.summary["contract_failures"]) == [
        "test_suite.py::test_fails_on_a_secondary_clause",
        "test_suite.py::test_fails_outside_checks",
        "test_suite.py::test_nested",
    ]
    assert run.summary["tests"] == {"failed": 3, "passed": 1}


def test_checks_blames_and_records() -> None:
    with collecting_checks() as checked:
        with checks("DEL-1", "ok"):
            pass
        with pytest.raises(AssertionError) as caught, checks("DEL-5", "bad"):
            raise AssertionError("x")
    assert checked == ["DEL-1"]
    assert getattr(caught.value, BLAME_ATTRIBUTE) == "DEL-5"
    assert blamed_clause(caught.value, ("DEL-2", "DEL-5")) == "DEL-5"
    assert blamed_clause(caught.value, ("DEL-2",)) == "DEL-2", "a clause the test does not name is not blamed"
    assert blamed_clause(RuntimeError(), ("RPR-1", "DEL-4")) == "RPR-1"
    assert blamed_clause(RuntimeError(), ()) is None


def test_checks_rejects_an_unknown_clause() -> None:
    with pytest.raises(KeyError), checks("NOPE-9", "x"):
        pass
