"""Client-side "kubectl apply" for children: a 3-way merge of observed, last-applied and desired.

Upstream ``pkg/dynamic/apply`` and ``common.ApplyUpdate`` (METACONTROLLER.md §2 "Applying children"):

* The desired object a hook returned is remembered in the annotation
  ``metacontroller.k8s.io/last-applied-configuration`` (compact JSON, sorted keys, as Go's ``json.Marshal``).
* Map keys present in last-applied but gone from desired are deleted; everything in desired is set.
* Lists whose items are all objects sharing a conventional key (``containerPort``, ``port``, ``mountPath``,
  ``name``, ``uid``, ``ip``, ``path``, in that order) are merged item by item on that key, keeping the observed
  order and appending new items in desired order; other lists are replaced by desired.
* ObjectMeta system fields and ``status`` are reverted to observed, so they never cause a diff.
* If the result equals the observed object, the caller writes nothing.

One deliberate difference: when observed holds an object/list where desired holds a different JSON type,
desired wins (upstream's Go type assertions silently keep the observed object there).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import SyncError
from .kube import Obj

LAST_APPLIED_ANNOTATION = "metacontroller.k8s.io/last-applied-configuration"

KNOWN_MERGE_KEYS = ("containerPort", "port", "mountPath", "name", "uid", "ip", "path")

OBJECT_META_SYSTEM_FIELDS = (
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def go_json(value: Any) -> str:
    """JSON as Go's ``encoding/json`` writes it: compact, sorted map keys, HTML-safe escapes."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def get_last_applied(obj: Obj) -> Obj | None:
    """The last-applied configuration stored on ``obj``, or ``None``."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise SyncError(f"can't unmarshal {LAST_APPLIED_ANNOTATION!r} annotation: {exc}") from exc
    return value if isinstance(value, dict) else None


def set_last_applied(obj: Obj, last_applied: Obj) -> None:
    """Store ``last_applied`` (serialised first, so it never contains itself) on ``obj``."""
    text = go_json(last_applied)
    meta = obj.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = meta["annotations"] = {}
    annotations[LAST_APPLIED_ANNOTATION] = text


def strip_last_applied(obj: Obj) -> None:
    """Drop a last-applied annotation a hook copied back into its desired object (upstream "nullify")."""
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and annotations.pop(LAST_APPLIED_ANNOTATION, None) is not None and not annotations:
        del obj["metadata"]["annotations"]  # it held only our annotation: as if the hook had sent none


def merge(observed: Obj, last_applied: Obj | None, desired: Obj) -> Obj:
    """The 3-way merge; returns a new object, leaving the arguments untouched."""
    result = _merge(copy.deepcopy(observed), last_applied, copy.deepcopy(desired))
    assert isinstance(result, dict)
    return result


def _merge(destination: Any, last: Any, desired: Any) -> Any:
    if isinstance(destination, dict) and isinstance(desired, dict):
        return _merge_object(destination, last if isinstance(last, dict) else None, desired)
    if isinstance(destination, list) and isinstance(desired, list):
        return _merge_list(destination, last if isinstance(last, list) else None, desired)
    return desired


def _merge_object(destination: Obj, last: Obj | None, desired: Obj) -> Obj:
    for key in last or {}:
        if key not in desired:
            destination.pop(key, None)
    for key, value in desired.items():
        destination[key] = _merge(destination.get(key), (last or {}).get(key), value)
    return destination


def _merge_list(destination: list[Any], last: list[Any] | None, desired: list[Any]) -> list[Any]:
    key = detect_list_map_key(destination, last or [], desired)
    if not key:
        return desired
    dest_map = _list_map(key, destination)
    _merge_object(dest_map, _list_map(key, last or []), _list_map(key, desired))
    merged: list[Any] = []
    added: set[str] = set()
    for item in destination + desired:  # observed order first, then new items in desired order
        item_key = _merge_key(item[key])
        if item_key in dest_map and item_key not in added:
            merged.append(dest_map[item_key])
            added.add(item_key)
    return merged


def detect_list_map_key(*lists: list[Any]) -> str:
    """The conventional key every item of every list has, or ``""`` if these are not list-maps."""
    common: set[str] | None = None
    for items in lists:
        for item in items:
            if not isinstance(item, dict):
                return ""
            common = set(item) if common is None else common & set(item)
    for key in KNOWN_MERGE_KEYS:
        if common and key in common:
            return key
    return ""


def _list_map(key: str, items: list[Any]) -> Obj:
    return {_merge_key(item[key]): item for item in items}


def _merge_key(value: Any) -> str:
    """Go's ``fmt.Sprintf("%v")`` of a merge key: strings as-is, numbers without a trailing ``.0``."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def apply_update(observed: Obj, desired: Obj) -> Obj:
    """The object to write for ``desired`` given ``observed`` (upstream ``ApplyUpdate``).

    Compare the result with ``observed``: equal means nothing to do.
    """
    desired = copy.deepcopy(desired)
    strip_last_applied(desired)
    merged = merge(observed, get_last_applied(observed), desired)
    for name in OBJECT_META_SYSTEM_FIELDS:
        _revert(merged, observed, ("metadata", name))
    _revert(merged, observed, ("status",))
    set_last_applied(merged, desired)
    return merged


def prepare_create(desired: Obj) -> Obj:
    """The object to POST for a new child: last-applied recorded *before* anything else is added."""
    obj = copy.deepcopy(desired)
    strip_last_applied(obj)
    set_last_applied(obj, copy.deepcopy(obj))
    return obj


def _revert(merged: Obj, observed: Obj, path: tuple[str, ...]) -> None:
    source: Any = observed
    for part in path:
        source = source.get(part) if isinstance(source, dict) else None
        if source is None:
            break
    target: Any = merged
    for part in path[:-1]:
        if source is None and not isinstance(target.get(part), dict):
            return
        target = target.setdefault(part, {})
    if source is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = copy.deepcopy(source)
