"""What an inner run left in the cluster after its own teardown, found and removed.

Some defects leave objects behind by design (``reference/DEFECTS.md``: ``del3`` keeps the PVC, ``rpr2``
orphans every child, ``rpr4`` gives children a second owner), and the run's teardown cannot remove them while
the defect was on. After each inner run (the defect off again) this finds:

* UserSwarms still labelled with the run's ID, or of the run's users (one stopped before it was labelled);
* children (the profile's child kinds, in the runtime namespace) of the run's users whose UserSwarm is gone.
  A run's users are named ``u<last 6 characters of the run ID>-…`` (``swarmconf.fixtures.cleanup.user_prefix``),
  and the children carry the user label, so nothing of another run is ever touched.

and deletes them, returning what it removed so the matrix can say so (on the baseline, any leftover is a
harness bug).
"""

from __future__ import annotations

from typing import Any

from swarmconf.fixtures.cleanup import own_swarms, user_prefix
from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.profiles import dig
from swarmconf.kube import KubeError

__all__ = ["find", "remove", "user_prefix"]


def find(platform: Platform, run_id: str) -> list[dict[str, Any]]:
    """The run's leftover UserSwarms and orphaned children (see the module docstring)."""
    crd, children = platform.profile.crd, platform.profile.children
    user = platform.profile.swarm.user
    swarms = own_swarms(platform.kube, run_id, (crd.api_version, crd.kind), user_of=lambda s: dig(s, user))
    alive = {s["metadata"]["name"] for s in platform.swarms()}
    found = list(swarms)
    for api_version, kind in platform.child_kinds():
        for obj in platform.kube.list(api_version, kind, namespace=platform.profile.runtime_namespace):
            labels = obj["metadata"].get("labels") or {}
            mine = str(labels.get(children.user_label, "")).startswith(user_prefix(run_id))
            if mine and labels.get(children.swarm_label) not in alive:
                obj.setdefault("apiVersion", api_version)
                obj.setdefault("kind", kind)
                found.append(obj)
    return found


def remove(platform: Platform, run_id: str) -> list[str]:
    """Delete the run's leftovers; return ``Kind/name`` of each (with ``(failed: …)`` if it could not)."""
    removed = []
    for obj in find(platform, run_id):
        meta = obj["metadata"]
        name = f"{obj['kind']}/{meta['name']}"
        try:
            platform.kube.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        except KubeError as exc:
            name += f" (failed: {exc})"
        removed.append(name)
    return removed
