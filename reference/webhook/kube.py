"""The webhook's own (small) use of the Kubernetes API: only some defects need it.

The webhook never creates or deletes children (Metacontroller does); the defects that must defeat garbage
collection orphan children (drop ownerReferences and the selector label) or add a co-owner (the runtime
Namespace's UID), ``del5-teardown-deletes-all-configmaps`` deletes ConfigMaps by too broad a selector, and
``iso7-automount-token`` binds an over-broad Role to a runtime's ServiceAccount (and the
webhook removes those bindings again once the defect is off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

__all__ = ["ClusterActions", "KubeActionError", "KubeActions"]

ORPHAN_PATCH = {"metadata": {"ownerReferences": None, "labels": {"controller-uid": None}}}


class KubeActionError(RuntimeError):
    """A webhook-side API call failed (the cause is kept)."""


class ClusterActions(Protocol):
    """What the webhook may do to the cluster itself."""

    def orphan(self, obj: Mapping[str, Any]) -> None: ...

    def namespace_uid(self, name: str) -> str | None: ...

    def create_role_binding(self, binding: Mapping[str, Any]) -> bool: ...

    def delete_role_bindings(self, namespace: str, label_selector: str) -> None: ...

    def delete_config_maps(self, namespace: str, label_selector: str) -> None: ...


class KubeActions:
    """:class:`ClusterActions` on a real API server."""

    def __init__(self, api_client: client.ApiClient) -> None:
        core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
        self._core, self._rbac = core, client.RbacAuthorizationV1Api(api_client)
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

    def create_role_binding(self, binding: Mapping[str, Any]) -> bool:
        """Create ``binding`` (a RoleBinding manifest); False if one of that name already exists."""
        meta = binding.get("metadata", {})
        try:
            # the client sends a plain dict as it is (its stubs only name the model class)
            body = cast(client.V1RoleBinding, dict(binding))
            self._rbac.create_namespaced_role_binding(meta.get("namespace"), body, _request_timeout=5)
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise KubeActionError(f"creating RoleBinding {meta.get('name')} failed: {exc.status}") from exc
        except (HTTPError, OSError) as exc:
            raise KubeActionError(f"creating RoleBinding {meta.get('name')} failed: {exc!r}") from exc
        return True

    def delete_role_bindings(self, namespace: str, label_selector: str) -> None:
        """Delete every RoleBinding in ``namespace`` that matches ``label_selector``."""
        try:
            self._rbac.delete_collection_namespaced_role_binding(
                namespace, label_selector=label_selector, _request_timeout=5
            )
        except ApiException as exc:
            raise KubeActionError(f"deleting RoleBindings {label_selector} failed: {exc.status}") from exc
        except (HTTPError, OSError) as exc:
            raise KubeActionError(f"deleting RoleBindings {label_selector} failed: {exc!r}") from exc

    def delete_config_maps(self, namespace: str, label_selector: str) -> None:
        """Delete every ConfigMap in ``namespace`` that matches ``label_selector`` (only a defect does this)."""
        try:
            self._core.delete_collection_namespaced_config_map(
                namespace, label_selector=label_selector, _request_timeout=5
            )
        except ApiException as exc:
            raise KubeActionError(f"deleting ConfigMaps {label_selector} failed: {exc.status}") from exc
        except (HTTPError, OSError) as exc:
            raise KubeActionError(f"deleting ConfigMaps {label_selector} failed: {exc!r}") from exc
