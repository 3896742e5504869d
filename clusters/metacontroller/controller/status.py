"""Writing the parent's status (upstream ``updateParentStatus``, METACONTROLLER.md §2 "Status").

The hook's ``status`` replaces the parent's whole ``.status``, plus ``observedGeneration``; a null status
becomes just ``{observedGeneration}``. The comparison is made against a live, UID-checked GET, and nothing
is written when they are equal, so a steady state costs no writes (and no extra sync events).
"""

from __future__ import annotations

from .atomic import atomic_update
from .kube import Api, Obj, ResourceInfo


def desired_status(hook_status: Obj | None, generation: int | None) -> Obj:
    """The status to store: the hook's, with ``observedGeneration`` set to the parent's generation."""
    status = dict(hook_status or {})
    status["observedGeneration"] = generation
    return status


def update_parent_status(api: Api, res: ResourceInfo, parent: Obj, hook_status: Obj | None) -> Obj:
    """Replace status through ``/status`` when it differs from the live object's; return the live parent."""
    status = desired_status(hook_status, parent["metadata"].get("generation"))

    def mutate(obj: Obj) -> bool:
        if obj.get("status") == status:
            return False
        obj["status"] = status
        return True

    return atomic_update(api, res, parent, mutate, status=True)
