"""The sync/finalize hook protocol: request shape, child keys, and response parsing (METACONTROLLER.md §2).

Request (upstream ``CompositeHookRequest``)::

    {"controller": <CompositeController>, "parent": <parent>,
     "children": {"ConfigMap.v1": {"ns/name": {...}}, "StatefulSet.apps/v1": {}},
     "related": {}, "finalizing": false}

* group keys are ``Kind.version`` for the core group and ``Kind.group/version`` otherwise;
* every declared child type is present, even when empty;
* child keys (hook v1) are the bare name when parent and child share a scope, ``namespace/name`` when a
  cluster-scoped parent has namespaced children; hook v2 always uses ``namespace/name`` for namespaced ones.

Response: ``status`` (replaces the parent's whole status; null → only observedGeneration), ``children``
(null/missing → ``[]``, which deletes every observed child), ``resyncAfterSeconds`` (float), ``finalized``.
v1 parsing is loose (unknown fields ignored, wrong types still fail); v2 is strict (unknown fields fail).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import HookDecodeError
from .kube import Obj, split_api_version

ChildType = tuple[str, str]
"""``(apiVersion, kind)`` of a child type."""

ChildMap = dict[ChildType, dict[str, Obj]]
"""Children grouped by type, then keyed by their name relative to the parent."""

RESPONSE_FIELDS = frozenset({"status", "children", "resyncAfterSeconds", "finalized"})


def group_key(api_version: str, kind: str) -> str:
    """``ConfigMap.v1`` for the core group, ``StatefulSet.apps/v1`` otherwise (upstream MarshalText)."""
    group, version = split_api_version(api_version)
    return f"{kind}.{group}/{version}" if group else f"{kind}.{version}"


def relative_name(parent: Obj, child: Obj, hook_version: str = "v1") -> str:
    """The key of ``child`` inside its group (upstream ``relativeName``; v2 always qualifies namespaced)."""
    parent_ns = _namespace(parent)
    child_ns = _namespace(child)
    name = str(child["metadata"]["name"])
    if child_ns and (hook_version == "v2" or not parent_ns):
        return f"{child_ns}/{name}"
    return name


def child_map(parent: Obj, children: list[Obj], declared: list[ChildType] | None = None) -> ChildMap:
    """Group ``children`` by type and relative name; ``declared`` types are present even if empty."""
    result: ChildMap = {t: {} for t in declared or []}
    for child in children:
        key = (str(child.get("apiVersion", "")), str(child.get("kind", "")))
        result.setdefault(key, {})[relative_name(parent, child)] = child
    return result


def build_request(controller: Obj, parent: Obj, children: ChildMap, *, finalizing: bool, hook_version: str) -> Obj:
    """The JSON body of a sync/finalize call, keys in upstream's field order."""
    return {
        "controller": controller,
        "parent": parent,
        "children": {
            group_key(api_version, kind): {relative_name(parent, obj, hook_version): obj for obj in group.values()}
            for (api_version, kind), group in children.items()
        },
        "related": {},
        "finalizing": finalizing,
    }


@dataclass
class SyncResponse:
    """A decoded hook answer."""

    status: Obj | None = None
    children: list[Obj] = field(default_factory=list)
    resync_after_seconds: float = 0.0
    finalized: bool = False


def parse_response(body: bytes | str, *, strict: bool = False) -> SyncResponse:
    """Decode a hook body the way upstream's ``json.Unmarshal`` into ``CompositeHookResponse`` would.

    Raises :class:`.errors.HookDecodeError` on invalid JSON, wrong types, children without ``kind``, or
    (``strict``) unknown top-level fields.
    """
    try:
        data = json.loads(body) if body else _fail("empty response body")
    except ValueError as exc:
        raise HookDecodeError(f"can't unmarshal response: {exc}") from exc
    if data is None:  # Go: unmarshalling `null` into a struct leaves every field at its zero value
        return SyncResponse()
    if not isinstance(data, dict):
        _fail(f"response must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - RESPONSE_FIELDS)
    if strict and unknown:
        _fail(f"strict validation failed: unknown field(s) {', '.join(unknown)}")
    return SyncResponse(
        status=_status(data.get("status")),
        children=_children(data.get("children")),
        resync_after_seconds=_number(data.get("resyncAfterSeconds")),
        finalized=_bool(data.get("finalized")),
    )


def _status(value: Any) -> Obj | None:
    if value is None or isinstance(value, dict):
        return value
    return _fail(f"status must be an object, got {type(value).__name__}")


def _children(value: Any) -> list[Obj]:
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(f"children must be an array, got {type(value).__name__}")
    children = []
    for item in value:
        if item is None:  # `[null]` decodes to a nil pointer upstream; there is nothing to apply
            continue
        if not isinstance(item, dict):
            _fail(f"each child must be an object, got {type(item).__name__}")
        if not isinstance(item.get("kind"), str) or not item["kind"]:
            _fail(f"Object 'Kind' is missing in child {json.dumps(item)[:200]}")
        children.append(item)
    return children


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(f"resyncAfterSeconds must be a number, got {type(value).__name__}")
    return float(value)


def _bool(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        _fail(f"finalized must be a boolean, got {type(value).__name__}")
    return bool(value)


def _fail(message: str) -> Any:
    raise HookDecodeError(f"can't unmarshal response: {message}")


def _namespace(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")
