"""The contract the harness checks lives in the repository, and the catalogue agrees with it.

=========================================  ===================================================================
what                                       pinned
=========================================  ===================================================================
the document ships in the package          ``swarmconf/CONTRACT.md`` is :data:`DOCUMENT`; setup.py packages it
clause IDs                                 every ID in the document is in ``CLAUSES``, and vice versa, in order
areas and levels                           each clause sits under its area's heading; ``*(strict)*`` ⇔ strict
titles                                     every word of a title is in its clause's text (a title says nothing
                                           the clause does not); a title that does is caught
the run folder's contract page             CONTRACT.md copied as is, CONTRACT.html with an anchor per clause
summary.md / summary.json                  each clause's full text next to its verdict, linked to its anchor
=========================================  ===================================================================
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swarmconf.contract import CLAUSES, DOCUMENT, Level, clause_text, parse_document, written_clauses
from swarmconf.reports import contract_page

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[3]


def test_the_contract_ships_inside_the_package():
    assert DOCUMENT == ROOT / "swarmconf" / "CONTRACT.md" and DOCUMENT.is_file()
    assert '"CONTRACT.md"' in (ROOT / "setup.py").read_text(), "package_data carries it into a wheel"


def test_every_clause_of_the_document_is_in_the_catalogue_and_vice_versa():
    assert list(written_clauses()) == list(CLAUSES)


def test_areas_and_levels_agree():
    for cid, written in written_clauses().items():
        assert written.heading.startswith(f"{cid.split('-')[0]} — "), written.heading
        assert written.level is CLAUSES[cid].level, cid
    assert {c for c, w in written_clauses().items() if w.level is Level.STRICT} == {"ISO-6", "ISO-7"}


def missing_words(title: str, text: str) -> list[str]:
    """Words of four letters or more in ``title`` whose first five letters are nowhere in ``text``."""
    haystack = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return [w for w in re.findall(r"[a-z0-9]+", title.lower()) if len(w) >= 4 and w[:5] not in haystack]


@pytest.mark.parametrize("cid", list(CLAUSES))
def test_each_title_says_nothing_its_clause_does_not(cid):
    assert missing_words(CLAUSES[cid].title, clause_text(cid)) == []


def test_a_title_that_claims_more_is_caught():
    assert missing_words("Layer 2: the finalize hook also reaps orphans", clause_text("DEL-3")) == [
        "also",
        "reaps",
        "orphans",
    ]


def test_a_clause_continues_on_indented_lines_and_a_strict_mark_is_read():
    written = parse_document("## ISO — isolation\n- **ISO-6** *(strict)* one\n  two\n- **ISO-7** three\n")
    assert (written["ISO-6"].text, written["ISO-6"].level) == ("one two", Level.STRICT)
    assert (written["ISO-7"].text, written["ISO-7"].level) == ("three", Level.BASELINE)


def test_the_run_folder_gets_the_contract_with_an_anchor_per_clause(tmp_path):
    page = contract_page.write(tmp_path)
    assert (tmp_path / "CONTRACT.md").read_bytes() == DOCUMENT.read_bytes()
    anchors = re.findall(r'<li id="([A-Z]+-\d+)">', page.read_text())
    assert anchors == list(CLAUSES)
    assert contract_page.href(CLAUSES["ISO-4"], base="../") == "../CONTRACT.html#ISO-4"


def test_summaries_show_each_clause_text_next_to_its_verdict(suite):
    run = suite('import pytest\n@pytest.mark.clause("ISO-5")\ndef test_x():\n    assert False, "401 expected"\n')
    iso5 = run.verdict("ISO-5")
    assert iso5["text"] == clause_text("ISO-5") and iso5["text"].startswith("Authentication happens before")
    md = (run.folder / "summary.md").read_text()
    assert (
        f"| [ISO-5](CONTRACT.html#ISO-5) | baseline | ❌ fail | 1 | blocks the release | {clause_text('ISO-5')}" in md
    )
    assert f"  > **ISO-5**: {clause_text('ISO-5')}" in md, "a failure quotes the clause it broke"
    assert md.index("## Contract failures") < md.index("| clause |"), "what failed comes before the clause table"
    assert (run.folder / "CONTRACT.html").is_file()
