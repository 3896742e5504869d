"""A failing test that names several clauses counts against the clause it failed on, and passes none of the
clauses it did not finish checking.

=====================================================  =========================================================
in the test                                            per clause
=====================================================  =========================================================
fails inside ``checks("DEL-5")`` after DEL-1's check   DEL-5 fail; DEL-1 not reached (checked, the test did not
                                                       finish); DEL-3 not reached
fails between two ``checks("DEL-3")`` blocks           DEL-3 not reached, never pass (its second block never ran)
fails outside every ``checks`` block                   the primary (first) clause fails; the others not reached
nested ``checks`` blocks                               the innermost clause is blamed
passes                                                 every clause it names passes
``ContractBreach`` in a fixture's setup                contract failure (exit 1) of the breach's clause, named by
                                                       the test or not; the test's clauses not reached
``ContractBreach`` in teardown after a passing body    the breach's clause fails; the test's clauses pass
``ContractBreach`` in the body, clause not named       blamed on the primary clause (the body proves it)
``FaultNotInjected`` in the body                       infrastructure error (exit 3), not a contract failure
an xdist worker crashes in setup                       the crashed test's clauses are error, not pass from
                                                       another test that names them
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
    assert verdicts["DEL-1"] == "not-run", "DEL-1 was checked, but the test did not run to its end"
    assert verdicts["DEL-3"] == "not-run", "DEL-3 was never checked"
    assert verdicts["RPR-1"] == "fail", "a failure outside checks blocks counts against the primary clause"
    assert verdicts["DEL-4"] == "not-run"
    assert verdicts["MSG-4"] == "fail" and verdicts["MSG-1"] == "not-run" and verdicts["MSG-2"] == "not-run"
    assert verdicts["LIF-1"] == verdicts["LIF-2"] == "pass"
    del3 = run.verdict("DEL-3")["tests"][0]
    assert del3["status"] == "not-reached" and "failed on DEL-5 in call" in del3["message"]
    assert "a check of it finished" in run.verdict("DEL-1")["tests"][0]["message"]
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


BETWEEN_BLOCKS = """
import pytest
from swarmconf.reports.attribution import checks

@pytest.mark.clause("DEL-1", "DEL-3")
def test_deletion():
    with checks("DEL-3", "3. the hook tears the children down"):
        pass
    raise AssertionError("the held child was never released")
    with checks("DEL-3", "4. the UserSwarm is gone"):
        pass

@pytest.mark.clause("DEL-3")
def test_other_deletion():
    pass
"""


def test_a_failure_between_two_blocks_of_a_clause_never_passes_it(suite):
    run = suite(BETWEEN_BLOCKS)
    assert run.ret == ExitCode.CONTRACT_FAILED
    assert run.verdict("DEL-1")["verdict"] == "fail"
    del3 = run.verdict("DEL-3")
    assert (del3["verdict"], del3["reason"]) == ("not-run", "not reached"), "one of DEL-3's blocks never ran"


BREACHES = """
import pytest
from swarmconf.contract import ContractBreach
from swarmconf.fixtures.faults import FaultNotInjected

@pytest.fixture
def second_workspace():
    raise ContractBreach("LIF-1", "the second workspace never verified")

@pytest.fixture
def leaves_objects():
    yield
    raise ContractBreach("DEL-3", "workspace cleanup left UserSwarm us-1 behind")

@pytest.mark.clause("ISO-4")
def test_routing(second_workspace):
    pass

@pytest.mark.clause("MSG-1", "MSG-4")
def test_message(leaves_objects):
    pass

@pytest.mark.clause("ISO-3")
def test_body_breach_of_an_unnamed_clause():
    raise ContractBreach("LIF-1", "two UserSwarms for one workspace")
"""


def test_contract_breaches_in_fixtures_are_contract_failures_of_their_clause(suite):
    run = suite(BREACHES)
    assert run.ret == ExitCode.CONTRACT_FAILED
    assert run.summary["infrastructure_errors"] == []
    lif1 = run.verdict("LIF-1")
    assert lif1["verdict"] == "fail", "a breach in setup fails its clause, though the test does not name it"
    assert [t["nodeid"] for t in lif1["tests"]] == ["test_suite.py::test_routing"]
    assert run.verdict("ISO-4")["verdict"] == "not-run"
    assert run.verdict("DEL-3")["verdict"] == "fail", "cleanup that leaves objects behind breaks DEL-3"
    assert run.verdict("MSG-1")["verdict"] == run.verdict("MSG-4")["verdict"] == "pass", "the body passed"
    iso3 = run.verdict("ISO-3")
    assert iso3["verdict"] == "fail", "in the body a breach of an unnamed clause counts against the primary one"
    assert iso3["tests"][0]["message"].startswith("swarmconf.contract.ContractBreach: LIF-1: two UserSwarms")


def test_a_fault_that_fails_to_inject_is_an_infrastructure_error(suite):
    source = BREACHES.split("@pytest.fixture")[0] + (
        '@pytest.mark.clause("RPR-2")\ndef test_mc_down():\n'
        '    raise FaultNotInjected("Deployment metacontroller/metacontroller does not exist")\n'
    )
    run = suite(source)
    assert run.ret == ExitCode.INFRA_ERROR
    assert run.verdict("RPR-2")["verdict"] == "error"
    assert run.summary["contract_failures"] == []


CRASH = """
import os
import pytest

@pytest.fixture
def crashing():
    os._exit(1)

@pytest.mark.clause("ISO-4")
def test_a():
    pass

@pytest.mark.clause("ISO-4", "ISO-5")
def test_b(crashing):
    pass
"""


def test_an_xdist_worker_crash_leaves_its_clauses_without_a_verdict(suite):
    run = suite(CRASH, "-n", "2", "-p", "xdist")
    assert run.ret == ExitCode.INFRA_ERROR
    iso4 = run.verdict("ISO-4")
    assert iso4["verdict"] == "error", "test_a passed, but test_b never ran its setup"
    assert {t["nodeid"]: t["status"] for t in iso4["tests"]} == {
        "test_suite.py::test_a": "passed",
        "test_suite.py::test_b": "error",
    }
    assert run.verdict("ISO-5")["verdict"] == "error"
