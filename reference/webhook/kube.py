"""The webhook's own (small) use of the Kubernetes API: only some defects need it.

The webhook never creates or deletes children (Metacontroller does); the defects that must defeat garbage
collection orphan children (drop ownerReferences and the selector label) or add a co-owner (the runtime
Namespace's UID).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException

__all__ = ["ClusterActions", "KubeActionError", "KubeActions"]

ORPHAN_PATCH = {"metadata": {"ownerReferences": None, "labels": {"controller-uid": None}}}


class KubeActionError(RuntimeError):
    """A webhook-side API call failed (the cause is kept)."""


class ClusterActions(Protocol):
    """What the webhook may do to the cluster itself."""

    def orphan(self, obj: Mapping[str, Any]) -> None: ...

    def namespace_uid(self, name: str) -> str | None: ...


class KubeActions:
    """:class:`ClusterActions` on a real API server."""

    def __init__(self, api_client: client.ApiClient) -> None:
        core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
        self._core = core
        self._patchers: dict[str, Callable[..., Any]] = {
            "StatefulSet": apps.patch_namespaced_stateful_set,
            "Service": core.patch_namespaced_service,
            "PersistentVolumeClaim": core.patch_namespaced_persistent_volume_claim,
            "ConfigMap": core.patch_namespaced_config_map,
            "ServiceAccount": core.patch_namespaced_service_account,
            "Secret": core.patch_namespaced_secret,
        }

    def orphan(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata", {})
        patch = self._patchers.get(str(obj.get("kind")))
        if patch is None:
            raise KubeActionError(f"cannot orphan kind {obj.get('kind')!r}")
        try:
            patch(meta.get("name"), meta.get("namespace"), ORPHAN_PATCH)
        except ApiException as exc:
            if exc.status != 404:
                raise KubeActionError(f"orphaning {meta.get('name')} failed: {exc.status}") from exc

    def namespace_uid(self, name: str) -> str | None:
        try:
            metadata = self._core.read_namespace(name).metadata
        except ApiException as exc:
            raise KubeActionError(f"reading namespace {name} failed: {exc.status}") from exc
        return str(metadata.uid) if metadata is not None else None
