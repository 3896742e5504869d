"""Selectors, adoption, update strategies and resync triggers against a real API server (§6 items 1, 4, 6, 10).

Coverage matrix:

=====================================  =============================================================================
test                                   asserts
=====================================  =============================================================================
test_adopt_and_release                 with ``generateSelector``, an orphan labelled ``controller-uid=<parent uid>``
                                       is adopted (our controllerRef added, same UID, sent to the hook); relabelled,
                                       it is released (ownerRef removed) and neither sent nor deleted
test_update_strategies                 InPlace updates in place (same UID); Recreate deletes and recreates (new
                                       UID); OnDelete never updates
test_resync_after_seconds              ``resyncAfterSeconds: 0.1`` brings the next call within 1 s (upstream's
                                       TestResyncAfter), repeatedly, with nothing else changing
test_resync_period_seconds             ``resyncPeriodSeconds: 1`` resyncs an unchanged parent about every second
test_child_events_trigger_sync         deleting a child out of band triggers a sync that recreates it
=====================================  =============================================================================
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from mce2e import CONFIGMAPS, SECRETS, Scenario, configmap

from swarmconf.clusters.metacontroller.controller.errors import NotFound
from swarmconf.clusters.metacontroller.controller.kube import Obj, ResourceInfo
from swarmconf.waits import consistently, wait_for

pytestmark = pytest.mark.cluster

SERVICEACCOUNTS = ResourceInfo("", "v1", "serviceaccounts", "ServiceAccount", True)


def _get(scenario: Scenario, res: ResourceInfo, namespace: str, name: str) -> Obj | None:
    try:
        return scenario.api.get(res, namespace, name)
    except NotFound:
        return None


def _wait(scenario: Scenario, res: ResourceInfo, namespace: str, name: str, until: Any, what: str) -> Obj:
    return wait_for(
        lambda: _get(scenario, res, namespace, name),
        until=until,
        description=what,
        timeout=60,
        interval=0.25,
    )


def test_adopt_and_release(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    cm = {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}
    scenario.hook.respond(children=[])
    scenario.controller([cm], generateSelector=True)
    uid = scenario.create_parent("p1")["metadata"]["uid"]
    scenario.hook.wait_request(lambda r: True, description="the first sync")

    # The orphan first carries someone else's label (ignored); then the hook wants it (creating it fails with
    # AlreadyExists, which is swallowed); then it is relabelled to match and must be adopted, not recreated.
    orphan = scenario.api.create(CONFIGMAPS, configmap("orphan", ns, labels={"controller-uid": "nobody"}))
    scenario.hook.respond(children=[configmap("orphan", ns)])  # keep it desired, or adoption would delete it
    scenario.update(CONFIGMAPS, ns, "orphan", lambda o: o["metadata"].update(labels={"controller-uid": uid}))
    adopted = _wait(
        scenario,
        CONFIGMAPS,
        ns,
        "orphan",
        lambda c: bool(c and c["metadata"].get("ownerReferences")),
        "the orphan is adopted",
    )
    assert adopted["metadata"]["uid"] == orphan["metadata"]["uid"]
    assert adopted["metadata"]["ownerReferences"] == [
        {
            "apiVersion": scenario.api_version,
            "kind": "Widget",
            "name": "p1",
            "uid": uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    scenario.hook.wait_request(
        lambda r: f"{ns}/orphan" in r["body"]["children"]["ConfigMap.v1"], description="the hook sees the adopted child"
    )

    # Relabel first: had the hook stopped wanting it while it was still ours, it would rightly be deleted.
    scenario.update(CONFIGMAPS, ns, "orphan", lambda o: o["metadata"].update(labels={"controller-uid": "someone-else"}))
    released = _wait(
        scenario,
        CONFIGMAPS,
        ns,
        "orphan",
        lambda c: c is not None and not c["metadata"].get("ownerReferences"),
        "the relabelled child is released, not deleted",
    )
    assert released["metadata"]["uid"] == orphan["metadata"]["uid"]
    scenario.hook.respond(children=[])
    seq = scenario.hook.last_seq()
    scenario.update_parent("p1", lambda p: p["spec"].update(revision=2))
    call = scenario.hook.wait_request(lambda r: True, description="a later sync", after=seq)
    assert call["body"]["children"]["ConfigMap.v1"] == {}


def test_update_strategies(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    children = [
        {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}},
        {"apiVersion": "v1", "resource": "secrets", "updateStrategy": {"method": "Recreate"}},
        {"apiVersion": "v1", "resource": "serviceaccounts", "updateStrategy": {"method": "OnDelete"}},
    ]

    def desired(version: str) -> list[Obj]:
        meta = {"namespace": ns, "annotations": {"version": version}}
        return [
            configmap("c", ns, data={"v": version}),
            # `data`, not `stringData`: the API server never returns stringData, so it would differ on every
            # sync and Recreate would loop (upstream behaves the same).
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", **meta}, "data": {"v": _b64(version)}},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa", **meta}},
        ]

    scenario.hook.respond(children=desired("1"))
    scenario.controller(children, generateSelector=True)
    scenario.create_parent("p1")
    cm = _wait(scenario, CONFIGMAPS, ns, "c", bool, "ConfigMap created")
    secret = _wait(scenario, SECRETS, ns, "s", bool, "Secret created")
    sa = _wait(scenario, SERVICEACCOUNTS, ns, "sa", bool, "ServiceAccount created")

    scenario.hook.respond(children=desired("2"))
    scenario.update_parent("p1", lambda p: p["spec"].update(revision=2))
    new_cm = _wait(scenario, CONFIGMAPS, ns, "c", lambda c: bool(c and c["data"] == {"v": "2"}), "InPlace update")
    assert new_cm["metadata"]["uid"] == cm["metadata"]["uid"]
    new_secret = _wait(
        scenario,
        SECRETS,
        ns,
        "s",
        lambda s: bool(s and s["metadata"]["uid"] != secret["metadata"]["uid"]),
        "Recreate makes a new Secret",
    )
    assert new_secret["metadata"]["annotations"]["version"] == "2"
    consistently(
        lambda: _get(scenario, SERVICEACCOUNTS, ns, "sa"),
        holds=lambda s: bool(s and s["metadata"]["resourceVersion"] == sa["metadata"]["resourceVersion"]),
        description="OnDelete leaves the ServiceAccount alone",
        duration=3,
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _gaps(calls: list[Obj]) -> list[float]:
    times = [c["receivedAt"] for c in calls]
    return [b - a for a, b in itertools.pairwise(times)]


def _has_run(gaps: list[float], ok: Callable[[float], bool], length: int) -> bool:
    """Whether ``length`` consecutive gaps satisfy ``ok``.

    A window rather than every gap: the dev cluster's Metacontroller is shared with the platform suites, whose
    faults may pause it for a while; a run of regular gaps still proves the trigger.
    """
    run = 0
    for gap in gaps:
        run = run + 1 if ok(gap) else 0
        if run >= length:
            return True
    return False


def test_resync_after_seconds(scenario: Scenario) -> None:
    scenario.parent_crd()
    scenario.hook.respond(status={"ok": True}, resyncAfterSeconds=0.1)
    scenario.controller([{"apiVersion": "v1", "resource": "configmaps"}], generateSelector=True)
    scenario.create_parent("p1")
    calls = wait_for(
        lambda: scenario.hook.requests(summary=True),
        until=lambda c: _has_run(_gaps(c[3:]), lambda gap: gap < 1.0, 5),
        description="resyncAfterSeconds 0.1 fires within 1 s, five times in a row",
        timeout=30,
        interval=0.25,
    )
    steady = calls[3:]  # past the initial finalizer/status writes: only the delayed requeue drives these
    assert len({c["parentResourceVersion"] for c in steady}) == 1, "nothing but the resync triggered these calls"
    scenario.hook.respond(status={"ok": True})  # stop the loop


def test_resync_period_seconds(scenario: Scenario) -> None:
    scenario.parent_crd()
    scenario.hook.respond(status={"ok": True})
    scenario.controller([{"apiVersion": "v1", "resource": "configmaps"}], generateSelector=True, resyncPeriodSeconds=1)
    scenario.create_parent("p1")
    calls = wait_for(
        lambda: scenario.hook.requests(summary=True),
        until=lambda c: _has_run(_gaps(c[2:]), lambda gap: 0.5 <= gap <= 2.5, 3),
        description="resyncPeriodSeconds 1 resyncs about every second, three times in a row",
        timeout=45,
        interval=0.5,
    )
    assert len({c["parentResourceVersion"] for c in calls[2:]}) == 1, "nothing but the resync triggered these calls"


def test_child_events_trigger_sync(scenario: Scenario) -> None:
    ns = scenario.namespace()
    scenario.parent_crd()
    scenario.hook.respond(children=[configmap("c", ns)])
    scenario.controller([{"apiVersion": "v1", "resource": "configmaps"}], generateSelector=True)
    scenario.create_parent("p1")
    first = _wait(scenario, CONFIGMAPS, ns, "c", bool, "child created")
    scenario.api.delete(CONFIGMAPS, ns, "c")
    _wait(
        scenario,
        CONFIGMAPS,
        ns,
        "c",
        lambda c: bool(c and c["metadata"]["uid"] != first["metadata"]["uid"]),
        "the deleted child is recreated by a child-event-driven sync",
    )
