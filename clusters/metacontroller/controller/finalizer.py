"""The CompositeController's finalizer on parents (upstream ``pkg/controller/common/finalizer``).

Name: ``metacontroller.io/compositecontroller-<CompositeController name>``. With a finalize hook it is added
to every handled parent before anything else happens (never to a parent already being deleted: we may have
removed it ourselves); without one it is removed. Children are managed during deletion only while our
finalizer is still there and no GC finalizer (``foregroundDeletion``/``orphan``) is: otherwise we would
fight the garbage collector.
"""

from __future__ import annotations

from .atomic import atomic_update
from .kube import Api, Obj, ResourceInfo

PREFIX = "metacontroller.io/compositecontroller-"
GC_FINALIZERS = frozenset({"foregroundDeletion", "orphan"})


def finalizer_name(controller_name: str) -> str:
    """The finalizer a CompositeController puts on its parents."""
    return PREFIX + controller_name


def finalizers(obj: Obj) -> list[str]:
    """``metadata.finalizers`` (empty list when absent)."""
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def has_finalizer(obj: Obj, name: str) -> bool:
    """Whether ``obj`` carries ``name``."""
    return name in finalizers(obj)


def is_deleting(obj: Obj) -> bool:
    """Whether ``obj`` has a deletionTimestamp."""
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def should_finalize(parent: Obj, name: str, *, enabled: bool) -> bool:
    """Whether to keep managing children of a parent pending deletion (upstream ``ShouldFinalize``)."""
    if GC_FINALIZERS & set(finalizers(parent)):
        return False
    return enabled and has_finalizer(parent, name)


def sync_finalizer(api: Api, res: ResourceInfo, parent: Obj, name: str, *, enabled: bool) -> Obj:
    """Add (finalize hook defined, parent alive) or remove (no finalize hook) our finalizer; return the parent."""
    if has_finalizer(parent, name) == enabled:
        return parent
    if enabled:
        if is_deleting(parent):
            return parent
        return atomic_update(api, res, parent, lambda obj: _add(obj, name))
    return remove_finalizer(api, res, parent, name)


def remove_finalizer(api: Api, res: ResourceInfo, parent: Obj, name: str) -> Obj:
    """Remove our finalizer from the live parent (no write if it is already gone)."""
    return atomic_update(api, res, parent, lambda obj: _remove(obj, name))


def _add(obj: Obj, name: str) -> bool:
    if has_finalizer(obj, name):
        return False
    obj["metadata"]["finalizers"] = [*finalizers(obj), name]
    return True


def _remove(obj: Obj, name: str) -> bool:
    if not has_finalizer(obj, name):
        return False
    obj["metadata"]["finalizers"] = [f for f in finalizers(obj) if f != name]
    return True
