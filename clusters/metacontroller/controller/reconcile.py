"""The reconcile loop of one CompositeController: everything one sync of one parent does, in order.

:meth:`Reconciler.sync` is upstream's ``parentController.sync`` + ``syncParentObject``
(``pkg/controller/composite/controller.go``). Read :meth:`Reconciler._sync_parent` top to bottom: it *is* the
protocol of METACONTROLLER.md §2. The helpers it calls each do one job in their own module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .children import manage_children, normalize_desired
from .claim import adoption_check, claim_children
from .errors import Conflict, ControllerError, DiscoveryError, HookTooManyRequests, NotFound, SyncError
from .events import WARNING
from .finalizer import finalizer_name, has_finalizer, is_deleting, remove_finalizer, should_finalize, sync_finalizer
from .hookapi import ChildMap, ChildType, SyncResponse, build_request, child_map, relative_name
from .informers import object_key
from .kube import Api, Obj, ResourceInfo
from .selector import LabelSelector, parent_selector, prepare_desired_children
from .spec import ControllerSpec
from .status import update_parent_status
from .webhook import HookTarget

log = logging.getLogger(__name__)


class Cache(Protocol):
    """Read access to an informer's cache."""

    def get(self, key: str) -> Obj | None:
        """The cached object for ``namespace/name`` or ``name``."""
        ...

    def items(self, namespace: str = "") -> list[Obj]:
        """Cached objects in a namespace, or all."""
        ...


class Hooks(Protocol):
    """Calls a hook (implemented by :class:`.webhook.HookClient`)."""

    def call(self, target: HookTarget, request: Obj) -> SyncResponse:
        """POST the request, decode the answer."""
        ...


class Recorder(Protocol):
    """Records Kubernetes Events (implemented by :class:`.events.EventRecorder`)."""

    def event(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        """Record one event about ``obj``."""
        ...


@dataclass
class Reconciler:
    """Syncs parents of one CompositeController. Thread-safe: the work queue never hands one key to two workers."""

    api: Api
    hooks: Hooks
    recorder: Recorder
    controller: Obj
    """The CompositeController object, sent to hooks verbatim."""
    spec: ControllerSpec
    parent_res: ResourceInfo
    child_res: list[ResourceInfo]
    """One per ``spec.children`` entry, same order."""
    parents: Cache
    children: dict[ResourceInfo, Cache]
    enqueue_after: Callable[[str, float], None]
    _kinds: dict[ChildType, ResourceInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.finalizer = finalizer_name(self.spec.name)
        self._kinds.update({(r.api_version, r.kind): r for r in self.child_res})
        pairs = zip(self.child_res, self.spec.children, strict=True)
        self.methods = {(r.group, r.kind): c.update_method for r, c in pairs}

    # -- entry point -------------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """One reconcile pass for the parent at ``key``. Raising makes the worker back off and retry."""
        parent = self.parents.get(key)
        if parent is None:
            return  # deleted: its children are the garbage collector's now
        try:
            self._sync_parent(parent)
        except HookTooManyRequests as exc:
            log.info("hook asked to slow down; resyncing %s in %ss", key, exc.retry_after)
            self.enqueue_after(key, exc.retry_after)
        except ControllerError as exc:
            self.recorder.event(parent, WARNING, "SyncError", f"Sync error: {exc}")
            raise

    def handles(self, parent: Obj) -> bool:
        """Whether this controller cares about ``parent`` (label filter, or our finalizer still on it)."""
        labels = (parent.get("metadata") or {}).get("labels") or {}
        return has_finalizer(parent, self.finalizer) or self.spec.parent_selector.matches(labels)

    def selector_for(self, parent: Obj) -> LabelSelector:
        """The parent's child selector (generated or ``spec.selector``); raises SyncError when it has none."""
        return parent_selector(parent, generate=self.spec.generate_selector)

    # -- the loop ----------------------------------------------------------------------------------------
    def _sync_parent(self, parent: Obj) -> None:
        if not self.handles(parent):
            return

        # 1. Our finalizer goes on before anything else, so anything we do later can be cleaned up.
        finalize_enabled = self.spec.finalize_hook is not None
        parent = sync_finalizer(self.api, self.parent_res, parent, self.finalizer, enabled=finalize_enabled)
        if not self.handles(parent):
            return

        # 2. Claim children: adopt matching orphans, release owned non-matching ones.
        selector = self.selector_for(parent)
        observed = self._claim_all(parent, selector)

        # 3. Call the finalize hook while the parent is being deleted (and one is defined), else the sync hook.
        #    A failure raises here: nothing has been written for this pass.
        finalizing = is_deleting(parent) and finalize_enabled
        hook = self.spec.finalize_hook if finalizing else self.spec.sync_hook
        if hook is None:
            raise SyncError("sync hook not defined")
        request = build_request(self.controller, parent, observed, finalizing=finalizing, hook_version=hook.version)
        response = self.hooks.call(hook, request)
        desired = response.children

        # 4. A one-shot delayed resync, if asked for.
        key = object_key(parent)
        if response.resync_after_seconds > 0:
            self.enqueue_after(key, response.resync_after_seconds)

        # 5. `finalized: true` removes our finalizer *before* children or status are touched; the parent is then
        #    no longer "finalizing", so this response's children are not applied (the GC takes over).
        if response.finalized:
            parent = remove_finalizer(self.api, self.parent_res, parent, self.finalizer)

        # 6. Desired children must match the selector (with controller-uid added when it is generated).
        prepare_desired_children(desired, parent, self.selector_for(parent), generate=self.spec.generate_selector)
        normalize_desired(desired, parent, self._resolve)
        desired_map = child_map(parent, desired)

        # 7. Children are managed while the parent lives, or while it finalizes with our finalizer still on it.
        errors: list[str] = []
        if not is_deleting(parent) or should_finalize(parent, self.finalizer, enabled=finalize_enabled):
            errors = manage_children(
                self.api, parent, self.parent_res, observed, desired_map, methods=self.methods, resolve=self._resolve
            )

        # 8. Status, even when managing children failed: the hook's status plus observedGeneration, if changed.
        try:
            update_parent_status(self.api, self.parent_res, parent, response.status)
        except (NotFound, Conflict):
            return  # parent gone, or a persistent conflict: a later sync fixes it
        if errors:
            raise SyncError(f"can't reconcile children for {self.parent_res.kind} {key}: " + "; ".join(errors))

    # -- helpers -----------------------------------------------------------------------------------------
    def _claim_all(self, parent: Obj, selector: LabelSelector) -> ChildMap:
        """Claimed children of every declared type (every type present, even if empty)."""
        namespace = (parent["metadata"].get("namespace") or "") if self.parent_res.namespaced else ""
        can_adopt = adoption_check(self.api, self.parent_res, parent)
        observed: ChildMap = {}
        for res in self.child_res:
            candidates = self.children[res].items(namespace)
            claimed = claim_children(
                self.api,
                res,
                parent,
                self.parent_res,
                candidates,
                lambda o: selector.matches((o.get("metadata") or {}).get("labels")),
                can_adopt,
            )
            observed[(res.api_version, res.kind)] = {relative_name(parent, o): o for o in claimed}
        return observed

    def _resolve(self, ctype: ChildType) -> ResourceInfo:
        if ctype not in self._kinds:
            if not ctype[0]:
                raise DiscoveryError(f"desired child of kind {ctype[1]!r} has no apiVersion")
            self._kinds[ctype] = self.api.resource_for_kind(*ctype)
        return self._kinds[ctype]
