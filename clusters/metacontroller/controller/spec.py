"""A CompositeController's spec, read once into typed values (METACONTROLLER.md §1).

Only what the compatible controller honours is modelled; everything else in the object is left alone (and is
still sent to hooks verbatim as ``controller``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError
from .kube import Obj
from .selector import LabelSelector
from .webhook import HookTarget

UPDATE_METHODS = frozenset({"OnDelete", "Recreate", "InPlace", "RollingRecreate", "RollingInPlace"})


@dataclass(frozen=True)
class ChildResourceSpec:
    """One ``spec.childResources[]`` entry."""

    api_version: str
    resource: str
    update_method: str
    """``OnDelete`` (also the default), ``Recreate``, ``InPlace``; rolling methods act like their base method."""


@dataclass(frozen=True)
class ControllerSpec:
    """The parts of ``CompositeController.spec`` this controller acts on."""

    name: str
    parent_api_version: str
    parent_resource: str
    parent_selector: LabelSelector
    """``parentResource.labelSelector``: which parents this controller handles (empty: all)."""
    ignore_status_changes: bool
    children: tuple[ChildResourceSpec, ...]
    sync_hook: HookTarget | None
    finalize_hook: HookTarget | None
    generate_selector: bool
    resync_period: float | None
    """Seconds between periodic resyncs of every parent (values under 1 s are raised to 1 s), or None."""

    @classmethod
    def from_object(cls, cc: Obj) -> ControllerSpec:
        """Parse and validate a CompositeController; raise ConfigError when it cannot be run."""
        spec = cc.get("spec") or {}
        parent = spec.get("parentResource") or {}
        if not parent.get("apiVersion") or not parent.get("resource"):
            raise ConfigError("spec.parentResource needs apiVersion and resource")
        hooks = spec.get("hooks")
        if not isinstance(hooks, dict):
            raise ConfigError("no hooks defined")
        period = spec.get("resyncPeriodSeconds")
        return cls(
            name=str(cc["metadata"]["name"]),
            parent_api_version=str(parent["apiVersion"]),
            parent_resource=str(parent["resource"]),
            parent_selector=LabelSelector.parse(parent.get("labelSelector")),
            ignore_status_changes=bool(parent.get("ignoreStatusChanges")),
            children=tuple(_child(c) for c in spec.get("childResources") or []),
            sync_hook=HookTarget.from_spec(hooks["sync"]) if hooks.get("sync") else None,
            finalize_hook=HookTarget.from_spec(hooks["finalize"]) if hooks.get("finalize") else None,
            generate_selector=bool(spec.get("generateSelector")),
            resync_period=None if period is None else max(1.0, float(period)),
        )


def _child(entry: Obj) -> ChildResourceSpec:
    if not entry.get("apiVersion") or not entry.get("resource"):
        raise ConfigError(f"childResources entry needs apiVersion and resource: {entry!r}")
    method = str(((entry.get("updateStrategy") or {}).get("method")) or "OnDelete")
    return ChildResourceSpec(str(entry["apiVersion"]), str(entry["resource"]), method)
