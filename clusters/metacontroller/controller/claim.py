"""Which children belong to a parent: claim, adopt, release (upstream ``ControllerRefManager.ClaimObject``).

For every candidate object of a child type (in the parent's namespace, or everywhere for a cluster-scoped
parent), :func:`decide` returns one of:

=====================================================  ==========================================
candidate                                              decision
=====================================================  ==========================================
controllerRef to another owner                         IGNORE
controllerRef to this parent, labels match              CLAIMED (sent to the hook, terminating too)
controllerRef to this parent, labels don't match        RELEASE (drop our ownerRef) — IGNORE while
                                                        the parent is being deleted
orphan, labels match, parent alive, child alive,        ADOPT (add our controllerRef after an
same namespace for a namespaced parent                  uncached check the parent is not deleting)
any other orphan                                        IGNORE
=====================================================  ==========================================
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from .atomic import atomic_update
from .errors import ControllerError, NotFound, SyncError
from .finalizer import is_deleting
from .kube import Api, Obj, ResourceInfo


class Claim(enum.Enum):
    """What to do with one candidate child."""

    CLAIMED = "claimed"
    ADOPT = "adopt"
    RELEASE = "release"
    IGNORE = "ignore"


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def make_controller_ref(parent: Obj, parent_res: ResourceInfo) -> Obj:
    """The ownerReference Metacontroller puts on children it creates or adopts."""
    return {
        "apiVersion": parent_res.api_version,
        "kind": parent_res.kind,
        "name": parent["metadata"]["name"],
        "uid": parent["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def add_owner_reference(refs: list[Obj], ref: Obj) -> list[Obj]:
    """Replace the ownerReference with ``ref``'s UID, or append ``ref``."""
    out = [r for r in refs if r.get("uid") != ref["uid"]]
    if len(out) == len(refs):
        return [*refs, ref]
    return [ref if r.get("uid") == ref["uid"] else r for r in refs]


def remove_owner_reference(refs: list[Obj], uid: str) -> list[Obj]:
    """Drop every ownerReference with ``uid``."""
    return [r for r in refs if r.get("uid") != uid]


def decide(child: Obj, parent: Obj, *, matches: bool, parent_namespaced: bool) -> Claim:
    """The table in the module docstring."""
    ref = controller_ref(child)
    parent_uid = parent["metadata"]["uid"]
    if ref is not None:
        if ref.get("uid") != parent_uid:
            return Claim.IGNORE
        if matches:
            return Claim.CLAIMED
        return Claim.IGNORE if is_deleting(parent) else Claim.RELEASE
    if is_deleting(parent) or not matches or is_deleting(child):
        return Claim.IGNORE
    child_ns = (child.get("metadata") or {}).get("namespace") or ""
    if parent_namespaced and child_ns != (parent["metadata"].get("namespace") or ""):
        return Claim.IGNORE
    return Claim.ADOPT


def claim_children(
    api: Api,
    child_res: ResourceInfo,
    parent: Obj,
    parent_res: ResourceInfo,
    candidates: list[Obj],
    matches: Callable[[Obj], bool],
    can_adopt: Callable[[], None],
) -> list[Obj]:
    """Claim ``candidates``, adopting and releasing as decided; failures are aggregated into one SyncError."""
    claimed: list[Obj] = []
    errors: list[str] = []
    ref = make_controller_ref(parent, parent_res)
    for child in candidates:
        decision = decide(child, parent, matches=matches(child), parent_namespaced=parent_res.namespaced)
        try:
            if decision is Claim.CLAIMED:
                claimed.append(child)
            elif decision is Claim.ADOPT:
                can_adopt()
                _update_refs(api, child_res, child, lambda refs: add_owner_reference(refs, ref))
                claimed.append(child)
            elif decision is Claim.RELEASE:
                _update_refs(api, child_res, child, lambda refs: remove_owner_reference(refs, ref["uid"]))
        except NotFound:
            continue  # the child is gone: nothing to adopt or release
        except ControllerError as exc:
            errors.append(f"can't {decision.value} {child_res.kind} {_name(child)}: {exc}")
    if errors:
        raise SyncError(f"can't claim {child_res.kind} children: " + "; ".join(errors))
    return claimed


def adoption_check(api: Api, parent_res: ResourceInfo, parent: Obj) -> Callable[[], None]:
    """A once-per-sync, uncached check that the parent still exists and is not being deleted."""
    result: list[BaseException | None] = []

    def check() -> None:
        if not result:
            result.append(_recheck(api, parent_res, parent))
        if result[0] is not None:
            raise result[0]

    return check


def _recheck(api: Api, parent_res: ResourceInfo, parent: Obj) -> BaseException | None:
    meta = parent["metadata"]
    try:
        fresh = api.get(parent_res, meta.get("namespace") or "", meta["name"])
    except ControllerError as exc:
        return exc
    if fresh["metadata"].get("uid") != meta["uid"]:
        return SyncError(f"original {parent_res.kind} {meta['name']} is gone: got uid {fresh['metadata'].get('uid')}")
    if is_deleting(fresh):
        return SyncError(f"{meta['name']} has just been deleted at {fresh['metadata']['deletionTimestamp']}")
    return None


def _update_refs(api: Api, res: ResourceInfo, child: Obj, change: Callable[[list[Obj]], list[Obj]]) -> None:
    def mutate(obj: Obj) -> bool:
        obj["metadata"]["ownerReferences"] = change(list(obj["metadata"].get("ownerReferences") or []))
        return True

    atomic_update(api, res, child, mutate)


def _name(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name')}"
