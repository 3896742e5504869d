"""The UserSwarm contract as data: every clause ID, its area, level and one-line statement.

This is the one place that knows the clauses of ``CONTRACT.md``. Tests name the clauses they prove
(``@pytest.mark.clause("ISO-4")``); the reports turn per-test results into a verdict per clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
        _c("ISO-2", "Runtime Services are ClusterIP or headless and unreachable from outside the cluster"),
        _c(
            "ISO-3", "Ownership is explicit and deterministic: one labelled, owner-referenced set of children per swarm"
        ),
        _c(
            "ISO-4",
            "The orchestrator routes by the authenticated workspace only; no cross-user path, no existence leak",
        ),
        _c("ISO-5", "Authentication happens before any runtime access: bad credentials get 401 and reach no runtime"),
        _c(
            "ISO-6",
            "Pod-level isolation: other pods cannot connect to a runtime (NetworkPolicy enforced)",
            Level.STRICT,
        ),
        _c(
            "ISO-7",
            "Least privilege inside the runtime: no API access to other swarms, no credentials in ConfigMaps",
            Level.STRICT,
        ),
        _c("MSG-1", "A well-formed message to the user's own verified workspace succeeds"),
        _c("MSG-2", "The orchestrator resolves the workspace to the Service in its UserSwarm status, and no other"),
        _c("MSG-3", "The request reaches the runtime privately, through the cluster network, from the orchestrator"),
        _c("MSG-4", "The reply comes back and is provably from the right swarm"),
        _c("MSG-5", "Verified gating: 503 and nothing sent until verified=true; Ready-but-unverified gets no traffic"),
        _c("MSG-6", "A conversation's history lives on its swarm's volume and survives a runtime restart"),
        _c("DEL-1", "A deleted workspace is gone for every API call and no message reaches its runtime"),
        _c("DEL-2", "Layer 1: the orchestrator deletes the cluster-scoped UserSwarm"),
        _c(
            "DEL-3",
            "Layer 2: the finalize hook tears down every child, then the finalizer is removed; the volume is released",
        ),
        _c("DEL-4", "Layer 3: a UserSwarm without a live owner is removed by the reaper, its children through layer 2"),
        _c("DEL-5", "Nothing else is touched by a deletion, a reaper sweep or a failed cleanup"),
        _c("DEL-6", "Every layer is idempotent"),
        _c("RPR-1", "Orchestrator dies between workspace and UserSwarm deletion: the reaper removes the orphan"),
        _c("RPR-2", "Metacontroller down during deletion: cleanup completes when it returns"),
        _c("RPR-3", "Finalize hook fails after partial teardown: the rest is torn down on recovery, nothing recreated"),
        _c("RPR-4", "Finalizer force-removed with children left: the children are collected"),
        _c("RPR-5", "The reaper is safe: spares live owners, survives a failing item, runs on demand and on schedule"),
        _c("LIF-1", "Creating a workspace creates exactly one UserSwarm that becomes verified within budget"),
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
