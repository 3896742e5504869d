"""Ordered teardown for the finalize hook: a pure function of the observed children.

Stages: the StatefulSet first (stop the runtime), then the Services, ConfigMap, ServiceAccount and Secret, the
PVC last (its data is released only once nothing can write to it). Each call keeps every child of a *later*
stage than the earliest stage still observed, so Metacontroller deletes exactly the current stage. The plan
never adds a child that is not observed (nothing is recreated) and is ``finalized`` only when no child is left,
so calling it again after a partial teardown simply continues.
"""

from __future__ import annotations

from swarmconf.reference.webhook.observed import Child, echo

__all__ = ["STAGES", "plan_teardown", "stage_of"]

STAGES: tuple[tuple[str, ...], ...] = (
    ("StatefulSet",),
    ("Service", "ConfigMap", "ServiceAccount", "Secret"),
    ("PersistentVolumeClaim",),
)


def stage_of(kind: str) -> int:
    """The stage a kind is torn down in (unknown kinds go first)."""
    return next((index for index, kinds in enumerate(STAGES) if kind in kinds), 0)


def plan_teardown(observed: list[Child]) -> tuple[list[Child], bool]:
    """``(children to keep, finalized)`` for the observed children."""
    if not observed:
        return [], True
    current = min(stage_of(str(obj.get("kind"))) for obj in observed)
    keep = [echo(obj) for obj in observed if stage_of(str(obj.get("kind"))) > current]
    return keep, False
