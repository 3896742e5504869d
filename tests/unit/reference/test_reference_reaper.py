"""Reaper selection, with a fake UserSwarm catalog and a fake (or MockTransport-backed) orchestrator.

Coverage matrix (rows: the owner answer or item state; columns: normal, dry-run, and the reaper defects):

| item                            | normal                 | dry-run   | rpr5-reap-on-error | rpr5-abort | del4      |
|---------------------------------|------------------------|-----------|--------------------|------------|-----------|
| owner exists                    | kept                   | kept      | kept               | kept       | kept      |
| owner gone                      | reaped                 | wouldReap | reaped             | reaped     | if orch.  |
| error / unclear 404 / 5xx / 400 | skipped, rest continue | skipped   | **reaped**         | **stop**   | skipped   |
| terminating                     | untouched              | untouched | untouched          | untouched  | untouched |
| no spec.workspaceId             | skipped                | skipped   | skipped            | skipped    | skipped   |
| deleted meanwhile               | alreadyGone            |           |                    |            |           |
| delete fails                    | skipped, rest continue |           |                    |            |           |

Plus: running twice is idempotent; the HTTP directory maps only exact answers to exists/gone.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.defects import Defect, Switches
from swarmconf.reference.reaper.clients import OrchestratorDirectory
from swarmconf.reference.reaper.sweep import Owner, OwnerCheckError, ReapError, sweep


class Catalog:
    def __init__(self, *swarms: dict[str, Any]) -> None:
        self.swarms = {s["metadata"]["name"]: s for s in swarms}
        self.fail_delete: set[str] = set()

    def list(self) -> list[dict[str, Any]]:
        return list(self.swarms.values())

    def delete(self, name: str, uid: str) -> bool:
        if name in self.fail_delete:
            raise ReapError("delete failed: HTTP 500")
        return self.swarms.pop(name, None) is not None


class Directory:
    def __init__(self, answers: dict[str, Owner | Exception]) -> None:
        self.answers = answers

    def lookup(self, workspace_id: str) -> Owner:
        answer = self.answers[workspace_id]
        if isinstance(answer, Exception):
            raise answer
        return answer


def swarm(
    name: str, *, workspace: str | None = None, terminating: bool = False, by_orchestrator: bool = True
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "labels": {}}
    if by_orchestrator:
        meta["labels"][L.CREATED_BY] = "orchestrator"
    if terminating:
        meta["deletionTimestamp"] = "2030-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"workspaceId": workspace} if workspace else {}}


def world() -> tuple[Catalog, Directory]:
    catalog = Catalog(
        swarm("live", workspace="w-live"),
        swarm("orphan", workspace="w-gone"),
        swarm("doubt", workspace="w-err"),
        swarm("orphan2", workspace="w-gone2", by_orchestrator=False),
        swarm("dying", workspace="w-gone3", terminating=True),
        swarm("nospec"),
    )
    directory = Directory(
        {
            "w-live": Owner.EXISTS,
            "w-gone": Owner.GONE,
            "w-gone2": Owner.GONE,
            "w-err": OwnerCheckError("owner check answered HTTP 503"),
            "w-gone3": Owner.GONE,
        }
    )
    return catalog, directory


def test_reaps_only_positively_gone_owners_and_survives_failures() -> None:
    catalog, directory = world()
    summary = sweep(catalog, directory, dry_run=False, switches=Switches())
    assert sorted(summary.reaped) == ["orphan", "orphan2"]
    assert summary.kept == ["live"] and summary.terminating == ["dying"]
    assert {s["name"] for s in summary.skipped} == {"doubt", "nospec"}
    assert set(catalog.swarms) == {"live", "doubt", "dying", "nospec"}
    again = sweep(catalog, directory, dry_run=False, switches=Switches())
    assert again.reaped == [] and set(catalog.swarms) == {"live", "doubt", "dying", "nospec"}


def test_dry_run_deletes_nothing() -> None:
    catalog, directory = world()
    summary = sweep(catalog, directory, dry_run=True, switches=Switches())
    assert sorted(summary.would_reap) == ["orphan", "orphan2"] and summary.reaped == []
    assert len(catalog.swarms) == 6
    assert summary.as_json()["dryRun"] is True


def test_failed_delete_skips_that_item_only() -> None:
    catalog, directory = world()
    catalog.fail_delete = {"orphan"}
    summary = sweep(catalog, directory, dry_run=False, switches=Switches())
    assert summary.reaped == ["orphan2"] and "orphan" in catalog.swarms


def test_already_gone_is_fine() -> None:
    catalog, directory = world()
    catalog.delete = lambda name, uid: False  # type: ignore[method-assign]
    summary = sweep(catalog, directory, dry_run=False, switches=Switches())
    assert sorted(summary.already_gone) == ["orphan", "orphan2"]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"exists": True}, Owner.EXISTS),
        (404, {"exists": False}, Owner.GONE),
        (404, {"error": "not_found"}, None),
        (200, {"exists": False}, None),
        (503, {}, None),
        (400, {}, None),
        (401, {"error": "unauthorized"}, None),
        (200, "not json", None),
    ],
)
def test_directory_maps_only_exact_answers(status: int, body: Any, expected: Owner | None) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer s3cret"
        assert request.url.raw_path == b"/internal/workspaces/w%2F1"
        return httpx.Response(status, json=body) if not isinstance(body, str) else httpx.Response(status, text=body)

    directory = OrchestratorDirectory(
        httpx.Client(transport=httpx.MockTransport(handler)),
        base_url="http://orchestrator:8080/",
        service_token="s3cret",
    )
    if expected is None:
        with pytest.raises(OwnerCheckError):
            directory.lookup("w/1")
    else:
        assert directory.lookup("w/1") is expected


def test_directory_transport_error_is_owner_check_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    directory = OrchestratorDirectory(
        httpx.Client(transport=httpx.MockTransport(handler)), base_url="http://o", service_token="t"
    )
    with pytest.raises(OwnerCheckError):
        directory.lookup("w")


def test_defect_rpr5_reap_on_error_deletes_on_doubt() -> None:
    catalog, directory = world()
    summary = sweep(catalog, directory, dry_run=False, switches=Switches(Defect.RPR5_REAP_ON_ERROR))
    assert "doubt" in summary.reaped


def test_defect_rpr5_abort_on_first_error_stops_the_sweep() -> None:
    catalog = Catalog(swarm("doubt", workspace="w-err"), swarm("orphan", workspace="w-gone"))
    directory = Directory({"w-err": OwnerCheckError("x"), "w-gone": Owner.GONE})
    summary = sweep(catalog, directory, dry_run=False, switches=Switches(Defect.RPR5_ABORT_ON_FIRST_ERROR))
    assert summary.aborted and summary.reaped == [] and "orphan" in catalog.swarms
    normal = sweep(catalog, directory, dry_run=False, switches=Switches())
    assert normal.reaped == ["orphan"]


def test_defect_del4_ignores_swarms_not_made_by_the_orchestrator() -> None:
    catalog, directory = world()
    summary = sweep(catalog, directory, dry_run=False, switches=Switches(Defect.DEL4_REAPER_ONLY_ORCHESTRATOR_SWARMS))
    assert summary.reaped == ["orphan"] and "orphan2" in catalog.swarms
