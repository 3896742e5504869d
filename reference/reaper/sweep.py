"""One sweep: decide, per UserSwarm, whether its owner is gone, and delete only those (never on doubt).

An item is reaped only when the orchestrator positively answers "this workspace does not exist". Any error or
unclear answer skips that item, and the sweep goes on with the next. Deleting is idempotent (already gone is
fine) and guarded by the UserSwarm's UID, so a new swarm that reuses a name is never hit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.defects import Defect, Switches

__all__ = ["Owner", "OwnerCheckError", "OwnerDirectory", "ReapError", "Summary", "SwarmCatalog", "sweep"]


class Owner(enum.Enum):
    """What the orchestrator said about a workspace."""

    EXISTS = "exists"
    GONE = "gone"


class OwnerCheckError(RuntimeError):
    """The orchestrator could not (or would not clearly) answer."""


class ReapError(RuntimeError):
    """Deleting a UserSwarm failed."""


class OwnerDirectory(Protocol):
    def lookup(self, workspace_id: str) -> Owner: ...


class SwarmCatalog(Protocol):
    def list(self) -> list[dict[str, Any]]: ...

    def delete(self, name: str, uid: str) -> bool:
        """Delete; ``False`` if it was already gone."""
        ...


@dataclass
class Summary:
    """What a sweep did (logged as one JSON object)."""

    dry_run: bool
    checked: int = 0
    kept: list[str] = field(default_factory=list)
    reaped: list[str] = field(default_factory=list)
    would_reap: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    terminating: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    aborted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "event": "reaper-summary",
            "dryRun": self.dry_run,
            "checked": self.checked,
            "kept": self.kept,
            "reaped": self.reaped,
            "wouldReap": self.would_reap,
            "alreadyGone": self.already_gone,
            "terminating": self.terminating,
            "skipped": self.skipped,
            "aborted": self.aborted,
        }


def _owner(directory: OwnerDirectory, workspace_id: str, switches: Switches) -> Owner:
    try:
        return directory.lookup(workspace_id)
    except OwnerCheckError:
        if switches.has(Defect.RPR5_REAP_ON_ERROR):
            return Owner.GONE
        raise


def _reap(catalog: SwarmCatalog, swarm: dict[str, Any], summary: Summary) -> None:
    meta = swarm.get("metadata", {})
    name = str(meta.get("name"))
    if summary.dry_run:
        summary.would_reap.append(name)
    elif catalog.delete(name, str(meta.get("uid", ""))):
        summary.reaped.append(name)
    else:
        summary.already_gone.append(name)


def _one(
    catalog: SwarmCatalog, directory: OwnerDirectory, swarm: dict[str, Any], summary: Summary, switches: Switches
) -> None:
    meta = swarm.get("metadata", {})
    name = str(meta.get("name"))
    if meta.get("deletionTimestamp"):
        summary.terminating.append(name)
        return
    if (
        switches.has(Defect.DEL4_REAPER_ONLY_ORCHESTRATOR_SWARMS)
        and (meta.get("labels") or {}).get(L.CREATED_BY) != L.CREATED_BY_ORCHESTRATOR
    ):
        summary.kept.append(name)
        return
    workspace_id = (swarm.get("spec") or {}).get("workspaceId")
    if not isinstance(workspace_id, str) or not workspace_id:
        summary.skipped.append({"name": name, "reason": "no spec.workspaceId"})
        return
    if _owner(directory, workspace_id, switches) is Owner.EXISTS:
        summary.kept.append(name)
    else:
        _reap(catalog, swarm, summary)


def sweep(catalog: SwarmCatalog, directory: OwnerDirectory, *, dry_run: bool, switches: Switches) -> Summary:
    """Check every UserSwarm of this install once (listing errors propagate: nothing is deleted then)."""
    summary = Summary(dry_run=dry_run)
    for swarm in catalog.list():
        summary.checked += 1
        name = str(swarm.get("metadata", {}).get("name"))
        try:
            _one(catalog, directory, swarm, summary, switches)
        except (OwnerCheckError, ReapError) as exc:
            summary.skipped.append({"name": name, "reason": str(exc)})
            if switches.has(Defect.RPR5_ABORT_ON_FIRST_ERROR):
                summary.aborted = True
                break
    return summary
