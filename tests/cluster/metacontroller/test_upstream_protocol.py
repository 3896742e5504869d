"""Upstream Metacontroller v4.17.2, as installed by the harness, does what the reference platform relies on:

* it is upstream's build that runs (image, version, the binary's own log line);
* **sync**: the hook's children are created, owned by the parent, and its status lands on the parent;
* **finalize**: a deleted parent stays (held by upstream's finalizer) until the hook answers ``finalized: true``;
* **a failing hook is retried** until it answers, with no change to the parent;
* **resyncAfterSeconds** brings the hook back without any change;
* **the fault the recovery suites inject** (Metacontroller scaled to 0, then back) stops and resumes syncing.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from typing import Any

from world import World

from swarmconf.clusters import versions
from swarmconf.fixtures.faults import metacontroller_down
from swarmconf.fixtures.profiles import WorkloadRef
from swarmconf.kube import Kube
from swarmconf.waits import consistently

CONFIGMAPS = [{"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}]
WORKLOAD = WorkloadRef(kind="StatefulSet", name="metacontroller", namespace="metacontroller")


def test_upstream_build_runs(kube: Kube, metacontroller: dict[str, Any]) -> None:
    assert metacontroller["implementation"] == "upstream"
    assert metacontroller["image"] == versions.METACONTROLLER_IMAGE
    assert metacontroller["version"] == versions.METACONTROLLER
    [digest] = metacontroller["image_digests"]
    node = kube.core.read_namespaced_pod("metacontroller-0", "metacontroller").spec.node_name
    listed = _node(node, "ctr", "-n", "k8s.io", "images", "ls", "name==" + versions.METACONTROLLER_IMAGE)
    assert digest in listed, f"the pod runs {digest}, not the node's {versions.METACONTROLLER_IMAGE}"
    local_id = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", versions.METACONTROLLER_IMAGE],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if local_id:  # built here: the node's image is exactly that build (same config digest)
        manifest = json.loads(_node(node, "ctr", "-n", "k8s.io", "content", "get", digest))
        assert manifest["config"]["digest"] == local_id
    log = kube.logs("metacontroller-0", "metacontroller")
    assert versions.METACONTROLLER.removeprefix("v") in log, "the binary does not log the pinned version"


def _node(node: str, *command: str) -> str:
    return subprocess.run(["docker", "exec", node, *command], capture_output=True, text=True, check=True).stdout


def test_sync_creates_owned_children_and_sets_status(world: World) -> None:
    world.program(response={"children": [world.configmap("cm-a", k="v")], "status": {"phase": "synced"}})
    world.start(CONFIGMAPS)
    parent = world.create_parent("p1")
    child = world.wait(lambda: world.child("cm-a"), description="the hook's ConfigMap child exists")
    assert child["data"] == {"k": "v"}
    owners = child["metadata"].get("ownerReferences") or []
    assert [(o["kind"], o["name"], o["uid"], o.get("controller")) for o in owners] == [
        ("Widget", "p1", parent["metadata"]["uid"], True)
    ]
    synced = world.wait(
        lambda: world.parent("p1"),
        until=lambda p: (p.get("status") or {}).get("phase") == "synced",
        description="the hook's status is on the parent",
    )
    assert synced["status"]["phase"] == "synced"
    call = world.calls()[0]
    assert call["parent"] == "p1" and call["parentUid"] == parent["metadata"]["uid"]


def test_finalize_holds_the_parent_until_finalized_true(world: World) -> None:
    world.program(response={"children": [world.configmap("cm-f")]})
    # as the reference's finalize hook answers while children remain: not yet, call again in a second
    world.program(
        "finalize", response={"children": [world.configmap("cm-f")], "finalized": False, "resyncAfterSeconds": 1}
    )
    world.start(CONFIGMAPS, finalize=True)
    world.create_parent("p1")
    world.wait(
        lambda: world.parent("p1"),
        until=lambda p: world.finalizer in (p["metadata"].get("finalizers") or []),
        description="upstream's finalizer is on the parent",
    )
    world.wait(lambda: world.child("cm-f"), description="the child exists")
    world.delete_parent("p1")
    world.wait(lambda: world.calls("finalize"), description="the finalize hook is called")
    consistently(
        lambda: world.parent("p1"),
        holds=lambda p: p is not None and bool(p["metadata"].get("deletionTimestamp")),
        description="the parent stays while the hook answers finalized: false",
        duration=5,
        interval=0.5,
    )
    calls = world.calls("finalize")
    assert len(calls) >= 3 and all(c["finalizing"] for c in calls), "finalize is asked again while not finalized"
    world.program("finalize", response={"children": [], "finalized": True})
    world.wait(lambda: world.parent("p1"), until=lambda p: p is None, description="the parent is gone once finalized")


def test_failing_hook_is_retried_until_it_answers(world: World) -> None:
    world.program(mode="fail")
    world.start(CONFIGMAPS)
    world.create_parent("p1")
    world.wait(lambda: world.calls(), until=lambda calls: len(calls) >= 3, description="the failing hook is retried")
    assert world.child("cm-r") is None
    world.program(response={"children": [world.configmap("cm-r")]})
    world.wait(lambda: world.child("cm-r"), description="a later retry applies the child", timeout=120)


def test_resync_after_seconds_calls_the_hook_again(world: World) -> None:
    world.program(response={"children": [], "resyncAfterSeconds": 1})
    world.start(CONFIGMAPS)
    world.create_parent("p1")
    world.wait(lambda: world.calls(), description="the first sync")
    # the first sync writes the parent's status, and that write alone triggers another sync: count from after it
    settled = world.wait(
        lambda: world.parent("p1"),
        until=lambda p: "observedGeneration" in (p.get("status") or {}),
        description="the first sync's status is on the parent",
    )
    version = settled["metadata"]["resourceVersion"]
    calls = world.wait(
        lambda: [c for c in world.calls() if c["parentResourceVersion"] == version],
        until=lambda calls: len(calls) >= 5,
        description="more calls with no change to the parent",
        timeout=30,
    )
    gaps = [b["receivedAt"] - a["receivedAt"] for a, b in itertools.pairwise(calls[1:])]
    assert all(0.5 <= gap <= 5 for gap in gaps), gaps


def test_scaled_to_zero_stops_syncing_and_back_resumes(kube: Kube, world: World) -> None:
    world.program(response={"children": []}, perParent={"p1": {"children": [world.configmap("cm-z")]}})
    world.start(CONFIGMAPS)
    world.create_parent("warm")
    world.wait(lambda: world.calls(), description="the controller serves this CompositeController")
    with metacontroller_down(kube, WORKLOAD):
        seen = len(world.calls())
        world.create_parent("p1")
        consistently(
            lambda: (world.child("cm-z"), len(world.calls())),
            holds=lambda state: state[0] is None and state[1] == seen,
            description="no sync while Metacontroller is down",
            duration=8,
            interval=1,
        )
    world.wait(lambda: world.child("cm-z"), description="the child once Metacontroller is back", timeout=180)
