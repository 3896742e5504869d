"""What an inner run left in the cluster after its own teardown, found and removed.

Some defects leave objects behind by design (``reference/DEFECTS.md``: ``del3`` keeps the PVC, ``rpr2``
orphans every child, ``rpr4`` gives children a second owner), and the run's teardown cannot remove them while
the defect was on. After each inner run (the defect off again) this finds:

* UserSwarms still labelled with the run's ID;
* children (the profile's child kinds, in the runtime namespace) of the run's users whose UserSwarm is gone.
  A run's users are named ``u<last 6 characters of the run ID>-…`` (``swarmconf.fixtures.tenants.TenantBook``),
  and the children carry the user label, so nothing of another run is ever touched.

and deletes them, returning what it removed so the matrix can say so (on the baseline, any leftover is a
harness bug).
"""

from __future__ import annotations

from typing import Any

from swarmconf.fixtures.cleanup import RUN_LABEL
from swarmconf.fixtures.platform import Platform
from swarmconf.kube import KubeError


def user_prefix(run_id: str) -> str:
    """The prefix of every user ID a run's tenant factory makes."""
    return f"u{run_id[-6:]}-"


def find(platform: Platform, run_id: str) -> list[dict[str, Any]]:
    """The run's leftover UserSwarms and orphaned children (see the module docstring)."""
    crd, children = platform.profile.crd, platform.profile.children
    swarms = platform.kube.list(crd.api_version, crd.kind, label_selector=f"{RUN_LABEL}={run_id}")
    for s in swarms:
        s.setdefault("apiVersion", crd.api_version)
        s.setdefault("kind", crd.kind)
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
