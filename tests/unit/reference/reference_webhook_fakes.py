"""Builders for Metacontroller hook requests and fakes for the webhook's collaborators."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from swarmconf.reference.webhook.observed import LAST_APPLIED

GROUPS = {
    "StatefulSet": "StatefulSet.apps/v1",
    "Service": "Service.v1",
    "PersistentVolumeClaim": "PersistentVolumeClaim.v1",
    "ConfigMap": "ConfigMap.v1",
    "ServiceAccount": "ServiceAccount.v1",
    "Secret": "Secret.v1",
}
WORKSPACE = "0b5c7e0e-54f4-4c59-9b1a-3e4c1f4a2d11"


class FakeVerifier:
    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.calls: list[tuple[str, str, int, str]] = []

    async def verify(self, *, service: str, namespace: str, port: int, workspace_id: str) -> tuple[bool, str]:
        self.calls.append((service, namespace, port, workspace_id))
        return self.ok, "verified" if self.ok else "challenge signature does not match"


class FakeCluster:
    def __init__(self, *, fail: Exception | None = None) -> None:
        self.orphaned: list[tuple[str, str]] = []
        self.role_bindings: list[dict[str, Any]] = []
        self.swept: list[tuple[str, str]] = []
        self.config_maps_deleted: list[tuple[str, str]] = []
        self.fail = fail  # raised by the RoleBinding calls

    def orphan(self, obj: Mapping[str, Any]) -> None:
        self.orphaned.append((obj["kind"], obj["metadata"]["name"]))

    def namespace_uid(self, name: str) -> str | None:
        return f"uid-of-{name}"

    def create_role_binding(self, binding: Mapping[str, Any]) -> bool:
        if self.fail is not None:
            raise self.fail
        self.role_bindings.append(copy.deepcopy(dict(binding)))
        return len(self.role_bindings) == 1

    def delete_role_bindings(self, namespace: str, label_selector: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.swept.append((namespace, label_selector))

    def delete_config_maps(self, namespace: str, label_selector: str) -> None:
        self.config_maps_deleted.append((namespace, label_selector))


def parent(
    *,
    spec: Any = None,
    status: dict[str, Any] | None = None,
    deleting_since: str | None = None,
    workspace: str = WORKSPACE,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"ws-{workspace}", "uid": "parent-uid"}
    if deleting_since:
        meta["deletionTimestamp"] = deleting_since
    default_spec = {"workspaceId": workspace, "userId": "alice", "runtimeNamespace": "userswarms"}
    return {
        "apiVersion": "crawbl.ai/v1alpha1",
        "kind": "UserSwarm",
        "metadata": meta,
        "spec": default_spec if spec is None else spec,
        "status": status or {},
    }


def as_observed(
    desired: list[dict[str, Any]], *, ready: int = 1, terminating: set[str] | None = None
) -> list[dict[str, Any]]:
    """What the API would hold after Metacontroller created ``desired``."""
    observed = []
    for child in desired:
        obj = copy.deepcopy(child)
        obj["metadata"]["uid"] = f"uid-{obj['metadata']['name']}-{obj['kind']}"
        obj["metadata"].setdefault("annotations", {})[LAST_APPLIED] = json.dumps(child)
        if obj["kind"] == "StatefulSet":
            obj["status"] = {"readyReplicas": ready}
        if terminating and obj["kind"] in terminating:
            obj["metadata"]["deletionTimestamp"] = "2030-01-01T00:00:00Z"
        observed.append(obj)
    return observed


def request(parent_obj: dict[str, Any], observed: list[dict[str, Any]], *, finalizing: bool = False) -> dict[str, Any]:
    children: dict[str, dict[str, Any]] = {group: {} for group in GROUPS.values()}
    for obj in observed:
        children[GROUPS[obj["kind"]]][f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"] = obj
    return {"controller": {}, "parent": parent_obj, "children": children, "related": {}, "finalizing": finalizing}


def keys(children: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(c["kind"], c["metadata"]["name"]) for c in children}
