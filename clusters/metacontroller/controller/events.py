"""Kubernetes Events about parents and CompositeControllers (``SyncError``, ``Started``, …).

Like client-go's recorder: events land in the object's namespace, or ``default`` for cluster-scoped objects;
repeats of the same (object, type, reason, message) increment ``count`` on one Event instead of creating new
ones; a per-object token bucket (burst 25, one token per 5 minutes, upstream's ``--events-qps 1/300``,
``--events-burst 25``) stops a hot error loop from flooding the API server. Writing an event never raises.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

from .errors import ControllerError
from .kube import Api, Obj

log = logging.getLogger(__name__)

COMPONENT = "metacontroller"
NORMAL = "Normal"
WARNING = "Warning"


class EventRecorder:
    """Create and aggregate core/v1 Events."""

    def __init__(self, api: Api, *, burst: int = 25, refill_seconds: float = 300.0) -> None:
        self.api = api
        self.burst = burst
        self.refill_seconds = refill_seconds
        self._instance = os.environ.get("HOSTNAME", "metacontroller")
        self._seen: dict[tuple[str, str, str, str], Obj] = {}
        self._tokens: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def event(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        """Record one event about ``obj``; failures are logged, never raised."""
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid") or meta.get("name"))
        key = (uid, event_type, reason, message)
        with self._lock:
            previous = self._seen.get(key)
            if not self._take_token(uid):
                return
        try:
            if previous is not None:
                self._bump(key, previous)
            else:
                self._create(key, obj, event_type, reason, message)
        except ControllerError as exc:
            log.warning("could not record event %s/%s on %s: %s", event_type, reason, meta.get("name"), exc)

    def _take_token(self, uid: str) -> bool:
        now = time.monotonic()
        if len(self._tokens) > 4096:  # bounded memory: drop buckets that have refilled completely
            full = [k for k, (t, last) in self._tokens.items() if t + (now - last) / self.refill_seconds >= self.burst]
            for key in full:
                del self._tokens[key]
        tokens, last = self._tokens.get(uid, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) / self.refill_seconds)
        if tokens < 1:
            self._tokens[uid] = (tokens, now)
            return False
        self._tokens[uid] = (tokens - 1, now)
        return True

    def _create(self, key: tuple[str, str, str, str], obj: Obj, event_type: str, reason: str, message: str) -> None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = _now()
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace") or "",
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": event_type,
            "reason": reason,
            "message": message[:1024],
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self._instance,
        }
        created = self.api.request("POST", f"/api/v1/namespaces/{namespace}/events", body)
        with self._lock:
            self._seen[key] = created
            if len(self._seen) > 4096:  # bounded memory: forget the oldest aggregation targets
                self._seen.pop(next(iter(self._seen)))

    def _bump(self, key: tuple[str, str, str, str], previous: Obj) -> None:
        body = dict(previous)
        body["count"] = int(previous.get("count") or 1) + 1
        body["lastTimestamp"] = _now()
        body["metadata"] = {k: v for k, v in previous["metadata"].items() if k != "resourceVersion"}
        path = f"/api/v1/namespaces/{body['metadata']['namespace']}/events/{body['metadata']['name']}"
        try:
            updated = self.api.request("PUT", path, body)
        except ControllerError:
            with self._lock:  # the event was deleted or is unreachable: start a new one next time
                self._seen.pop(key, None)
            raise
        with self._lock:
            self._seen[key] = updated


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
