"""``swarmconf profile``: validation errors, what a profile leaves unjudged, reading the preflight's steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmconf.cli import main
from swarmconf.cli.profile import read_steps, unjudged
from swarmconf.fixtures.profiles import load_profile

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
<testcase classname="test_preflight" name="test_the_entry_answers" time="0.1"/>
<testcase classname="test_preflight" name="test_a_minted_token_is_accepted">
  <failure message="AssertionError: a minted token was refused (HTTP 401)">trace</failure></testcase>
<testcase classname="test_preflight" name="test_a_workspace_is_created">
  <skipped message="skipped: no cluster"/></testcase>
</testsuite></testsuites>
"""


def test_steps_are_read_in_order_and_a_skip_is_never_a_pass(tmp_path: Path) -> None:
    junit = tmp_path / "p.xml"
    junit.write_text(JUNIT)
    steps = read_steps(junit)
    assert [name for name, _ in steps] == ["the_entry_answers", "a_minted_token_is_accepted", "a_workspace_is_created"]
    assert steps[0][1] == ""
    assert "a minted token was refused" in steps[1][1]
    assert steps[2][1].startswith("skipped")


def test_the_bundled_profile_is_valid_and_says_what_it_leaves_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "check", "reference", "--static"]) == 0
    assert "a valid profile of platform 'reference'" in capsys.readouterr().out
    reference = load_profile("reference")
    assert unjudged(reference) == [], "the bundled reference leaves nothing unjudged"
    runtime = reference.runtime.model_copy(update={"model_provider": None, "reply_verifier": None})
    lean = reference.model_copy(update={"orchestrator_crash": None, "defects": None, "entry": None, "runtime": runtime})
    notes = " ".join(unjudged(lean))
    assert all(word in notes for word in ("RPR-1", "selftest", "MSG-4", "`entry`")), notes


def test_an_invalid_profile_names_each_bad_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\ncrd: {group: x}\n")
    assert main(["profile", "check", str(bad), "--static"]) == 2
    err = capsys.readouterr().err
    assert "crd.version: Field required" in err and "routes: Field required" in err
    assert main(["profile", "check", str(tmp_path / "missing.yaml")]) == 2
    assert "unknown profile" in capsys.readouterr().err


def test_the_schema_is_json_schema_of_the_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "schema"]) == 0
    out = capsys.readouterr().out
    assert '"title": "Profile"' in out and '"routes"' in out
