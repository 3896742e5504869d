"""The Kubernetes API as this controller uses it: discovery, plain REST verbs and a watch call.

Every object is a plain ``dict`` (unstructured, as upstream's dynamic client uses them). Every failure leaves
this module as an :mod:`.errors` type, never as a ``kubernetes`` client exception. :class:`Api` is the
protocol the rest of the controller depends on; :class:`KubeApi` is the real implementation over
``kubernetes.client.ApiClient`` and :class:`.fake.FakeApi` the in-memory one for unit tests.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import urllib3
from kubernetes import client as k8s_client
from kubernetes import watch as k8s_watch

from .errors import ApiError, DiscoveryError, NotFound, status_error

log = logging.getLogger(__name__)

Obj = dict[str, Any]
"""An unstructured Kubernetes object."""

#: Per-request timeout (connect, read) for ordinary calls: a stuck API server must not stall a worker forever.
REQUEST_TIMEOUT = (10.0, 60.0)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"apps/v1"`` → ``("apps", "v1")``; ``"v1"`` → ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource, as discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: frozenset[str] = field(default_factory=frozenset)

    @property
    def api_version(self) -> str:
        """``group/version``, or just ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The REST path; ``namespace=""`` on a namespaced resource means all namespaces (list/watch)."""
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base

    def __str__(self) -> str:
        return f"{self.plural}.{self.api_version}"


class WatchStream(Protocol):
    """An iterable of watch events that another thread can stop."""

    def __iter__(self) -> Iterator[Obj]:
        """Yield ``{"type": ..., "object": ...}`` events."""
        ...

    def stop(self) -> None:
        """End the stream (callable from any thread)."""
        ...


class Api(Protocol):
    """What the controller needs from the Kubernetes API (implemented by KubeApi and FakeApi)."""

    def resource(self, api_version: str, plural: str) -> ResourceInfo:
        """Resolve ``apiVersion`` + plural resource name (raises DiscoveryError)."""
        ...

    def resource_for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """Resolve ``apiVersion`` + kind (raises DiscoveryError)."""
        ...

    def get(self, res: ResourceInfo, namespace: str, name: str) -> Obj:
        """An uncached GET."""
        ...

    def list_objects(self, res: ResourceInfo, namespace: str = "") -> tuple[list[Obj], str]:
        """All objects (in one namespace, or all) plus the list's resourceVersion."""
        ...

    def create(self, res: ResourceInfo, obj: Obj) -> Obj:
        """POST."""
        ...

    def replace(self, res: ResourceInfo, obj: Obj) -> Obj:
        """PUT (optimistic concurrency through metadata.resourceVersion)."""
        ...

    def replace_status(self, res: ResourceInfo, obj: Obj) -> Obj:
        """PUT to the status subresource."""
        ...

    def delete(
        self, res: ResourceInfo, namespace: str, name: str, *, uid: str | None = None, propagation: str | None = None
    ) -> None:
        """DELETE, optionally with a UID precondition and a propagation policy."""
        ...

    def watch(self, res: ResourceInfo, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Watch events (``{"type", "object"}``) from ``resource_version`` until the server ends the stream."""
        ...

    def request(self, method: str, path: str, body: Any = None, content_type: str | None = None) -> Obj:
        """Any other call (CRDs, events)."""
        ...


class Discovery:
    """A per-groupVersion cache of the API server's resource lists, refreshed on a miss.

    A miss refreshes at most once per ``min_refresh`` seconds per groupVersion, so a CompositeController that
    names a CRD not yet installed does not hammer the API server (upstream rediscovers every
    ``--discovery-interval``).
    """

    def __init__(self, fetch: Any, min_refresh: float = 1.0) -> None:
        self._fetch = fetch
        self._min_refresh = min_refresh
        self._cache: dict[str, list[ResourceInfo]] = {}
        self._fetched_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget everything (called every discovery interval)."""
        with self._lock:
            self._cache.clear()
            self._fetched_at.clear()

    def find(self, api_version: str, *, plural: str | None = None, kind: str | None = None) -> ResourceInfo:
        """Find a resource by plural or by kind, refreshing the groupVersion once on a miss."""
        for attempt in range(2):
            found = [r for r in self._resources(api_version, refresh=attempt == 1) if self._matches(r, plural, kind)]
            if found:
                return found[0]
        what = plural or kind
        raise DiscoveryError(f"server does not serve {what!r} in apiVersion {api_version!r}")

    @staticmethod
    def _matches(res: ResourceInfo, plural: str | None, kind: str | None) -> bool:
        return (plural is not None and res.plural == plural) or (kind is not None and res.kind == kind)

    def _resources(self, api_version: str, *, refresh: bool) -> list[ResourceInfo]:
        with self._lock:
            cached = self._cache.get(api_version)
            recent = time.monotonic() - self._fetched_at.get(api_version, -1e9) < self._min_refresh
            if cached is not None and (not refresh or recent):
                return cached
        fetched = self._load(api_version)
        with self._lock:
            self._cache[api_version] = fetched
            self._fetched_at[api_version] = time.monotonic()
        return fetched

    def _load(self, api_version: str) -> list[ResourceInfo]:
        group, version = split_api_version(api_version)
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            body = self._fetch(path)
        except NotFound:
            return []
        return parse_resource_list(group, version, body)


def parse_resource_list(group: str, version: str, body: Obj) -> list[ResourceInfo]:
    """Turn an ``APIResourceList`` into ResourceInfos; ``plural/sub`` entries become subresources."""
    subresources: dict[str, set[str]] = {}
    for entry in body.get("resources") or []:
        main, _, sub = entry["name"].partition("/")
        if sub:
            subresources.setdefault(main, set()).add(sub)
    return [
        ResourceInfo(
            group=group,
            version=version,
            plural=entry["name"],
            kind=entry["kind"],
            namespaced=bool(entry.get("namespaced")),
            subresources=frozenset(subresources.get(entry["name"], ())),
        )
        for entry in body.get("resources") or []
        if "/" not in entry["name"]
    ]


class KubeApi:
    """The real :class:`Api`, over one ``kubernetes.client.ApiClient`` shared by every thread."""

    def __init__(self, api_client: k8s_client.ApiClient, *, discovery_min_refresh: float = 1.0) -> None:
        self._client = api_client
        self.discovery = Discovery(lambda path: self.request("GET", path), discovery_min_refresh)

    # -- discovery ---------------------------------------------------------------------------------------
    def resource(self, api_version: str, plural: str) -> ResourceInfo:
        """Resolve ``apiVersion`` + plural."""
        return self.discovery.find(api_version, plural=plural)

    def resource_for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """Resolve ``apiVersion`` + kind."""
        return self.discovery.find(api_version, kind=kind)

    # -- verbs -------------------------------------------------------------------------------------------
    def get(self, res: ResourceInfo, namespace: str, name: str) -> Obj:
        """An uncached GET."""
        return self.request("GET", res.path(namespace, name))

    def list_objects(self, res: ResourceInfo, namespace: str = "") -> tuple[list[Obj], str]:
        """List with pagination (500 a page); items get apiVersion/kind, which list responses omit."""
        items: list[Obj] = []
        token = ""
        while True:
            query = [("limit", "500")] + ([("continue", token)] if token else [])
            body = self.request("GET", res.path(namespace), query=query)
            for item in body.get("items") or []:
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", res.kind)
                items.append(item)
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items, (body.get("metadata") or {}).get("resourceVersion", "")

    def create(self, res: ResourceInfo, obj: Obj) -> Obj:
        """POST into the object's namespace."""
        return self.request("POST", res.path(_ns(obj)), obj)

    def replace(self, res: ResourceInfo, obj: Obj) -> Obj:
        """PUT."""
        return self.request("PUT", res.path(_ns(obj), obj["metadata"]["name"]), obj)

    def replace_status(self, res: ResourceInfo, obj: Obj) -> Obj:
        """PUT to ``/status``."""
        return self.request("PUT", res.path(_ns(obj), obj["metadata"]["name"], "status"), obj)

    def delete(
        self, res: ResourceInfo, namespace: str, name: str, *, uid: str | None = None, propagation: str | None = None
    ) -> None:
        """DELETE with optional UID precondition and propagation policy (sent as DeleteOptions)."""
        options: Obj = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if uid:
            options["preconditions"] = {"uid": uid}
        if propagation:
            options["propagationPolicy"] = propagation
        self.request("DELETE", res.path(namespace, name), options)

    # -- watch -------------------------------------------------------------------------------------------
    def watch(self, res: ResourceInfo, resource_version: str, timeout_seconds: int) -> WatchStream:
        """Stream watch events through ``kubernetes.watch.Watch`` (raw dicts, no model deserialisation).

        ``timeout_seconds`` makes the API server end the stream; the caller re-watches from the last
        resourceVersion it saw. A 410 raises :class:`.errors.Gone` so the informer relists.
        """
        return _KubeWatch(self._watch_call, res.path(), resource_version, timeout_seconds)

    def _watch_call(self, path: str, **kwargs: Any) -> Any:
        """The "list function" watch.Watch calls: returns the raw, still-streaming urllib3 response."""
        query = [("watch", "true"), ("allowWatchBookmarks", "true")]
        if kwargs.get("resource_version"):
            query.append(("resourceVersion", str(kwargs["resource_version"])))
        timeout = int(kwargs.get("timeout_seconds") or 300)
        query.append(("timeoutSeconds", str(timeout)))
        response = self._call("GET", path, None, query, None, timeout=(10.0, timeout + 30.0))
        return response.response

    # -- transport ---------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> Obj:
        """One JSON call; a non-2xx answer raises the matching :class:`.errors.ApiError`."""
        response = self._call(method, path, body, query or [], content_type, timeout=REQUEST_TIMEOUT)
        data = response.read() if hasattr(response, "read") else response.data
        return json.loads(data) if data else {}

    def _call(
        self,
        method: str,
        path: str,
        body: Any,
        query: list[tuple[str, str]],
        content_type: str | None,
        *,
        timeout: tuple[float, float],
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type or "application/json"}
        try:
            request = self._client.param_serialize(
                method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = self._client.call_api(*request, _request_timeout=timeout)
        except k8s_client.ApiException as exc:
            raise _translate(exc.status or 0, exc.reason or "", exc.body) from exc
        except Exception as exc:  # urllib3/socket errors: a transport failure is a 0-status ApiError
            raise ApiError(0, "TransportError", f"{method} {path}: {exc}") from exc
        if not 200 <= response.status <= 299:
            raise _translate(response.status, response.reason or "", response.read())
        return response


class _KubeWatch:
    """One watch request, iterated through ``kubernetes.watch.Watch`` and stoppable from another thread."""

    def __init__(self, call: Any, path: str, resource_version: str, timeout_seconds: int) -> None:
        self._watcher = k8s_watch.Watch()
        self._args = (call, path)
        self._kwargs = {
            "resource_version": resource_version,
            "timeout_seconds": timeout_seconds,
            "allow_watch_bookmarks": True,
        }

    def __iter__(self) -> Iterator[Obj]:
        try:
            for event in self._watcher.stream(*self._args, **self._kwargs):
                yield {"type": event["type"], "object": event["raw_object"]}
        except k8s_client.ApiException as exc:
            raise status_error(exc.status or 0, str(exc.reason), str(exc.body or exc.reason)) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # the stream broke (or stop() closed it)
            raise ApiError(0, "TransportError", f"watch stream ended: {exc}") from exc

    def stop(self) -> None:
        """Close the stream; the iterating thread's next read ends."""
        self._watcher.stop()


def _translate(status: int, reason: str, raw: Any) -> ApiError:
    """Map a Kubernetes ``Status`` body to the right ApiError subclass."""
    try:
        body = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    return status_error(status, str(body.get("reason") or reason), str(body.get("message") or raw))


def _ns(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")
