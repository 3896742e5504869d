"""The top level: watch CompositeController objects and run one :class:`.composite.ParentController` each.

Upstream ``composite.Metacontroller.Reconcile``: a new or changed spec (re)starts the controller, a deleted
object stops it (leaving finalizers on parents, exactly as upstream, see METACONTROLLER.md §5). Before
starting, the parent CRD ``<resource>.<group>`` is looked up: if the parent's version has no status
subresource, a Warning ``SyncError`` event says so and the controller is ignored until its spec changes.
Failures to start (CRD not installed yet, bad spec) are retried with a backoff capped at the discovery
interval, so a CRD installed after its CompositeController is picked up promptly.
"""

from __future__ import annotations

import logging
import threading

from .composite import ParentController
from .errors import ConfigError, ControllerError, NotFound
from .events import NORMAL, WARNING, EventRecorder
from .informers import Handler, Informer, InformerFactory
from .kube import Api, Obj, ResourceInfo, split_api_version
from .reconcile import Hooks
from .spec import ControllerSpec
from .workqueue import ItemExponentialBackoff, RateLimiter, WorkQueue

log = logging.getLogger(__name__)

GROUP_VERSION = "metacontroller.k8s.io/v1alpha1"


class Metacontroller:
    """Keeps one running ParentController per CompositeController object."""

    def __init__(
        self,
        api: Api,
        hooks: Hooks,
        *,
        workers: int = 5,
        discovery_interval: float = 20.0,
        cache_flush_interval: float = 1800.0,
    ) -> None:
        self.api = api
        self.hooks = hooks
        self.recorder = EventRecorder(api)
        self.informers = InformerFactory(api)
        self.workers = workers
        self.discovery_interval = discovery_interval
        self.cache_flush_interval = cache_flush_interval
        self.controllers: dict[str, ParentController] = {}
        self._ignored: dict[str, Obj] = {}
        backoff = ItemExponentialBackoff(0.005, max(1.0, discovery_interval))
        self.queue = WorkQueue(RateLimiter(backoff), name="compositecontrollers")
        self._cc_informer: Informer | None = None
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching CompositeControllers in the background."""
        for target, name in ((self._run, "cc-manager"), (self._refresh_discovery, "discovery")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def ready(self) -> bool:
        """Ready once the CompositeController cache has synced (``/readyz``)."""
        return self._cc_informer is not None and self._cc_informer.synced

    def stop(self) -> None:
        """Stop every controller and informer."""
        self._stopped.set()
        self.queue.shutdown()
        for controller in list(self.controllers.values()):
            controller.stop()
        self.controllers.clear()
        self.informers.stop_all()
        for thread in self._threads:
            thread.join(timeout=15)

    def _run(self) -> None:
        cc_res = self._wait_for_crd()
        if cc_res is None:
            return
        self._cc_informer = self.informers.acquire(cc_res)
        enqueue = self._enqueue
        self._cc_informer.add_handler(Handler(enqueue, lambda _old, cur: enqueue(cur), enqueue))
        while not self._stopped.is_set():
            name = self.queue.get()
            if name is None:
                return
            try:
                self.reconcile(str(name))
                self.queue.forget(name)
            except ControllerError as exc:
                log.warning("CompositeController %s: %s", name, exc)
                self.queue.add_rate_limited(name)
            except Exception:
                log.exception("CompositeController %s: unexpected error", name)
                self.queue.add_rate_limited(name)
            finally:
                self.queue.done(name)

    def _wait_for_crd(self) -> ResourceInfo | None:
        while not self._stopped.is_set():
            try:
                return self.api.resource(GROUP_VERSION, "compositecontrollers")
            except ControllerError as exc:
                log.warning("waiting for the CompositeController CRD: %s", exc)
                self._stopped.wait(2.0)
        return None

    def _refresh_discovery(self) -> None:
        # Upstream re-reads discovery every --discovery-interval; here a stale cache entry is simply dropped.
        discovery = getattr(self.api, "discovery", None)
        while not self._stopped.wait(self.discovery_interval):
            if discovery is not None:
                discovery.invalidate()

    def _enqueue(self, cc: Obj) -> None:
        self.queue.add(str(cc["metadata"]["name"]))

    # -- reconcile ---------------------------------------------------------------------------------------
    def reconcile(self, name: str) -> None:
        """Start, restart or stop the controller for the CompositeController called ``name``."""
        assert self._cc_informer is not None
        cc = self._cc_informer.get(name)
        running = self.controllers.get(name)
        if cc is None:
            self._ignored.pop(name, None)
            if running is not None:
                self._stop(name, running, running.controller)
            return
        if running is not None:
            if running.controller.get("spec") == cc.get("spec"):
                return
            self._stop(name, running, cc)
        if self._ignored.get(name) == cc.get("spec"):
            return
        self._ignored.pop(name, None)
        try:
            spec = ControllerSpec.from_object(cc)
            if not self._parent_has_status(cc, spec):
                return
            controller = ParentController(
                api=self.api,
                hooks=self.hooks,
                recorder=self.recorder,
                informers=self.informers,
                controller=cc,
                spec=spec,
                workers=self.workers,
                default_resync=self.cache_flush_interval,
            )
        except ControllerError as exc:
            self.recorder.event(cc, WARNING, "CreateError", f"Cannot create new controller: {exc}")
            raise
        controller.start()
        self.controllers[name] = controller
        self.recorder.event(cc, NORMAL, "Started", f"Started controller: {name}")
        log.info("started CompositeController %s", name)

    def _stop(self, name: str, running: ParentController, cc: Obj) -> None:
        running.stop()
        del self.controllers[name]
        self.recorder.event(cc, NORMAL, "Stopped", f"Stopped controller: {name}")
        log.info("stopped CompositeController %s", name)

    def _parent_has_status(self, cc: Obj, spec: ControllerSpec) -> bool:
        """Look up the parent CRD; warn and ignore the controller when its version lacks ``/status``."""
        group, version = split_api_version(spec.parent_api_version)
        crd_name = f"{spec.parent_resource}.{group}"
        try:
            crd = self.api.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd_name}")
        except NotFound as exc:
            raise ConfigError(f"CRD {crd_name} not found") from exc
        versions = {v.get("name"): v for v in (crd.get("spec") or {}).get("versions") or []}
        if "status" in ((versions.get(version) or {}).get("subresources") or {}):
            return True
        kind = ((crd.get("spec") or {}).get("names") or {}).get("kind", spec.parent_resource)
        gvk = f"{group}/{version}, Kind={kind}"
        message = (
            f"[{spec.name}] Sync error - ignoring, parent resource {gvk} does not have subresource 'Status' enabled"
        )
        self.recorder.event(cc, WARNING, "SyncError", message)
        log.warning("ignoring CompositeController %s: %s has no status subresource", spec.name, crd_name)
        self._ignored[spec.name] = cc.get("spec") or {}
        return False
