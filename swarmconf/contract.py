"""The UserSwarm contract as data: every clause ID, its area, level, one-line title and full text.

The contract itself is ``swarmconf/CONTRACT.md``, shipped inside the package (the one source: a unit test
pins that its clause IDs, areas and levels are exactly :data:`CLAUSES`' and that each title says nothing its
clause does not). :func:`clause_text` reads a clause's full statement from it, for the reports, which show it
next to each verdict. Tests name the clauses they prove (``@pytest.mark.clause("ISO-4")``); the reports turn
per-test results into a verdict per clause.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

#: The contract document, as the harness ships it.
DOCUMENT = Path(__file__).with_name("CONTRACT.md")


class Level(StrEnum):
    """How hard a clause is: baseline gates a release, strict is reported but never silently skipped."""

    BASELINE = "baseline"
    STRICT = "strict"


class Area(StrEnum):
    """The contract areas; each is one suite module and one Allure epic."""

    ISO = "isolation"
    MSG = "messages"
    DEL = "deletion"
    RPR = "recovery"
    LIF = "lifecycle"


@dataclass(frozen=True)
class Clause:
    """One clause of the contract."""

    id: str
    area: Area
    level: Level
    title: str


def _c(cid: str, title: str, level: Level = Level.BASELINE) -> Clause:
    return Clause(id=cid, area=Area[cid.split("-")[0]], level=level, title=title)


CLAUSES: dict[str, Clause] = {
    c.id: c
    for c in (
        _c(
            "ISO-1",
            "No public path to a runtime: no Ingress, route, LoadBalancer, NodePort, hostPort or hostNetwork",
        ),
        _c("ISO-2", "Runtime Services are ClusterIP or headless and not reachable from outside the cluster"),
        _c(
            "ISO-3", "Ownership is explicit and deterministic: one labelled, owner-referenced set of children per swarm"
        ),
        _c(
            "ISO-4",
            "The orchestrator resolves the target from the authenticated workspace only; "
            "no route for another user, no existence leak",
        ),
        _c(
            "ISO-5",
            "Authentication happens before any runtime access: "
            "a bad credential gets 401 and no runtime receives the request",
        ),
        _c(
            "ISO-6",
            "Pod-level isolation: another pod cannot open a connection to a runtime (NetworkPolicy enforced)",
            Level.STRICT,
        ),
        _c(
            "ISO-7",
            "Least privilege inside the runtime: it cannot read other swarms' objects, no credentials in ConfigMaps",
            Level.STRICT,
        ),
        _c("MSG-1", "A well-formed message to the user's own verified workspace succeeds"),
        _c("MSG-2", "The orchestrator resolves the workspace to the Service in its UserSwarm status, and no other"),
        _c("MSG-3", "The request reaches the runtime privately, through the cluster network, from the orchestrator"),
        _c("MSG-4", "The reply comes back and is provably from the right swarm"),
        _c(
            "MSG-5",
            "Verified gating: 503, the orchestrator sends nothing until verified=true; "
            "a Ready runtime whose verification fails never receives user traffic",
        ),
        _c("MSG-6", "A conversation's history lives on its swarm's volume and survives a runtime restart"),
        _c("DEL-1", "A deleted workspace is gone for every API call and no message reaches its runtime"),
        _c("DEL-2", "Layer 1: the orchestrator deletes the cluster-scoped UserSwarm"),
        _c(
            "DEL-3",
            "Layer 2: the finalize hook tears down the StatefulSet, Services, PVC, ConfigMap and ServiceAccount; "
            "only then is the finalizer removed; the volume is released",
        ),
        _c("DEL-4", "Layer 3: a UserSwarm without a live owner is removed by the reaper, its children through layer 2"),
        _c("DEL-5", "Nothing else is touched by a deletion, a reaper sweep or a failed cleanup"),
        _c("DEL-6", "Every layer is idempotent"),
        _c("RPR-1", "Orchestrator dies between workspace and UserSwarm deletion: the reaper removes the orphan"),
        _c("RPR-2", "Metacontroller down while the UserSwarm is deleted: cleanup completes when it returns"),
        _c(
            "RPR-3",
            "Finalize hook fails after part of the teardown: the rest is torn down on recovery, nothing recreated",
        ),
        _c("RPR-4", "Finalizer force-removed with children left: the children are collected"),
        _c(
            "RPR-5",
            "The reaper is safe: never deletes a UserSwarm whose owner exists, survives one failing item, "
            "can be run on demand and on schedule",
        ),
        _c("LIF-1", "Creating a workspace creates exactly one UserSwarm, verified within the profile's time budget"),
        _c("LIF-2", "Self-healing: deleted children are recreated and the workspace returns to verified"),
        _c("LIF-3", "Invalid input is rejected clearly and never destroys existing children or data"),
    )
}


def clause(clause_id: str) -> Clause:
    """Return the clause with this ID, or raise ``KeyError`` naming the known IDs."""
    try:
        return CLAUSES[clause_id]
    except KeyError:
        raise KeyError(f"unknown clause {clause_id!r}; known: {', '.join(CLAUSES)}") from None


@dataclass(frozen=True)
class Written:
    """A clause as the document writes it: its ID, its area's heading, its level and its full text."""

    id: str
    heading: str
    level: Level
    text: str
    """The statement in the document's Markdown, on one line, without the ID and the level mark."""


_BULLET = re.compile(r"^- \*\*(?P<id>[A-Z]+-\d+)\*\*\s+(?P<text>.*)$")
_STRICT_MARK = "*(strict)*"


def parse_document(markdown: str) -> dict[str, Written]:
    """Every clause bullet (``- **ISO-1** text``, continued on indented lines) under its ``##`` heading."""
    found: dict[str, Written] = {}
    heading, current = "", None
    for line in [*markdown.splitlines(), ""]:
        match = _BULLET.match(line)
        if current is not None and line.startswith("  ") and not match:
            current["text"] += " " + line.strip()
            continue
        if current is not None:
            found[current["id"]] = _written(current["id"], heading, current["text"])
            current = None
        if line.startswith("## "):
            heading = line[3:].strip()
        elif match:
            current = {"id": match["id"], "text": match["text"].strip()}
    return found


def _written(cid: str, heading: str, text: str) -> Written:
    level = Level.STRICT if _STRICT_MARK in text else Level.BASELINE
    return Written(cid, heading, level, " ".join(text.replace(_STRICT_MARK, "").split()))


@functools.cache
def written_clauses() -> dict[str, Written]:
    """The clauses of :data:`DOCUMENT` (read once)."""
    return parse_document(DOCUMENT.read_text(encoding="utf-8"))


def clause_text(clause_id: str) -> str:
    """The full statement of a clause, as the contract document writes it."""
    return written_clauses()[clause(clause_id).id].text


class ContractBreach(AssertionError):
    """The platform broke clause ``clause_id`` here: a contract failure of that clause, wherever it is raised.

    The one exception type for "the platform broke the contract" that a fixture (setup or teardown) or a
    helper may raise: the reports count it against its clause (see :mod:`swarmconf.reports.attribution`),
    never as an infrastructure error. Inside a test's ``checks()`` block, the block's clause is blamed
    instead (the test says what it is proving there). An ``AssertionError``, so the defect matrix reads it
    as a proof, not a crash.
    """

    def __init__(self, clause_id: str, message: str):
        self.clause = clause(clause_id).id  # an unknown ID is a harness bug: fail loudly, at once
        super().__init__(f"{clause_id}: {message}")
