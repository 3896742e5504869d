"""An in-memory :class:`.kube.Api` for unit tests, shipped next to the real one.

It keeps objects per resource, assigns UIDs, resourceVersions and generations, enforces optimistic
concurrency (stale resourceVersion → Conflict), UID preconditions, AlreadyExists and finalizers (a delete of an
object with finalizers only sets deletionTimestamp; removing the last finalizer then deletes it), and records
every write in :attr:`FakeApi.writes` so tests can assert "nothing was written". It does not watch: tests
drive caches with :class:`FakeCache`.
"""

from __future__ import annotations

import copy
import itertools
import uuid
from typing import Any

from .errors import AlreadyExists, ApiError, Conflict, DiscoveryError, NotFound
from .kube import Obj, ResourceInfo, WatchStream


class FakeApi:
    """See the module docstring."""

    def __init__(self, resources: list[ResourceInfo], crds: list[Obj] | None = None) -> None:
        self.resources = list(resources)
        self.crds = {c["metadata"]["name"]: c for c in crds or []}
        self.store: dict[tuple[ResourceInfo, str, str], Obj] = {}
        self.writes: list[tuple[str, str, str]] = []
        """``(verb, kind, namespace/name)`` of every write, in order."""
        self.deletes: list[dict[str, Any]] = []
        """Every delete call's options (uid precondition, propagation)."""
        self.events: list[Obj] = []
        self._rv = itertools.count(1)

    # -- discovery ---------------------------------------------------------------------------------------
    def resource(self, api_version: str, plural: str) -> ResourceInfo:
        """Find a registered resource by plural."""
        return self._find(api_version, lambda r: r.plural == plural, plural)

    def resource_for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """Find a registered resource by kind."""
        return self._find(api_version, lambda r: r.kind == kind, kind)

    def _find(self, api_version: str, match: Any, what: str) -> ResourceInfo:
        for res in self.resources:
            if res.api_version == api_version and match(res):
                return res
        raise DiscoveryError(f"server does not serve {what!r} in apiVersion {api_version!r}")

    # -- seeding and inspection --------------------------------------------------------------------------
    def seed(self, res: ResourceInfo, obj: Obj) -> Obj:
        """Store ``obj`` as if it had been created earlier (not recorded as a write)."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(next(self._rv))
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        self.store[self._key(res, obj)] = obj
        return copy.deepcopy(obj)

    def stored(self, res: ResourceInfo, namespace: str, name: str) -> Obj | None:
        """A copy of the stored object, or None."""
        obj = self.store.get((res, namespace if res.namespaced else "", name))
        return copy.deepcopy(obj) if obj is not None else None

    def all(self, res: ResourceInfo) -> list[Obj]:
        """Copies of every stored object of ``res``."""
        return [copy.deepcopy(o) for (r, _, _), o in self.store.items() if r == res]

    # -- verbs -------------------------------------------------------------------------------------------
    def get(self, res: ResourceInfo, namespace: str, name: str) -> Obj:
        """GET."""
        obj = self.stored(res, namespace, name)
        if obj is None:
            raise NotFound(404, "NotFound", f"{res.plural} {name!r} not found")
        return obj

    def list_objects(self, res: ResourceInfo, namespace: str = "") -> tuple[list[Obj], str]:
        """LIST."""
        items = [o for o in self.all(res) if not namespace or o["metadata"].get("namespace") == namespace]
        return items, str(next(self._rv))

    def create(self, res: ResourceInfo, obj: Obj) -> Obj:
        """POST."""
        key = self._key(res, obj)
        if key in self.store:
            raise AlreadyExists(409, "AlreadyExists", f"{res.plural} {key[2]!r} already exists")
        if res.namespaced and not key[1]:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.writes.append(("create", res.kind, _name(obj)))
        return self.seed(res, obj)

    def replace(self, res: ResourceInfo, obj: Obj) -> Obj:
        """PUT (status is kept from storage when the resource has a status subresource)."""
        current = self._current(res, obj)
        new = copy.deepcopy(obj)
        if "status" in res.subresources:
            new["status"] = copy.deepcopy(current.get("status"))
            if new["status"] is None:
                new.pop("status")
        if _spec_changed(current, new):
            new["metadata"]["generation"] = int(current["metadata"].get("generation") or 1) + 1
        self.writes.append(("update", res.kind, _name(obj)))
        return self._store_or_delete(res, new)

    def replace_status(self, res: ResourceInfo, obj: Obj) -> Obj:
        """PUT /status: only status changes."""
        current = self._current(res, obj)
        new = copy.deepcopy(current)
        new["status"] = copy.deepcopy(obj.get("status"))
        self.writes.append(("update-status", res.kind, _name(obj)))
        return self._store_or_delete(res, new)

    def delete(
        self, res: ResourceInfo, namespace: str, name: str, *, uid: str | None = None, propagation: str | None = None
    ) -> None:
        """DELETE; objects with finalizers get a deletionTimestamp instead."""
        current = self.get(res, namespace, name)
        if uid and current["metadata"]["uid"] != uid:
            raise Conflict(409, "Conflict", "Precondition failed: UID in precondition")
        self.writes.append(("delete", res.kind, _name(current)))
        self.deletes.append({"name": _name(current), "uid": uid, "propagation": propagation})
        if current["metadata"].get("finalizers"):
            current["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            self._store_or_delete(res, current)
        else:
            del self.store[self._key(res, current)]

    def watch(self, res: ResourceInfo, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Not supported: tests drive caches directly."""
        raise NotImplementedError("FakeApi does not watch; use FakeCache")

    def request(self, method: str, path: str, body: Any = None, content_type: str | None = None) -> Obj:
        """Events (recorded in :attr:`events`) and CRD GETs."""
        if path.startswith("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"):
            name = path.rsplit("/", 1)[1]
            if name not in self.crds:
                raise NotFound(404, "NotFound", f"customresourcedefinitions {name!r} not found")
            return copy.deepcopy(self.crds[name])
        if "/events" in path and method in ("POST", "PUT"):
            event = copy.deepcopy(body)
            if method == "PUT":
                self.events = [e for e in self.events if e["metadata"]["name"] != event["metadata"]["name"]]
            self.events.append(event)
            return copy.deepcopy(event)
        raise NotFound(404, "NotFound", f"{method} {path} is not faked")

    # -- internals ---------------------------------------------------------------------------------------
    @staticmethod
    def _key(res: ResourceInfo, obj: Obj) -> tuple[ResourceInfo, str, str]:
        meta = obj.get("metadata") or {}
        return res, (meta.get("namespace") or "") if res.namespaced else "", str(meta.get("name"))

    def _current(self, res: ResourceInfo, obj: Obj) -> Obj:
        current = self.get(res, obj["metadata"].get("namespace") or "", obj["metadata"]["name"])
        version = obj["metadata"].get("resourceVersion")
        if version and version != current["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified; please apply your changes to the latest")
        return current

    def _store_or_delete(self, res: ResourceInfo, obj: Obj) -> Obj:
        meta = obj["metadata"]
        meta["resourceVersion"] = str(next(self._rv))
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self.store.pop(self._key(res, obj), None)
        else:
            self.store[self._key(res, obj)] = copy.deepcopy(obj)
        return copy.deepcopy(obj)


class FakeCache:
    """An informer cache stand-in: ``get``/``items`` over whatever :meth:`refresh` last copied from a FakeApi."""

    def __init__(self, api: FakeApi, res: ResourceInfo) -> None:
        self.api = api
        self.res = res
        self._objects: dict[str, Obj] = {}
        self.refresh()

    def refresh(self) -> None:
        """Catch up with the FakeApi (like a watch delivering every event so far)."""
        self._objects = {_key(o): o for o in self.api.all(self.res)}

    def get(self, key: str) -> Obj | None:
        """The cached object."""
        return copy.deepcopy(self._objects.get(key))

    def items(self, namespace: str = "") -> list[Obj]:
        """Cached objects in ``namespace`` (or all)."""
        return [
            copy.deepcopy(o)
            for o in self._objects.values()
            if not namespace or o["metadata"].get("namespace") == namespace
        ]


def _spec_changed(old: Obj, new: Obj) -> bool:
    strip = ("metadata", "status")
    return {k: v for k, v in old.items() if k not in strip} != {k: v for k, v in new.items() if k not in strip}


def _key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])


def _name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name')}"
