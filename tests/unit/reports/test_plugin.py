"""The reports plugin as users see it: a synthetic suite with clause markers, run through pytester.

Coverage matrix (test → what it pins):

=================================  ==========================================================================
outcome in the suite               verdict, exit code, where it shows
=================================  ==========================================================================
all pass (narrowed selection)      pass, 7 (PARTIAL, never green); uncovered clauses "not selected"
assertion in the test body         fail, 1 (CONTRACT_FAILED); contract_failures
fixture error in setup             error, 3 (INFRA_ERROR); infrastructure_errors
teardown error after a pass        error, 3
body error flagged infrastructure  error, 3
contract failure + infra error     1: a proven breach wins
xfail                              fail (known, not met)
skip                               not-run (skipped), 6 (INCOMPLETE)
"not enforceable" skip             not-enforceable; strict gap at baseline (7: partial), 6 at --level strict
strict clause fails                strict gap at baseline (7: partial), fail and 1 at --level strict
full selection, clauses uncovered  not-run "no test names this clause", 6
-k deselects a clause              not-run "deselected", 7 (PARTIAL)
-k deselects one of two tests      the clause is not-run "deselected", never pass from the test that ran
--deselect / -m / --clause         7 (PARTIAL), the verdict line says how many clauses were judged
narrowed run with a failure        1, and the verdict line says the run was partial
collection error                   3
unknown clause ID                  usage error (4)
--reports not given                the gate still applies (verdict, exit code), no folder is written
no clause marker in the session    pytest's own exit status (the project's own tests)
=================================  ==========================================================================

Outputs: JUnit classname/name, Allure labels/categories/environment/executor, run manifest (stash + hook),
pytest-html verdict table and environment, the ``latest`` pointer.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from swarmconf.reports.exitcodes import ExitCode

pytest_plugins = ["pytester"]

PASSING = """
import pytest

@pytest.mark.clause("ISO-4")
def test_cross_user_denied():
    assert True

@pytest.mark.clause("ISO-5", "MSG-1")
def test_auth_before_runtime():
    assert 401 == 401
"""


def test_all_pass_in_a_narrowed_selection_is_partial_never_green(suite):
    run = suite(PASSING)
    assert run.ret == ExitCode.PARTIAL
    assert run.verdict("ISO-4")["verdict"] == "pass"
    assert run.verdict("MSG-1")["verdict"] == "pass"
    assert run.verdict("DEL-1") == run.verdict("DEL-1") | {"verdict": "not-run", "reason": "not selected"}
    line = "PARTIAL: 3 of 25 gating clauses judged, not a release verdict (none failed)"
    assert (run.summary["gate"], run.summary["partial"], run.summary["exit_meaning"]) == ("failed", True, line)
    assert run.summary["judged"] == {"clauses": 3, "gating": 25}
    run.result.stdout.fnmatch_lines([f"verdict: {line} (exit code 7)"])
    assert line in (run.folder / "summary.md").read_text()


@pytest.mark.parametrize(
    "narrowing",
    [("--deselect", "test_suite.py::test_cross_user_denied"), ("-m", "not slow"), ("-k", "auth")],
)
def test_every_way_of_narrowing_is_partial(suite, narrowing):
    run = suite(PASSING, *narrowing)
    assert run.ret == ExitCode.PARTIAL and run.summary["partial"] is True


def test_a_narrowed_run_that_fails_exits_1_and_says_it_was_partial(suite):
    run = suite(PASSING + '\n@pytest.mark.clause("ISO-3")\ndef test_children():\n    assert False\n')
    assert run.ret == ExitCode.CONTRACT_FAILED
    assert run.summary["exit_meaning"].endswith("(partial run: 4 of 25 gating clauses judged)")


def test_a_clause_with_a_deselected_test_is_not_pass(suite):
    source = PASSING + '\n@pytest.mark.clause("ISO-4")\ndef test_on_schedule():\n    pass\n'
    run = suite(source, "-k", "not schedule")
    assert run.ret == ExitCode.PARTIAL
    iso4 = run.verdict("ISO-4")
    assert (iso4["verdict"], iso4["reason"]) == ("not-run", "deselected"), "its scheduled test never ran"
    assert [t["status"] for t in iso4["tests"]] == ["passed"]


def test_assertion_in_the_body_is_a_contract_failure(suite):
    run = suite(PASSING + '\n@pytest.mark.clause("ISO-3")\ndef test_children():\n    assert 2 == 1, "shared child"\n')
    assert run.ret == ExitCode.CONTRACT_FAILED
    iso3 = run.verdict("ISO-3")
    assert (iso3["verdict"], iso3["blocks"]) == ("fail", True)
    assert iso3["tests"][0]["message"].startswith("AssertionError: shared child")
    assert run.summary["contract_failures"] == ["test_suite.py::test_children"]
    assert run.summary["infrastructure_errors"] == []
    assert "1 failed" in run.result.stdout.str()


def test_fixture_error_is_an_infrastructure_error(suite):
    run = suite(PASSING + '\n@pytest.mark.clause("DEL-3")\ndef test_finalize(cluster):\n    pass\n')
    assert run.ret == ExitCode.INFRA_ERROR
    del3 = run.verdict("DEL-3")
    assert (del3["verdict"], del3["tests"][0]["phase"]) == ("error", "setup")
    assert run.summary["infrastructure_errors"] == ["test_suite.py::test_finalize"]
    assert run.summary["contract_failures"] == []


def test_teardown_error_after_a_pass_is_an_infrastructure_error(suite):
    run = suite('import pytest\n@pytest.mark.clause("LIF-2")\ndef test_heal(leaky):\n    pass\n')
    assert run.ret == ExitCode.INFRA_ERROR
    assert (run.verdict("LIF-2")["verdict"], run.verdict("LIF-2")["tests"][0]["phase"]) == ("error", "teardown")


def test_body_error_flagged_infrastructure_is_not_a_contract_failure(suite):
    source = """
import pytest

class PortForwardLost(RuntimeError):
    infrastructure = True

@pytest.mark.clause("MSG-4")
def test_reply():
    try:
        raise ConnectionResetError("port-forward closed")
    except ConnectionResetError as exc:
        raise PortForwardLost("lost the port-forward to the orchestrator") from exc
"""
    run = suite(source)
    assert run.ret == ExitCode.INFRA_ERROR
    assert run.verdict("MSG-4")["verdict"] == "error"


def test_a_proven_breach_wins_over_an_infrastructure_error(suite):
    source = (
        PASSING
        + """
@pytest.mark.clause("DEL-3")
def test_finalize(cluster):
    pass

@pytest.mark.clause("DEL-1")
def test_gone():
    assert False, "workspace still answers"
"""
    )
    run = suite(source)
    assert run.ret == ExitCode.CONTRACT_FAILED
    assert run.verdict("DEL-3")["verdict"] == "error"
    assert run.verdict("DEL-1")["verdict"] == "fail"


def test_xfail_is_a_failed_clause_not_a_pass(suite):
    run = suite(
        'import pytest\n@pytest.mark.clause("MSG-6")\n@pytest.mark.xfail(reason="no PVC yet")\ndef test_h():\n'
        "    assert False\n"
    )
    assert run.ret == ExitCode.CONTRACT_FAILED
    assert run.verdict("MSG-6")["tests"][0]["message"] == "xfail: no PVC yet"


def test_skipped_baseline_clause_keeps_the_gate_shut(suite):
    run = suite(PASSING + '\n@pytest.mark.clause("RPR-2")\ndef test_mc_down():\n    pytest.skip("no time")\n')
    assert run.ret == ExitCode.INCOMPLETE
    assert (run.verdict("RPR-2")["verdict"], run.verdict("RPR-2")["reason"]) == ("not-run", "skipped")


NOT_ENFORCEABLE = """
import pytest
from swarmconf.reports.outcomes import not_enforceable

@pytest.mark.clause("ISO-6")
def test_netpol():
    not_enforceable("the CNI does not enforce NetworkPolicy")
"""


@pytest.mark.parametrize(("level", "code", "gap"), [("baseline", 7, True), ("strict", 6, False)])
def test_not_enforceable_is_never_a_pass(suite, level, code, gap):
    run = suite(PASSING + NOT_ENFORCEABLE, "--level", level)
    assert run.ret == code
    iso6 = run.verdict("ISO-6")
    assert (iso6["verdict"], iso6["strict_gap"], iso6["blocks"]) == ("not-enforceable", gap, not gap)


STRICT_FAILS = '\n@pytest.mark.clause("ISO-7")\ndef test_token():\n    assert False, "token automounted"\n'


@pytest.mark.parametrize(("level", "code"), [("baseline", ExitCode.PARTIAL), ("strict", ExitCode.CONTRACT_FAILED)])
def test_strict_failure_is_a_gap_at_baseline_and_blocks_at_strict(suite, level, code):
    run = suite(PASSING + STRICT_FAILS, "--level", level)
    assert run.ret == code
    assert run.verdict("ISO-7")["verdict"] == "fail"
    assert run.verdict("ISO-7")["strict_gap"] is (level == "baseline")
    assert run.summary["levels"]["strict"]["fail"] == 1


def test_full_selection_with_uncovered_clauses_is_incomplete(suite):
    run = suite(PASSING, path=False)
    assert run.ret == ExitCode.INCOMPLETE
    assert run.verdict("LIF-1")["reason"] == "no test names this clause"
    assert run.verdict("LIF-1")["blocks"] is True
    assert run.verdict("ISO-6")["blocks"] is False  # strict: not gating at baseline
    assert run.summary["complete"] is True


def test_deselected_clause_does_not_block_but_the_run_is_partial(suite):
    run = suite(PASSING + STRICT_FAILS.replace("ISO-7", "ISO-3"), "-k", "not token")
    assert run.ret == ExitCode.PARTIAL
    assert (run.verdict("ISO-3")["reason"], run.verdict("ISO-3")["blocks"]) == ("deselected", False)


def test_collection_error_is_an_infrastructure_error(suite, pytester):
    pytester.makepyfile(test_broken="import no_such_module_here\n")
    run = suite(PASSING, path=False)
    assert run.ret == ExitCode.INFRA_ERROR
    assert run.summary["collection_errors"] == ["test_broken.py"]


def test_unknown_clause_id_is_a_usage_error(suite):
    run = suite('import pytest\n@pytest.mark.clause("ISO-99")\ndef test_x():\n    pass\n')
    assert run.ret == ExitCode.USAGE_ERROR
    run.result.stderr.re_match_lines([r".*unknown clause ID\(s\) \['ISO-99'\].*"])
    assert (run.summary["gate"], run.summary["exit_code"]) == ("failed", ExitCode.USAGE_ERROR)


def test_nothing_selected_keeps_pytest_exit_5_and_fails_the_gate(suite):
    run = suite(PASSING, "-k", "no_such_test")
    assert run.ret == ExitCode.NO_TESTS
    assert run.summary["gate"] == "failed"


PLAIN = ("-p", "no:swarmconf", "-p", "no:pytest-kind", "-p", "no:cacheprovider")


def test_without_reports_option_the_gate_still_applies_and_nothing_is_written(pytester):
    pytester.makepyfile(test_x=PASSING + NOT_ENFORCEABLE)
    result = pytester.runpytest(*PLAIN)
    assert result.ret == ExitCode.INCOMPLETE, "a not-enforceable clause, uncovered clauses: never 0"
    result.stdout.fnmatch_lines(["*swarm-conformance verdict*", "ISO-6 *not-enforceable*", "verdict: INCOMPLETE:*"])
    result.stdout.fnmatch_lines(["no report files: add --reports*"])
    assert not (pytester.path / "reports").exists()
    narrowed = pytester.runpytest(*PLAIN, "-k", "auth")
    assert narrowed.ret == ExitCode.PARTIAL
    narrowed.stdout.fnmatch_lines(["verdict: PARTIAL: 2 of 25 gating clauses judged*"])


def test_a_session_without_clause_markers_keeps_pytest_exit_status(pytester):
    pytester.makepyfile(test_plain="def test_x():\n    pass\n")
    result = pytester.runpytest(*PLAIN)
    assert result.ret == 0
    assert "swarm-conformance verdict" not in result.stdout.str()


def test_junit_classname_is_the_area_and_name_the_clause_and_test(suite):
    run = suite(PASSING + STRICT_FAILS)
    cases = {c.get("name"): c.get("classname") for c in ET.parse(run.folder / "junit.xml").iter("testcase")}
    assert cases == {
        "ISO-4: test_cross_user_denied": "isolation",
        "ISO-5,MSG-1: test_auth_before_runtime": "isolation",
        "ISO-7: test_token": "isolation",
    }


def _allure_results(run):
    """The Allure results by test function (a failed test's title says what failed and why)."""
    results = (json.loads(p.read_text()) for p in (run.folder / "allure-results").glob("*-result.json"))
    return {d["fullName"].rsplit("#", 1)[-1]: d for d in results}


def test_allure_labels_come_from_the_clause_marker_unless_the_test_set_them(suite):
    source = (
        PASSING
        + STRICT_FAILS
        + """
import allure

@allure.epic("custom epic")
@pytest.mark.clause("DEL-2")
def test_own_epic(cluster):
    pass
"""
    )
    run = suite(source)
    results = _allure_results(run)

    def labels(name):
        return sorted((lb["name"], lb["value"]) for lb in results[name]["labels"] if lb["name"] != "tag")

    auth = labels("test_auth_before_runtime")
    assert {("epic", "isolation"), ("story", "ISO-5"), ("severity", "critical")} <= set(auth)
    assert ("story", "MSG-1") not in auth and ("epic", "messages") not in auth, "one epic and one story per test"
    tags = {lb["value"] for lb in results["test_auth_before_runtime"]["labels"] if lb["name"] == "tag"}
    assert "MSG-1" in tags, "the other clauses a test checks are tags"
    assert {("severity", "normal"), ("failure", "strict-gap")} <= set(labels("test_token"))
    own = labels("test_own_epic")
    assert ("epic", "custom epic") in own and ("epic", "deletion") not in own
    assert ("failure", "infrastructure") in own
    assert (
        results["test_own_epic"]["name"]
        == "DEL-2: test_own_epic — INFRASTRUCTURE ERROR: RuntimeError: kind cluster did not come up"
    )
    assert results["test_token"]["name"] == "ISO-7: test_token — STRICT GAP on ISO-7: AssertionError: token automounted"
    assert results["test_cross_user_denied"]["name"] == "ISO-4: test_cross_user_denied"
    outcome = {k: [lb["value"] for lb in r["labels"] if lb["name"] == "outcome"] for k, r in results.items()}
    assert outcome == {
        "test_cross_user_denied": ["5. passed"],
        "test_auth_before_runtime": ["5. passed"],
        "test_token": ["3. strict gaps (known, not gating)"],
        "test_own_epic": ["2. infrastructure errors (no verdict)"],
    }
    links = results["test_cross_user_denied"]["links"]
    assert links[0]["name"].startswith("ISO-4: ") and links[0]["url"] == "../CONTRACT.html#ISO-4"
    page = (run.folder / "allure-report" / links[0]["url"].split("#")[0]).resolve()
    assert page == run.folder / "CONTRACT.html" and 'id="ISO-4"' in page.read_text(), "the link resolves"
    description = results["test_auth_before_runtime"]["description"]
    assert "- **ISO-5** (baseline, proves; counted here): Authentication happens before any runtime access" in (
        description
    )
    assert "- **MSG-1** (baseline, also checks): The app sends the message with its credential" in description


def test_allure_side_files_and_manifest(suite, pytester):
    pytester.makeconftest(
        pytester.path.joinpath("conftest.py").read_text()
        + """
from swarmconf.reports.manifest import MANIFEST_KEY

def pytest_configure(config):
    config.stash[MANIFEST_KEY] = {"cluster": {"kubernetes": "v1.34.1", "provider": "kind"}}

@pytest.hookimpl(optionalhook=True)
def pytest_swarmconf_run_manifest(config):
    return {"images": {"orchestrator": "sha256:abc"}}
"""
    )
    run = suite(PASSING, "--reports-run-id", "run-42")
    assert run.folder.name == "run-42"
    manifest = json.loads((run.folder / "run-manifest.json").read_text())
    assert manifest["cluster"] == {"kubernetes": "v1.34.1", "provider": "kind"}
    assert manifest["images"] == {"orchestrator": "sha256:abc"}
    assert manifest["run_id"] == "run-42" and manifest["level"] == "baseline"
    results = run.folder / "allure-results"
    env = (results / "environment.properties").read_text()
    assert env == "cluster.kubernetes=v1.34.1\nlevel=baseline\nrun_id=run-42\n", "the run's identity only"
    categories = json.loads((results / "categories.json").read_text())
    assert [c["name"] for c in categories][:2] == ["Infrastructure errors (no verdict)", "Contract failures"]
    assert json.loads((results / "executor.json").read_text())["buildName"] == "run-42"
    html = (run.folder / "report.html").read_text()
    assert 'id="swarmconf-clauses"' in html and "v1.34.1" in html


def test_latest_points_at_the_newest_run(suite):
    first = suite(PASSING, "--reports-run-id", "a-first")
    second = suite(PASSING, "--reports-run-id", "b-second")
    assert first.folder.name == "a-first" and second.folder.name == "b-second"
    assert (second.folder.parent / "latest").resolve() == second.folder
