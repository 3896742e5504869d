"""Hook failures and refused parents against a real API server (METACONTROLLER.md §2 "Errors"; §6 items 1, 11).

Coverage matrix:

==========================================  ======================================================================
test                                        asserts
==========================================  ======================================================================
test_hook_failure_changes_nothing[fail]     hook answers 500
test_hook_failure_changes_nothing[hang]     hook does not answer within the CompositeController's 1 s timeout
test_hook_failure_changes_nothing[status]   hook answers 202 (any non-200 fails)
  (each of the three)                       after a parent change: children and status stay exactly as they were
                                            (resourceVersions), a Warning ``SyncError`` event ("Sync error: …")
                                            about the parent appears in ``default``, the hook keeps being called
                                            (retries with backoff), and once the hook recovers the change lands
test_no_status_subresource_is_refused       a parent CRD without /status: Warning ``SyncError`` event on the
                                            CompositeController ("does not have subresource 'Status' enabled");
                                            its parents get no finalizer and the hook is never called
test_selector_mismatch_is_refused           a desired child whose labels miss the parent's ``spec.selector`` fails
                                            the whole sync (event) and nothing is created
==========================================  ======================================================================
"""

from __future__ import annotations

from typing import Any

import pytest
from mce2e import CONFIGMAPS, Scenario, configmap, events_for

from swarmconf.clusters.metacontroller.controller.errors import NotFound
from swarmconf.waits import consistently, wait_for

pytestmark = pytest.mark.cluster

CM = {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}

FAILURES: dict[str, dict[str, Any]] = {
    "fail": {"mode": "fail"},
    "hang": {"mode": "hang", "hangSeconds": 5, "response": {}},
    "status": {"mode": "status", "statusCode": 202},
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_hook_failure_changes_nothing(scenario: Scenario, failure: str) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("c1", ns, data={"v": "1"})], status={"v": 1})
    scenario.controller([CM], generateSelector=True)

    def set_timeout(cc: dict[str, Any]) -> None:
        cc["spec"]["hooks"]["sync"]["webhook"]["timeout"] = "1s"

    scenario.update_controller(set_timeout)
    scenario.create_parent("p1")
    child = wait_for(
        lambda: _child_or_none(scenario, ns),
        description="the child exists",
        timeout=30,
        interval=0.25,
    )
    assert child is not None
    wait_for(
        lambda: scenario.parent("p1"),
        until=lambda p: bool(p and p.get("status") == {"v": 1, "observedGeneration": 1}),
        description="the first status is written",
        timeout=30,
        interval=0.25,
    )

    scenario.hook.program("sync", **FAILURES[failure])
    seq = scenario.hook.last_seq()
    changed = scenario.update_parent("p1", lambda p: p["spec"].update(revision=2))
    wait_for(
        lambda: events_for(scenario.api, "p1", reason="SyncError"),
        until=lambda evs: any(
            e["type"] == "Warning"
            and e["message"].startswith("Sync error: ")
            and e["involvedObject"].get("uid") == changed["metadata"]["uid"]
            for e in evs
        ),
        description="a Warning SyncError event about the parent",
        timeout=60,
        interval=0.5,
    )
    wait_for(
        lambda: scenario.hook.requests(after=seq, summary=True),
        until=lambda calls: len(calls) >= 3,
        description="the failing hook is retried",
        timeout=60,
        interval=0.5,
    )

    def state() -> tuple[str, str, Any]:
        parent, current = scenario.parent("p1"), _child_or_none(scenario, ns)
        assert parent is not None and current is not None
        return parent["metadata"]["resourceVersion"], current["metadata"]["resourceVersion"], parent.get("status")

    consistently(
        state,
        holds=lambda s: (
            s
            == (
                changed["metadata"]["resourceVersion"],
                child["metadata"]["resourceVersion"],
                {"v": 1, "observedGeneration": 1},
            )
        ),
        description="a failing hook changes neither children nor status",
        duration=3,
    )

    scenario.hook.respond(children=[configmap("c1", ns, data={"v": "2"})], status={"v": 2})
    wait_for(
        lambda: scenario.parent("p1"),
        until=lambda p: bool(p and p.get("status") == {"v": 2, "observedGeneration": 2}),
        description="the sync succeeds once the hook recovers",
        timeout=60,
        interval=0.5,
    )
    assert wait_for(
        lambda: _child_or_none(scenario, ns),
        until=lambda c: bool(c and c["data"] == {"v": "2"}),
        description="the child is updated after recovery",
        timeout=30,
        interval=0.25,
    )


def test_no_status_subresource_is_refused(scenario: Scenario) -> None:
    scenario.parent_crd(status_subresource=False)
    scenario.controller([CM], finalize=True, generateSelector=True)
    wait_for(
        lambda: events_for(scenario.api, scenario.cc_name, reason="SyncError"),
        until=lambda evs: any(
            e["type"] == "Warning" and "does not have subresource 'Status' enabled" in e["message"] for e in evs
        ),
        description="a Warning SyncError event about the missing status subresource",
        timeout=60,
        interval=0.5,
    )
    scenario.create_parent("p1")
    consistently(
        lambda: (scenario.hook.requests(summary=True), (scenario.parent("p1") or {})["metadata"].get("finalizers")),
        holds=lambda s: s == ([], None),
        description="the parent is ignored: no hook call, no finalizer",
        duration=5,
    )


def test_selector_mismatch_is_refused(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("c1", ns, labels={"app": "other"})])
    scenario.controller([CM])  # no generateSelector: the parent's spec.selector rules
    scenario.create_parent("p1", spec={"selector": {"matchLabels": {"app": "mine"}}})
    wait_for(
        lambda: events_for(scenario.api, "p1", reason="SyncError"),
        until=lambda evs: any("don't match parent selector" in e["message"] for e in evs),
        description="a SyncError event about the child's labels",
        timeout=60,
        interval=0.5,
    )
    assert _child_or_none(scenario, ns) is None
    scenario.hook.respond(children=[configmap("c1", ns, labels={"app": "mine"})])
    wait_for(
        lambda: _child_or_none(scenario, ns),
        description="a matching child is created",
        timeout=60,
        interval=0.5,
    )


def _child_or_none(scenario: Scenario, namespace: str) -> dict[str, Any] | None:
    try:
        return scenario.api.get(CONFIGMAPS, namespace, "c1")
    except NotFound:
        return None
