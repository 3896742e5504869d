"""One running CompositeController: informers → event handlers → work queue → workers → :mod:`.reconcile`.

Upstream ``parentController`` (``Start``/``Stop`` and the event handlers). What enqueues a parent (by its
``namespace/name`` key, or ``name`` when cluster-scoped):

* parent add / update / delete (with ``ignoreStatusChanges``: only generation, label, annotation or
  deletionTimestamp changes);
* child add / update (only when its resourceVersion changed) / delete: the parent is found through the
  child's controllerRef (same group and kind; a cluster-scoped parent by name alone; UID checked); an orphan
  enqueues every parent whose selector matches it;
* ``resyncAfterSeconds`` (from :mod:`.reconcile`), and every parent every ``resyncPeriodSeconds`` (or, without
  one, every ``--cache-flush-interval``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .claim import controller_ref
from .errors import ControllerError
from .finalizer import is_deleting
from .informers import Handler, Informer, InformerFactory, object_key
from .kube import Api, Obj, ResourceInfo, split_api_version
from .reconcile import Hooks, Reconciler, Recorder
from .spec import ControllerSpec
from .workqueue import WorkQueue

log = logging.getLogger(__name__)


class ParentController:
    """Runs one CompositeController until :meth:`stop`."""

    def __init__(
        self,
        *,
        api: Api,
        hooks: Hooks,
        recorder: Recorder,
        informers: InformerFactory,
        controller: Obj,
        spec: ControllerSpec,
        workers: int = 5,
        default_resync: float = 1800.0,
    ) -> None:
        self.spec = spec
        self.controller = controller
        self._informers = informers
        self._workers = workers
        self._resync = spec.resync_period or default_resync
        parent_res = api.resource(spec.parent_api_version, spec.parent_resource)
        child_res = [api.resource(c.api_version, c.resource) for c in spec.children]
        self.queue = WorkQueue(name=f"cc-{spec.name}")
        self._acquired: list[ResourceInfo] = []
        self.parent_informer = self._acquire(parent_res)
        self.child_informers = {res: self._acquire(res) for res in child_res}
        self.reconciler = Reconciler(
            api=api,
            hooks=hooks,
            recorder=recorder,
            controller=controller,
            spec=spec,
            parent_res=parent_res,
            child_res=child_res,
            parents=self.parent_informer,
            children=dict(self.child_informers),
            enqueue_after=self.queue.add_after,
        )
        self._parent_handler = Handler(self._enqueue_parent, self._on_parent_update, self._enqueue_parent)
        self._child_handler = Handler(self._on_child_add, self._on_child_update, self._on_child_delete)
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Install handlers, then start workers once every cache has synced."""
        self.parent_informer.add_handler(self._parent_handler)
        for informer in self.child_informers.values():
            informer.add_handler(self._child_handler)
        self._spawn(self._run, "start")

    def stop(self) -> None:
        """Stop workers and release the informers (finalizers on parents are left as they are, as upstream)."""
        self._stopped.set()
        self.parent_informer.remove_handler(self._parent_handler)
        for informer in self.child_informers.values():
            informer.remove_handler(self._child_handler)
        self.queue.shutdown()
        for thread in self._threads:
            thread.join(timeout=15)
        for res in self._acquired:
            self._informers.release(res)
        self._acquired.clear()

    def _acquire(self, res: ResourceInfo) -> Informer:
        informer = self._informers.acquire(res)
        self._acquired.append(res)
        return informer

    def _spawn(self, target: Callable[[], None], what: str) -> None:
        thread = threading.Thread(target=target, name=f"cc-{self.spec.name}-{what}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self) -> None:
        for informer in [self.parent_informer, *self.child_informers.values()]:
            while not informer.wait_synced(1.0):
                if self._stopped.is_set():
                    return
        log.info("CompositeController %s: caches synced, starting %d workers", self.spec.name, self._workers)
        for i in range(self._workers):
            self._spawn(self._work, f"worker{i}")
        while not self._stopped.wait(self._resync):
            for parent in self.parent_informer.items():
                self._enqueue_parent(parent)

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                self.reconciler.sync(str(key))
                self.queue.forget(key)
            except ControllerError as exc:
                log.warning("failed to sync %s %r: %s", self.reconciler.parent_res.kind, key, exc)
                self.queue.add_rate_limited(key)
            except Exception:  # a bug must not kill the worker; back off like any failure
                log.exception("unexpected error syncing %r", key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    # -- parent events -----------------------------------------------------------------------------------
    def _enqueue_parent(self, parent: Obj) -> None:
        if self.reconciler.handles(parent):
            self.queue.add(object_key(parent))

    def _on_parent_update(self, old: Obj, cur: Obj) -> None:
        if self.spec.ignore_status_changes and not _meaningful_change(old, cur):
            return
        self._enqueue_parent(cur)

    # -- child events ------------------------------------------------------------------------------------
    def _on_child_add(self, child: Obj) -> None:
        if is_deleting(child):
            self._on_child_delete(child)
            return
        ref = controller_ref(child)
        if ref is not None:
            parent = self._resolve_ref(child, ref)
            if parent is not None:
                self._enqueue_parent(parent)
            return
        for parent in self._potential_parents(child):
            self._enqueue_parent(parent)

    def _on_child_update(self, old: Obj, cur: Obj) -> None:
        if old["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion"):
            return  # a relist, not a change: we rely on the parent resync for those
        self._on_child_add(cur)

    def _on_child_delete(self, child: Obj) -> None:
        ref = controller_ref(child)
        if ref is None:
            return  # orphans being deleted are never adopted
        parent = self._resolve_ref(child, ref)
        if parent is not None:
            self._enqueue_parent(parent)

    def _resolve_ref(self, child: Obj, ref: Obj) -> Obj | None:
        parent_res = self.reconciler.parent_res
        group, _ = split_api_version(str(ref.get("apiVersion", "")))
        if group != parent_res.group or ref.get("kind") != parent_res.kind:
            return None
        namespace = (child["metadata"].get("namespace") or "") if parent_res.namespaced else ""
        parent = self.parent_informer.get(f"{namespace}/{ref['name']}" if namespace else str(ref["name"]))
        if parent is None or parent["metadata"].get("uid") != ref.get("uid"):
            return None
        return parent

    def _potential_parents(self, child: Obj) -> list[Obj]:
        parent_res = self.reconciler.parent_res
        namespace = (child["metadata"].get("namespace") or "") if parent_res.namespaced else ""
        labels = child["metadata"].get("labels") or {}
        matching = []
        for parent in self.parent_informer.items(namespace):
            try:
                selector = self.reconciler.selector_for(parent)
            except ControllerError:
                continue
            if not selector.empty and selector.matches(labels):
                matching.append(parent)
        return matching


def _meaningful_change(old: Obj, cur: Obj) -> bool:
    """``ignoreStatusChanges``: generation, labels, annotations or a deletionTimestamp changed."""
    old_meta, cur_meta = old.get("metadata") or {}, cur.get("metadata") or {}
    return (
        old_meta.get("generation") != cur_meta.get("generation")
        or old_meta.get("labels") != cur_meta.get("labels")
        or old_meta.get("annotations") != cur_meta.get("annotations")
        or is_deleting(cur)
    )
