"""Shared informers: one list+watch per resource, a local cache, and event handlers.

Like client-go's shared informers, each :class:`Informer` lists a resource, then watches it from the list's
resourceVersion (via :meth:`.kube.Api.watch`, which streams through ``kubernetes.watch.Watch``), keeping an
in-memory cache that syncs read instead of the API server. Handlers get ``on_add``/``on_update``/``on_delete``;
a handler added to a running informer first receives an ``on_add`` for every cached object, so a
CompositeController created later still sees existing parents and children.

A 410 Gone, a broken stream or any API error makes the informer relist; the relist is diffed against the
cache, so handlers see the adds, updates and deletes they missed. :class:`InformerFactory` shares informers
between CompositeControllers and stops one when its last user releases it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ControllerError, Gone
from .kube import Api, Obj, ResourceInfo, WatchStream

log = logging.getLogger(__name__)

#: Server-side watch timeout range; randomised like client-go so watches don't all restart together.
WATCH_TIMEOUT_RANGE = (240, 360)


def object_key(obj: Obj) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or ""
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])


def split_key(key: str) -> tuple[str, str]:
    """Inverse of :func:`object_key`: ``(namespace, name)``."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


@dataclass
class Handler:
    """Event callbacks; each is called on the informer's thread, so it must be quick (just enqueue)."""

    on_add: Callable[[Obj], None]
    on_update: Callable[[Obj, Obj], None]
    on_delete: Callable[[Obj], None]


class Informer:
    """List+watch one resource into a cache and fan events out to handlers."""

    def __init__(self, api: Api, resource: ResourceInfo) -> None:
        self.api = api
        self.resource = resource
        self._store: dict[str, Obj] = {}
        self._handlers: list[Handler] = []
        self._lock = threading.RLock()
        self._synced = threading.Event()
        self._stopped = threading.Event()
        self._stream: WatchStream | None = None
        self._thread = threading.Thread(target=self._run, name=f"informer-{resource}", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start listing and watching in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the watch thread (interrupting a watch in progress)."""
        self._stopped.set()
        self._interrupt()

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Block until the first list has filled the cache."""
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        """Whether the first list has filled the cache."""
        return self._synced.is_set()

    # -- cache -------------------------------------------------------------------------------------------
    def get(self, key: str) -> Obj | None:
        """The cached object for ``namespace/name`` (or ``name``)."""
        with self._lock:
            return self._store.get(key)

    def items(self, namespace: str = "") -> list[Obj]:
        """Cached objects, in one namespace or (``""``) all."""
        with self._lock:
            items = list(self._store.values())
        if not namespace:
            return items
        return [o for o in items if (o.get("metadata") or {}).get("namespace") == namespace]

    # -- handlers ----------------------------------------------------------------------------------------
    def add_handler(self, handler: Handler) -> None:
        """Register ``handler`` and replay the cache to it as adds."""
        with self._lock:
            self._handlers.append(handler)
            existing = list(self._store.values())
        for obj in existing:
            handler.on_add(obj)

    def remove_handler(self, handler: Handler) -> None:
        """Unregister ``handler``."""
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)

    # -- the loop ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.2
        while not self._stopped.is_set():
            try:
                version = self._relist()
                self._synced.set()
                backoff = 0.2
                self._watch_from(version)
            except Gone:
                log.debug("watch of %s expired; relisting", self.resource)
            except ControllerError as exc:
                if self._stopped.is_set():
                    return  # stop() closed the stream under us
                log.warning("list/watch of %s failed: %s; retrying in %.1fs", self.resource, exc, backoff)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:  # never let an informer thread die: a dead informer is a silent outage
                log.exception("informer for %s crashed; restarting", self.resource)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    def _relist(self) -> str:
        items, version = self.api.list_objects(self.resource)
        fresh = {object_key(o): o for o in items}
        with self._lock:
            old = self._store
            self._store = fresh
            handlers = list(self._handlers)
        for key, obj in fresh.items():
            self._dispatch(handlers, "update" if key in old else "add", obj, old.get(key))
        for key, obj in old.items():
            if key not in fresh:
                self._dispatch(handlers, "delete", obj, None)
        return version

    def _watch_from(self, version: str) -> None:
        while not self._stopped.is_set():
            timeout = random.randint(*WATCH_TIMEOUT_RANGE)
            self._stream = self.api.watch(self.resource, version, timeout)
            if self._stopped.is_set():
                return
            for event in self._stream:
                if self._stopped.is_set():
                    return
                obj = event["object"]
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                self._apply(event["type"], obj)

    def _apply(self, event_type: str, obj: Obj) -> None:
        if event_type == "BOOKMARK":
            return
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        key = object_key(obj)
        with self._lock:
            old = self._store.get(key)
            if event_type == "DELETED":
                self._store.pop(key, None)
            else:
                self._store[key] = obj
            handlers = list(self._handlers)
        if event_type == "DELETED":
            self._dispatch(handlers, "delete", obj, None)
        else:
            self._dispatch(handlers, "update" if old is not None else "add", obj, old)

    @staticmethod
    def _dispatch(handlers: list[Handler], what: str, obj: Obj, old: Obj | None) -> None:
        for handler in handlers:
            try:
                if what == "add":
                    handler.on_add(obj)
                elif what == "update":
                    handler.on_update(old or obj, obj)
                else:
                    handler.on_delete(obj)
            except Exception:  # one broken handler must not starve the others
                log.exception("event handler failed")

    def _interrupt(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.stop()


class InformerFactory:
    """Share one informer per (apiVersion, resource) between CompositeControllers, reference-counted."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self._informers: dict[ResourceInfo, Informer] = {}
        self._users: dict[ResourceInfo, int] = {}
        self._lock = threading.Lock()

    def acquire(self, resource: ResourceInfo) -> Informer:
        """Get (starting if needed) the informer for ``resource``; pair with :meth:`release`."""
        with self._lock:
            informer = self._informers.get(resource)
            if informer is None:
                informer = Informer(self.api, resource)
                self._informers[resource] = informer
                informer.start()
            self._users[resource] = self._users.get(resource, 0) + 1
            return informer

    def release(self, resource: ResourceInfo) -> None:
        """Drop one user; stop the informer when none is left."""
        with self._lock:
            self._users[resource] = self._users.get(resource, 1) - 1
            if self._users[resource] > 0:
                return
            del self._users[resource]
            informer = self._informers.pop(resource, None)
        if informer is not None:
            informer.stop()

    def stop_all(self) -> None:
        """Stop every informer (process shutdown)."""
        with self._lock:
            informers = list(self._informers.values())
            self._informers.clear()
            self._users.clear()
        for informer in informers:
            informer.stop()
