"""Builders for the compatible controller's unit tests: resources, objects and a fake "world".

The world wires a real :class:`Reconciler` to a :class:`FakeApi`, :class:`FakeCache` s and a scripted hook, so a
test can run sync passes and assert exactly what was written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from swarmconf.clusters.metacontroller.controller.errors import HookError
from swarmconf.clusters.metacontroller.controller.fake import FakeApi, FakeCache
from swarmconf.clusters.metacontroller.controller.hookapi import SyncResponse
from swarmconf.clusters.metacontroller.controller.kube import Obj, ResourceInfo
from swarmconf.clusters.metacontroller.controller.reconcile import Reconciler
from swarmconf.clusters.metacontroller.controller.spec import ControllerSpec
from swarmconf.clusters.metacontroller.controller.webhook import HookTarget

PARENT = ResourceInfo("test.example.com", "v1", "widgets", "Widget", False, frozenset({"status"}))
CONFIGMAPS = ResourceInfo("", "v1", "configmaps", "ConfigMap", True)
SECRETS = ResourceInfo("", "v1", "secrets", "Secret", True)
STATEFULSETS = ResourceInfo("apps", "v1", "statefulsets", "StatefulSet", True, frozenset({"status", "scale"}))


def compositecontroller(name: str = "widgets", **spec: Any) -> Obj:
    """A CompositeController over widgets with ConfigMap (InPlace) and Secret (Recreate) children."""
    body: Obj = {
        "parentResource": {"apiVersion": "test.example.com/v1", "resource": "widgets"},
        "childResources": [
            {"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}},
            {"apiVersion": "v1", "resource": "secrets", "updateStrategy": {"method": "Recreate"}},
        ],
        "hooks": {"sync": {"webhook": {"url": "http://hook/sync"}}},
        "generateSelector": True,
    }
    body.update(spec)
    return {
        "apiVersion": "metacontroller.k8s.io/v1alpha1",
        "kind": "CompositeController",
        "metadata": {"name": name, "uid": "cc-uid"},
        "spec": body,
    }


def widget(name: str = "w1", **meta: Any) -> Obj:
    """A cluster-scoped parent."""
    return {"apiVersion": "test.example.com/v1", "kind": "Widget", "metadata": {"name": name, **meta}, "spec": {}}


def configmap(name: str, namespace: str = "ns1", data: dict[str, str] | None = None, **meta: Any) -> Obj:
    """A desired ConfigMap child."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": data or {"k": "v"},
    }


@dataclass
class ScriptedHook:
    """A hook whose answer a test sets; records every request."""

    answer: Callable[[Obj], SyncResponse] = field(default=lambda request: SyncResponse())
    requests: list[Obj] = field(default_factory=list)
    targets: list[HookTarget] = field(default_factory=list)

    def call(self, target: HookTarget, request: Obj) -> SyncResponse:
        self.requests.append(copy.deepcopy(request))
        self.targets.append(target)
        return copy.deepcopy(self.answer(request))

    def returns(self, children: list[Obj] | None = None, status: Obj | None = None, **extra: Any) -> None:
        """Answer every call with these children and status."""
        self.answer = lambda request: SyncResponse(status=status, children=copy.deepcopy(children or []), **extra)

    def fails(self) -> None:
        """Answer every call with a hook error."""

        def fail(request: Obj) -> SyncResponse:
            raise HookError("http error: boom")

        self.answer = fail


@dataclass
class RecordingRecorder:
    """Collects events as (type, reason, message)."""

    events: list[tuple[str, str, str]] = field(default_factory=list)

    def event(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        self.events.append((event_type, reason, message))


@dataclass
class World:
    """A Reconciler over fakes; :meth:`sync` refreshes caches (as watches would) and runs one pass."""

    api: FakeApi
    hook: ScriptedHook
    recorder: RecordingRecorder
    reconciler: Reconciler
    caches: list[FakeCache]
    delayed: list[tuple[str, float]]

    def sync(self, key: str = "w1") -> None:
        for cache in self.caches:
            cache.refresh()
        self.reconciler.sync(key)

    def writes_during(self, action: Callable[[], None]) -> list[tuple[str, str, str]]:
        """The writes ``action`` made."""
        before = len(self.api.writes)
        action()
        return self.api.writes[before:]


def make_world(cc: Obj | None = None, parents: list[Obj] | None = None) -> World:
    """Build a World for a CompositeController (default: :func:`compositecontroller`)."""
    cc = cc or compositecontroller()
    api = FakeApi([PARENT, CONFIGMAPS, SECRETS, STATEFULSETS])
    for parent in parents if parents is not None else [widget()]:
        api.seed(PARENT, parent)
    spec = ControllerSpec.from_object(cc)
    child_res = [api.resource(c.api_version, c.resource) for c in spec.children]
    caches = [FakeCache(api, res) for res in (PARENT, *child_res)]
    hook, recorder, delayed = ScriptedHook(), RecordingRecorder(), []
    reconciler = Reconciler(
        api=api,
        hooks=hook,
        recorder=recorder,
        controller=cc,
        spec=spec,
        parent_res=PARENT,
        child_res=child_res,
        parents=caches[0],
        children=dict(zip(child_res, caches[1:], strict=True)),
        enqueue_after=lambda key, delay: delayed.append((key, delay)),
    )
    return World(api, hook, recorder, reconciler, caches, delayed)
