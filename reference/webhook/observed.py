"""Reading the observed children of a hook request, and echoing them back unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "LAST_APPLIED",
    "Child",
    "echo",
    "is_terminating",
    "iter_children",
    "key_of",
]

LAST_APPLIED = "metacontroller.k8s.io/last-applied-configuration"
Child = dict[str, Any]
_SYSTEM_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
    "finalizers",
)


def iter_children(children: Any) -> Iterator[Child]:
    """Every observed child object in a request's ``children`` map (tolerating nulls)."""
    if not isinstance(children, Mapping):
        return
    for group in children.values():
        if isinstance(group, Mapping):
            yield from (obj for obj in group.values() if isinstance(obj, dict))


def key_of(obj: Mapping[str, Any]) -> tuple[str, str]:
    """``(kind, name)`` of a child."""
    return str(obj.get("kind", "")), str(obj.get("metadata", {}).get("name", ""))


def is_terminating(obj: Mapping[str, Any]) -> bool:
    """True if the child already has a deletion timestamp."""
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def _last_applied(obj: Mapping[str, Any]) -> Child | None:
    raw = (obj.get("metadata", {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and parsed.get("kind") == obj.get("kind") else None


def echo(obj: Mapping[str, Any]) -> Child:
    """A desired object that asks for exactly what the child already is, so Metacontroller changes nothing.

    It is the child's last-applied configuration when there is one (what we asked for last time), otherwise the
    observed object without status and system metadata.
    """
    last = _last_applied(obj)
    if last is not None:
        return last
    copy = json.loads(json.dumps({k: v for k, v in obj.items() if k != "status"}))
    metadata = copy.setdefault("metadata", {})
    for field in _SYSTEM_METADATA:
        metadata.pop(field, None)
    (metadata.get("annotations") or {}).pop(LAST_APPLIED, None)
    return copy
