"""Finalizer lifecycle against a real API server (METACONTROLLER.md §2 "Finalize hook"; §6 item 9).

Coverage matrix:

===========================================  ======================================================================
test                                         asserts
===========================================  ======================================================================
test_finalize_manages_children_until_done    finalizer ``metacontroller.io/compositecontroller-<cc>`` is on the parent
                                             in the very first hook request; deleting the parent calls the finalize
                                             hook with ``finalizing: true``; while it answers ``finalized: false`` the
                                             parent stays and its children are still created and deleted as answered;
                                             ``finalized: true`` removes the finalizer and the parent goes away
test_finalizer_removed_when_hook_dropped     removing ``hooks.finalize`` from the CompositeController removes the
                                             finalizer from existing parents
test_deletion_without_finalize_hook          no finalize hook: the sync hook is still called (``finalizing: false``)
                                             for a parent pending deletion, and its children are left alone
===========================================  ======================================================================
"""

from __future__ import annotations

import pytest
from mce2e import CONFIGMAPS, Scenario, configmap

from swarmconf.clusters.metacontroller.controller.errors import NotFound
from swarmconf.clusters.metacontroller.controller.kube import Obj
from swarmconf.waits import consistently, wait_for

pytestmark = pytest.mark.cluster

CM = {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}
HOLD = "mce2e.swarmconf.io/hold"


def _exists(scenario: Scenario, namespace: str, name: str) -> bool:
    try:
        scenario.api.get(CONFIGMAPS, namespace, name)
        return True
    except NotFound:
        return False


def _wait_children(scenario: Scenario, namespace: str, names: set[str], absent: frozenset[str] = frozenset()) -> None:
    wait_for(
        lambda: {n for n in names | absent if _exists(scenario, namespace, n)},
        until=lambda present: present == names,
        description=f"children {sorted(names)} exist and {sorted(absent)} do not",
        timeout=30,
        interval=0.25,
    )


def _parent_finalizers(scenario: Scenario, name: str) -> list[str] | None:
    parent = scenario.parent(name)
    return None if parent is None else list(parent["metadata"].get("finalizers") or [])


def test_finalize_manages_children_until_done(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    both = [configmap("a", ns), configmap("b", ns)]
    scenario.hook.respond("sync", children=both)
    scenario.hook.respond("finalize", children=both, finalized=False)
    scenario.controller([CM], finalize=True, generateSelector=True)
    scenario.create_parent("p1")
    first = scenario.hook.wait_request(lambda r: True, description="the first hook call", kind="sync")
    assert first["body"]["parent"]["metadata"]["finalizers"] == [scenario.finalizer]
    assert scenario.finalizer == f"metacontroller.io/compositecontroller-{scenario.cc_name}"
    _wait_children(scenario, ns, {"a", "b"})

    seq = scenario.hook.last_seq()
    scenario.delete_parent("p1")
    call = scenario.hook.wait_request(lambda r: True, description="a finalize call", kind="finalize", after=seq)
    assert call["body"]["finalizing"] is True
    assert call["body"]["parent"]["metadata"]["deletionTimestamp"]
    assert set(call["body"]["children"]["ConfigMap.v1"]) == {f"{ns}/a", f"{ns}/b"}

    # Ordered teardown: children are still managed while finalizing (delete b, even create c).
    scenario.hook.respond("finalize", children=[configmap("a", ns), configmap("c", ns)], finalized=False)
    scenario.poke("p1")
    _wait_children(scenario, ns, {"a", "c"}, absent=frozenset({"b"}))
    assert _parent_finalizers(scenario, "p1") == [scenario.finalizer]
    scenario.hook.respond("finalize", children=[], finalized=False)
    scenario.poke("p1")
    _wait_children(scenario, ns, set(), absent=frozenset({"a", "b", "c"}))
    assert _parent_finalizers(scenario, "p1") == [scenario.finalizer]

    scenario.hook.respond("finalize", children=[], finalized=True)
    scenario.poke("p1")
    wait_for(
        lambda: scenario.parent("p1"),
        until=lambda p: p is None,
        description="the parent is gone once the hook says finalized",
        timeout=30,
        interval=0.25,
    )


def test_finalizer_removed_when_hook_dropped(scenario: Scenario) -> None:
    scenario.parent_crd()
    scenario.controller([CM], finalize=True, generateSelector=True)
    scenario.create_parent("p1")
    wait_for(
        lambda: _parent_finalizers(scenario, "p1"),
        until=lambda f: f == [scenario.finalizer],
        description="the finalizer is added",
        timeout=30,
        interval=0.25,
    )

    def drop_finalize(cc: Obj) -> None:
        del cc["spec"]["hooks"]["finalize"]

    scenario.update_controller(drop_finalize)
    wait_for(
        lambda: _parent_finalizers(scenario, "p1"),
        until=lambda f: f == [],
        description="the finalizer is removed after the finalize hook is dropped",
        timeout=60,
        interval=0.5,
    )


def test_deletion_without_finalize_hook(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("a", ns)])
    scenario.controller([CM], generateSelector=True)
    scenario.create_parent("p1", finalizers=[HOLD])  # our own finalizer keeps it Terminating
    _wait_children(scenario, ns, {"a"})
    assert _parent_finalizers(scenario, "p1") == [HOLD]

    seq = scenario.hook.last_seq()
    scenario.hook.respond(children=[])  # would delete "a" if children were still managed
    scenario.delete_parent("p1")
    call = scenario.hook.wait_request(
        lambda r: bool(r["body"]["parent"]["metadata"].get("deletionTimestamp")),
        description="a sync call for the parent pending deletion",
        after=seq,
    )
    assert call["kind"] == "sync"
    assert call["body"]["finalizing"] is False
    consistently(
        lambda: _exists(scenario, ns, "a"),
        description="children are not managed during deletion without a finalize hook",
        duration=4,
    )
