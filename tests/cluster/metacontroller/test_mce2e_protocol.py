"""Hook protocol and child management against a real API server (METACONTROLLER.md §6 items 2, 3, 5–8, 10).

Coverage matrix (each test has its own parent CRD, CompositeController, namespace and hook id):

======================================  ===========================================================================
test                                    asserts
======================================  ===========================================================================
test_request_shape                      top-level keys in upstream order; ``Kind.version`` and ``Kind.group/version``
                                        group keys, every declared type present (``{}`` when empty); ``ns/name``
                                        child keys for a cluster-scoped parent; ``related: {}``; ``finalizing``;
                                        controller and parent objects; only claimed children
test_create_owner_and_last_applied      ownerReference (apiVersion, kind, name, uid, controller, blockOwnerDeletion);
                                        last-applied annotation == desired (+ controller-uid); status with
                                        observedGeneration written through /status
test_steady_state_writes_nothing        a sync with nothing changed leaves the child's and the parent's
                                        resourceVersion untouched (consistently)
test_undesired_child_deleted_background child dropped from the answer is deleted with Background propagation: it is
                                        gone at once while its own dependent is only marked for deletion
test_status_replaced_wholesale          hook status replaces .status (old keys vanish) + observedGeneration, which
                                        follows metadata.generation
test_parent_deletion_cascades           without a finalize hook, deleting the parent leaves children to the GC,
                                        which removes them through the ownerReferences
======================================  ===========================================================================

Not observable from outside the API server, and covered by unit tests instead: the UID precondition on deletes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from mce2e import CONFIGMAPS, Scenario, configmap

from swarmconf.clusters.metacontroller.controller.apply import LAST_APPLIED_ANNOTATION
from swarmconf.clusters.metacontroller.controller.errors import ApiError, NotFound
from swarmconf.clusters.metacontroller.controller.kube import Obj
from swarmconf.waits import consistently, wait_for

pytestmark = pytest.mark.cluster

CM_INPLACE = {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}
STATEFULSETS = {"apiVersion": "apps/v1", "resource": "statefulsets"}


def _child(scenario: Scenario, namespace: str, name: str) -> Obj | None:
    try:
        return scenario.api.get(CONFIGMAPS, namespace, name)
    except NotFound:
        return None


def _wait_child(
    scenario: Scenario, namespace: str, name: str, until: Callable[[Obj | None], bool] = bool, timeout: float = 30
) -> Obj:
    child = wait_for(
        lambda: _child(scenario, namespace, name),
        until=until,
        description=f"ConfigMap {namespace}/{name} matches",
        timeout=timeout,
        interval=0.25,
        transient=(ApiError,),
    )
    assert child is not None
    return child


def _wait_status(scenario: Scenario, name: str, status: Obj, timeout: float = 30) -> Obj:
    parent = wait_for(
        lambda: scenario.parent(name),
        until=lambda p: p is not None and p.get("status") == status,
        description=f"parent {name} has status {status}",
        timeout=timeout,
        interval=0.25,
        transient=(ApiError,),
    )
    assert parent is not None
    return parent


def test_request_shape(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("c1", ns)])
    cc = scenario.controller([CM_INPLACE, STATEFULSETS], generateSelector=True)
    parent = scenario.create_parent("p1")
    uid = parent["metadata"]["uid"]
    key = f"{ns}/c1"
    record = scenario.hook.wait_request(
        lambda r: key in r["body"]["children"].get("ConfigMap.v1", {}),
        description="a sync request that observes the created ConfigMap",
    )
    first = scenario.hook.requests("sync")[0]["body"]
    assert first["children"] == {"ConfigMap.v1": {}, "StatefulSet.apps/v1": {}}

    body = record["body"]
    assert record["kind"] == "sync"
    assert list(body) == ["controller", "parent", "children", "related", "finalizing"]
    assert body["controller"]["metadata"]["name"] == cc["metadata"]["name"]
    assert body["controller"]["spec"]["parentResource"] == {"apiVersion": scenario.api_version, "resource": "widgets"}
    assert body["parent"]["apiVersion"] == scenario.api_version
    assert body["parent"]["kind"] == "Widget"
    assert body["parent"]["metadata"]["uid"] == uid
    assert set(body["children"]) == {"ConfigMap.v1", "StatefulSet.apps/v1"}
    assert body["children"]["StatefulSet.apps/v1"] == {}
    assert list(body["children"]["ConfigMap.v1"]) == [key]
    observed = body["children"]["ConfigMap.v1"][key]
    assert observed["metadata"]["ownerReferences"][0]["uid"] == uid
    assert body["related"] == {}
    assert body["finalizing"] is False


def test_create_owner_and_last_applied(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    desired = configmap("c1", ns, data={"greeting": "<hello & bye>"}, labels={"app": "demo"})
    scenario.hook.respond(children=[desired], status={"phase": "Ready"})
    scenario.controller([CM_INPLACE], generateSelector=True)
    parent = scenario.create_parent("p1")
    uid = parent["metadata"]["uid"]

    child = _wait_child(scenario, ns, "c1")
    assert child["metadata"]["ownerReferences"] == [
        {
            "apiVersion": scenario.api_version,
            "kind": "Widget",
            "name": "p1",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert child["metadata"]["labels"] == {"app": "demo", "controller-uid": uid}
    last_applied = json.loads(child["metadata"]["annotations"][LAST_APPLIED_ANNOTATION])
    expected = json.loads(json.dumps(desired))
    expected["metadata"]["labels"]["controller-uid"] = uid
    assert last_applied == expected
    assert child["data"] == {"greeting": "<hello & bye>"}
    _wait_status(scenario, "p1", {"phase": "Ready", "observedGeneration": 1})


def test_steady_state_writes_nothing(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("c1", ns)], status={"phase": "Ready"})
    scenario.controller([CM_INPLACE], generateSelector=True)
    scenario.create_parent("p1")
    child = _wait_child(scenario, ns, "c1")
    _wait_status(scenario, "p1", {"phase": "Ready", "observedGeneration": 1})
    scenario.hook.wait_request(
        lambda r: f"{ns}/c1" in r["body"]["children"]["ConfigMap.v1"],
        description="the hook has seen the child",
    )

    seq = scenario.hook.last_seq()
    touched = scenario.update_parent("p1", lambda p: p["metadata"].setdefault("annotations", {}).update(touch="1"))
    touched_rv = touched["metadata"]["resourceVersion"]
    scenario.hook.wait_request(
        lambda r: r["body"]["parent"]["metadata"]["resourceVersion"] == touched_rv,
        description="a sync of the touched parent",
        after=seq,
    )
    child_rv = child["metadata"]["resourceVersion"]

    def versions() -> tuple[str, str]:
        parent, current = scenario.parent("p1"), _child(scenario, ns, "c1")
        assert parent is not None and current is not None
        return parent["metadata"]["resourceVersion"], current["metadata"]["resourceVersion"]

    consistently(
        versions,
        holds=lambda v: v == (touched_rv, child_rv),
        description="neither the parent nor the child is written when nothing changed",
        duration=4,
    )


def test_undesired_child_deleted_background(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("keep", ns), configmap("drop", ns)])
    scenario.controller([CM_INPLACE], generateSelector=True)
    scenario.create_parent("p1")
    _wait_child(scenario, ns, "keep")
    drop = _wait_child(scenario, ns, "drop")
    # A dependent of "drop" that cannot vanish (it has a finalizer): Background deletes "drop" at once and only
    # marks the dependent; Foreground would keep "drop" until the dependent is gone; Orphan would not touch it.
    dependent = configmap("dependent", ns, finalizers=["mce2e.swarmconf.io/hold"])
    dependent["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": "drop",
            "uid": drop["metadata"]["uid"],
            "blockOwnerDeletion": True,
        }
    ]
    scenario.api.create(CONFIGMAPS, dependent)
    try:
        scenario.hook.respond(children=[configmap("keep", ns)])
        scenario.update_parent("p1", lambda p: p["spec"].update(revision=2))
        wait_for(
            lambda: _child(scenario, ns, "drop"),
            until=lambda c: c is None,
            description="the undesired child is deleted",
            timeout=30,
            interval=0.25,
        )
        _wait_child(scenario, ns, "dependent", until=lambda c: bool(c and c["metadata"].get("deletionTimestamp")))
        assert _child(scenario, ns, "keep") is not None
    finally:
        if _child(scenario, ns, "dependent") is not None:
            scenario.update(CONFIGMAPS, ns, "dependent", lambda c: c["metadata"].update(finalizers=[]))


def test_status_replaced_wholesale(scenario: Scenario) -> None:
    scenario.parent_crd()
    scenario.hook.respond(status={"a": 1, "b": {"nested": True}})
    scenario.controller([CM_INPLACE], generateSelector=True)
    scenario.create_parent("p1")
    _wait_status(scenario, "p1", {"a": 1, "b": {"nested": True}, "observedGeneration": 1})
    scenario.hook.respond(status={"c": "only"})
    scenario.update_parent("p1", lambda p: p["spec"].update(revision=2))
    parent = _wait_status(scenario, "p1", {"c": "only", "observedGeneration": 2})
    assert parent["metadata"]["generation"] == 2
    scenario.hook.respond(status=None)
    scenario.update_parent("p1", lambda p: p["spec"].update(revision=3))
    _wait_status(scenario, "p1", {"observedGeneration": 3})


def test_parent_deletion_cascades(scenario: Scenario) -> None:
    ns, other = scenario.namespace("a"), scenario.namespace("b")
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("c1", ns), configmap("c1", other)])
    scenario.controller([CM_INPLACE], generateSelector=True)
    scenario.create_parent("p1")
    _wait_child(scenario, ns, "c1")
    _wait_child(scenario, other, "c1")
    scenario.delete_parent("p1")
    for namespace in (ns, other):

        def child(namespace: str = namespace) -> Obj | None:
            return _child(scenario, namespace, "c1")

        wait_for(
            child,
            until=lambda c: c is None,
            description=f"the garbage collector removes {namespace}/c1",
            timeout=60,
            interval=0.5,
        )
