"""Making observed children look like desired ones (upstream ``common.ManageChildren``).

1. Deletes first: every observed child missing from the desired list is deleted with a UID precondition and
   ``propagationPolicy: Background``; children already terminating and 404s are skipped.
2. Then creates and updates. A new child gets the last-applied annotation (recorded before anything else is
   added) and an ownerReference to the parent with ``controller: true, blockOwnerDeletion: true``;
   AlreadyExists is swallowed. An existing child is 3-way merged (:mod:`.apply`); if nothing changed nothing
   is written, and otherwise its update strategy decides: OnDelete leaves it, Recreate deletes it (recreated
   next sync), InPlace PUTs it (404/409 swallowed: the next sync retries). Terminating children are left alone.

Kinds are processed in (group, version, kind) order. Errors are collected and the pass keeps going, so a
failed delete never blocks a create.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from .apply import apply_update, prepare_create
from .claim import make_controller_ref
from .errors import AlreadyExists, Conflict, ControllerError, DiscoveryError, NotFound
from .finalizer import is_deleting
from .hookapi import ChildMap, ChildType
from .kube import Api, Obj, ResourceInfo, split_api_version

log = logging.getLogger(__name__)

Resolver = Callable[[ChildType], ResourceInfo]
"""Maps ``(apiVersion, kind)`` to the served resource (raises DiscoveryError)."""


def normalize_desired(children: list[Obj], parent: Obj, resolve: Resolver) -> None:
    """Give namespaced children without a namespace the parent's, and drop namespaces on cluster-scoped ones.

    A cluster-scoped parent's namespace is ``""``, so its namespaced children must name their namespace
    (checked at create time). A namespace on a cluster-scoped child is ignored by the API server; dropping it
    here keeps its key stable, avoiding a create/delete loop (upstream GoogleCloudPlatform#173).
    """
    parent_ns = (parent.get("metadata") or {}).get("namespace") or ""
    for child in children:
        try:
            res = resolve((str(child.get("apiVersion", "")), str(child["kind"])))
        except DiscoveryError:
            continue  # reported by manage_children for that type
        meta = child.setdefault("metadata", {})
        if res.namespaced and not meta.get("namespace") and parent_ns:
            meta["namespace"] = parent_ns
        elif not res.namespaced:
            meta.pop("namespace", None)


def manage_children(
    api: Api,
    parent: Obj,
    parent_res: ResourceInfo,
    observed: ChildMap,
    desired: ChildMap,
    *,
    methods: dict[tuple[str, str], str],
    resolve: Resolver,
) -> list[str]:
    """Apply ``desired`` over ``observed``; return the error messages (empty list: all good)."""
    errors: list[str] = []
    for ctype in sorted(observed, key=_order):
        res = _resolve(resolve, ctype, errors)
        if res is not None:
            errors += _delete_undesired(api, res, observed[ctype], desired.get(ctype, {}))
    for ctype in sorted(desired, key=_order):
        res = _resolve(resolve, ctype, errors)
        if res is None:
            continue
        method = methods.get((res.group, res.kind), "OnDelete")
        for key, child in desired[ctype].items():
            current = observed.get(ctype, {}).get(key)
            try:
                if current is None:
                    _create(api, res, parent, parent_res, child)
                else:
                    _update(api, res, current, child, method)
            except ControllerError as exc:
                errors.append(f"{res.kind} {_name(child)}: {exc}")
    return errors


def _order(ctype: ChildType) -> tuple[str, str, str]:
    group, version = split_api_version(ctype[0])
    return group, version, ctype[1]


def _resolve(resolve: Resolver, ctype: ChildType, errors: list[str]) -> ResourceInfo | None:
    try:
        return resolve(ctype)
    except DiscoveryError as exc:
        errors.append(str(exc))
        return None


def _delete_undesired(api: Api, res: ResourceInfo, observed: dict[str, Obj], desired: dict[str, Obj]) -> list[str]:
    errors = []
    for key, child in observed.items():
        if is_deleting(child) or key in desired:
            continue
        log.info("deleting %s %s (no longer desired)", res.kind, _name(child))
        try:
            _delete(api, res, child)
        except ControllerError as exc:
            errors.append(f"can't delete {res.kind} {_name(child)}: {exc}")
    return errors


def _delete(api: Api, res: ResourceInfo, child: Obj) -> None:
    meta = child["metadata"]
    with contextlib.suppress(NotFound):  # already gone: nothing to retry
        api.delete(res, meta.get("namespace") or "", meta["name"], uid=meta.get("uid"), propagation="Background")


def _create(api: Api, res: ResourceInfo, parent: Obj, parent_res: ResourceInfo, desired: Obj) -> None:
    if res.namespaced and not (desired.get("metadata") or {}).get("namespace"):
        raise ControllerError(
            "namespaced child has no metadata.namespace (children of a cluster-scoped parent must set it)"
        )
    obj = prepare_create(desired)
    meta = obj["metadata"]
    meta["ownerReferences"] = [*(meta.get("ownerReferences") or []), make_controller_ref(parent, parent_res)]
    log.info("creating %s %s", res.kind, _name(obj))
    with contextlib.suppress(AlreadyExists):  # our cache is behind; the next sync sees it
        api.create(res, obj)


def _update(api: Api, res: ResourceInfo, observed: Obj, desired: Obj, method: str) -> None:
    merged = apply_update(observed, desired)
    if merged == observed or is_deleting(observed):
        return
    if method == "OnDelete":
        return
    if method in ("Recreate", "RollingRecreate"):
        log.info("deleting %s %s to recreate it (Recreate strategy)", res.kind, _name(observed))
        _delete(api, res, observed)
    elif method in ("InPlace", "RollingInPlace"):
        log.info("updating %s %s in place", res.kind, _name(observed))
        with contextlib.suppress(NotFound, Conflict):  # gone, or changed since our cache saw it: next sync retries
            api.replace(res, merged)
    else:
        raise ControllerError(f"invalid update strategy for {res.kind}: unknown method {method!r}")


def _name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name')}"
