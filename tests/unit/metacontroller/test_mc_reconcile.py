"""The reconcile loop over fakes: one sync pass at a time, asserting exactly what is written (items 2–11).

Coverage matrix:

==========================  ===================================================================================
behaviour                   cases
==========================  ===================================================================================
request                     declared types present and empty; related {}; finalizing flag; cluster-parent keys
create                      ownerRef (controller, blockOwnerDeletion); last-applied; controller-uid label
steady state                same answer twice → zero writes (children and status)
update strategies           InPlace → PUT; Recreate → delete (UID, Background); OnDelete → nothing
delete                      child no longer returned → delete with UID precondition + Background;
                            terminating children skipped
status                      replaced wholesale + observedGeneration via /status; unchanged → no write;
                            null → {observedGeneration}
adoption / release          matching orphan adopted and sent to the hook; owned child with changed labels
                            released and not sent
failures                    hook error → no writes, SyncError event, raises; selector mismatch → same;
                            namespaced child without namespace → create error but status still written;
                            429 → delayed requeue, no error
resync                      resyncAfterSeconds 0.1 → enqueue_after(key, 0.1)
finalizer                   added before the first hook call; finalize hook while deleting, children still
                            managed; finalized → finalizer removed, that answer's children not applied;
                            no finalize hook → sync hook with finalizing false and no child writes;
                            finalize hook dropped → finalizer removed
==========================  ===================================================================================
"""

from __future__ import annotations

from typing import Any

import pytest
from mc_world import CONFIGMAPS, PARENT, SECRETS, World, compositecontroller, configmap, make_world, widget

from swarmconf.clusters.metacontroller.controller.apply import LAST_APPLIED_ANNOTATION, get_last_applied
from swarmconf.clusters.metacontroller.controller.errors import ControllerError, HookTooManyRequests
from swarmconf.clusters.metacontroller.controller.hookapi import SyncResponse

FINALIZER = "metacontroller.io/compositecontroller-widgets"
WITH_FINALIZE: dict[str, Any] = {
    "hooks": {"sync": {"webhook": {"url": "http://h/s"}}, "finalize": {"webhook": {"url": "http://h/f"}}}
}


def _uid(world: World) -> str:
    return world.api.get(PARENT, "", "w1")["metadata"]["uid"]


def test_first_sync_request_create_and_status() -> None:
    world = make_world()
    world.hook.returns([configmap("c1")], status={"phase": "Ready"})
    world.sync()
    request = world.hook.requests[0]
    assert request["children"] == {"ConfigMap.v1": {}, "Secret.v1": {}}
    assert request["related"] == {} and request["finalizing"] is False
    assert request["controller"]["metadata"]["name"] == "widgets"
    child = world.api.stored(CONFIGMAPS, "ns1", "c1")
    assert child is not None
    assert child["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "test.example.com/v1",
            "kind": "Widget",
            "name": "w1",
            "uid": _uid(world),
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert child["metadata"]["labels"] == {"controller-uid": _uid(world)}
    assert get_last_applied(child) == {
        **configmap("c1"),
        "metadata": {**configmap("c1")["metadata"], "labels": {"controller-uid": _uid(world)}},
    }
    parent = world.api.get(PARENT, "", "w1")
    assert parent["status"] == {"phase": "Ready", "observedGeneration": 1}
    assert ("update-status", "Widget", "/w1") in world.api.writes


def test_steady_state_writes_nothing_and_sends_cluster_parent_keys() -> None:
    world = make_world()
    world.hook.returns([configmap("c1"), configmap("c1", namespace="ns2")], status={"phase": "Ready"})
    world.sync()
    assert world.writes_during(world.sync) == []
    assert set(world.hook.requests[-1]["children"]["ConfigMap.v1"]) == {"ns1/c1", "ns2/c1"}


def test_inplace_update_and_recreate_and_ondelete() -> None:
    cc = compositecontroller()
    cc["spec"]["childResources"].append({"apiVersion": "apps/v1", "resource": "statefulsets"})  # OnDelete default
    world = make_world(cc)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns1"},
        "data": {"a": "MQ=="},
    }
    world.hook.returns([configmap("c1"), secret])
    world.sync()
    secret_uid = world.api.get(SECRETS, "ns1", "s")["metadata"]["uid"]
    world.hook.returns([configmap("c1", data={"k": "changed"}), {**secret, "data": {"a": "Mg=="}}])
    writes = world.writes_during(world.sync)
    assert ("update", "ConfigMap", "ns1/c1") in writes
    assert world.api.get(CONFIGMAPS, "ns1", "c1")["data"] == {"k": "changed"}
    assert ("delete", "Secret", "ns1/s") in writes
    assert {"name": "ns1/s", "uid": secret_uid, "propagation": "Background"} in world.api.deletes
    writes = world.writes_during(world.sync)  # the Recreate strategy's second half
    assert ("create", "Secret", "ns1/s") in writes


def test_ondelete_never_updates() -> None:
    cc = compositecontroller()
    cc["spec"]["childResources"][0]["updateStrategy"] = {"method": "OnDelete"}
    world = make_world(cc)
    world.hook.returns([configmap("c1")])
    world.sync()
    world.hook.returns([configmap("c1", data={"k": "changed"})])
    assert world.writes_during(world.sync) == []


def test_undesired_children_are_deleted_with_uid_and_background() -> None:
    world = make_world()
    world.hook.returns([configmap("keep"), configmap("drop")])
    world.sync()
    drop_uid = world.api.get(CONFIGMAPS, "ns1", "drop")["metadata"]["uid"]
    world.hook.returns([configmap("keep")])
    assert world.writes_during(world.sync) == [("delete", "ConfigMap", "ns1/drop")]
    assert world.api.deletes[-1] == {"name": "ns1/drop", "uid": drop_uid, "propagation": "Background"}


def test_terminating_children_are_not_deleted_again_but_are_sent() -> None:
    world = make_world()
    world.hook.returns([configmap("c1", finalizers=["hold"])])
    world.sync()
    world.hook.returns([])
    world.sync()  # sets deletionTimestamp (the child has a finalizer)
    writes = world.writes_during(world.sync)
    assert writes == []
    assert "ns1/c1" in world.hook.requests[-1]["children"]["ConfigMap.v1"]


def test_status_replaced_wholesale_only_when_changed() -> None:
    world = make_world()
    world.hook.returns(status={"a": 1, "b": 2})
    world.sync()
    world.hook.returns(status={"b": 3})
    world.sync()
    assert world.api.get(PARENT, "", "w1")["status"] == {"b": 3, "observedGeneration": 1}
    assert world.writes_during(world.sync) == []
    world.hook.returns(status=None)
    world.sync()
    assert world.api.get(PARENT, "", "w1")["status"] == {"observedGeneration": 1}


def test_adopts_matching_orphans_and_releases_mismatched() -> None:
    world = make_world()
    uid = _uid(world)
    world.api.seed(CONFIGMAPS, configmap("orphan", labels={"controller-uid": uid}))
    world.api.seed(CONFIGMAPS, configmap("stranger", labels={"controller-uid": "nobody"}))
    world.hook.returns([configmap("orphan")])
    world.sync()
    assert list(world.hook.requests[0]["children"]["ConfigMap.v1"]) == ["ns1/orphan"]
    assert world.api.get(CONFIGMAPS, "ns1", "orphan")["metadata"]["ownerReferences"][0]["uid"] == uid
    assert "ownerReferences" not in world.api.get(CONFIGMAPS, "ns1", "stranger")["metadata"]
    # Relabel the adopted child: it is released and no longer sent (nor deleted).
    child = world.api.get(CONFIGMAPS, "ns1", "orphan")
    child["metadata"]["labels"] = {"controller-uid": "moved"}
    world.api.replace(CONFIGMAPS, child)
    world.hook.returns([])
    world.sync()
    assert world.hook.requests[-1]["children"]["ConfigMap.v1"] == {}
    assert world.api.get(CONFIGMAPS, "ns1", "orphan")["metadata"]["ownerReferences"] == []


def test_hook_error_writes_nothing_records_event_and_raises() -> None:
    world = make_world()
    world.hook.returns([configmap("c1")], status={"x": 1})
    world.sync()
    world.hook.fails()
    with pytest.raises(ControllerError):
        assert world.writes_during(world.sync) == []
    assert world.api.get(PARENT, "", "w1")["status"] == {"x": 1, "observedGeneration": 1}
    assert world.recorder.events[-1][:2] == ("Warning", "SyncError")
    assert world.recorder.events[-1][2].startswith("Sync error: ")


def test_selector_mismatch_fails_before_any_write() -> None:
    world = make_world()
    world.hook.returns([configmap("c1", labels={"controller-uid": "someone-else"})])
    before = list(world.api.writes)
    with pytest.raises(ControllerError, match="don't match parent selector"):
        world.sync()
    assert world.api.writes == before


def test_child_without_namespace_fails_but_status_is_written() -> None:
    world = make_world()
    world.hook.returns([configmap("c1", namespace="")], status={"s": 1})
    with pytest.raises(ControllerError, match=r"no metadata\.namespace"):
        world.sync()
    assert world.api.get(PARENT, "", "w1")["status"] == {"s": 1, "observedGeneration": 1}


def test_429_requeues_after_retry_after() -> None:
    world = make_world()

    def slow_down(request: dict) -> SyncResponse:
        raise HookTooManyRequests(3.0)

    world.hook.answer = slow_down
    world.sync()
    assert world.delayed == [("w1", 3.0)]


def test_resync_after_seconds() -> None:
    world = make_world()
    world.hook.returns(resync_after_seconds=0.1)
    world.sync()
    assert world.delayed == [("w1", 0.1)]


def test_finalizer_lifecycle_and_finalize_hook() -> None:
    world = make_world(compositecontroller(hooks=WITH_FINALIZE["hooks"]))
    world.hook.returns([configmap("a"), configmap("b")])
    world.sync()
    assert world.hook.requests[0]["parent"]["metadata"]["finalizers"] == [FINALIZER]  # added before the call
    assert world.hook.targets[0].url == "http://h/s"
    world.api.delete(PARENT, "", "w1")  # deletionTimestamp set, finalizer holds it
    world.hook.returns([configmap("a")])  # ordered teardown: drop b first
    writes = world.writes_during(world.sync)
    assert world.hook.targets[-1].url == "http://h/f"
    assert world.hook.requests[-1]["finalizing"] is True
    assert ("delete", "ConfigMap", "ns1/b") in writes
    world.hook.returns([configmap("a"), configmap("new")], finalized=True)
    writes = world.writes_during(world.sync)
    assert ("create", "ConfigMap", "ns1/new") not in writes
    assert world.api.stored(PARENT, "", "w1") is None  # last finalizer gone: deleted
    assert world.api.stored(CONFIGMAPS, "ns1", "a") is not None  # left to the garbage collector


def test_deletion_without_finalize_hook_calls_sync_and_leaves_children() -> None:
    world = make_world(parents=[widget(finalizers=["someone.else/hold"])])
    world.hook.returns([configmap("a")])
    world.sync()
    world.api.delete(PARENT, "", "w1")
    world.hook.returns([])
    writes = world.writes_during(world.sync)
    assert world.hook.requests[-1]["finalizing"] is False
    assert world.hook.targets[-1].url == "http://hook/sync"
    assert writes == []


def test_dropping_the_finalize_hook_removes_the_finalizer() -> None:
    world = make_world(parents=[widget(finalizers=[FINALIZER])])
    world.sync()
    assert world.api.get(PARENT, "", "w1")["metadata"]["finalizers"] == []


def test_last_applied_annotation_name() -> None:
    assert LAST_APPLIED_ANNOTATION == "metacontroller.k8s.io/last-applied-configuration"
