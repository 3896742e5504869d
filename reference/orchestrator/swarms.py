"""The orchestrator's Kubernetes boundary: create, read and delete cluster-scoped UserSwarms.

Kubernetes client errors are translated once, here, into :class:`SwarmApiError`.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.names import label_value
from swarmconf.reference.common.settings import RUNTIME_PORT

__all__ = ["KubeSwarms", "SwarmApi", "SwarmApiError", "userswarm_manifest"]


class SwarmApiError(RuntimeError):
    """The Kubernetes API did not do what was asked (the original error is the cause)."""


class SwarmApi(Protocol):
    """What the orchestrator needs from Kubernetes (blocking calls)."""

    def create(self, body: dict[str, Any]) -> None: ...

    def get(self, name: str) -> dict[str, Any] | None: ...

    def delete(self, name: str) -> None: ...


def userswarm_manifest(
    *, name: str, workspace_id: str, user_id: str, runtime_namespace: str, runtime_mode: str, platform_namespace: str
) -> dict[str, Any]:
    """The UserSwarm the orchestrator creates for a workspace."""
    return {
        "apiVersion": f"{L.GROUP}/{L.VERSION}",
        "kind": L.KIND,
        "metadata": {
            "name": name,
            "labels": {
                L.PLATFORM: platform_namespace,
                L.CREATED_BY: L.CREATED_BY_ORCHESTRATOR,
                L.USER: label_value(user_id),
                L.WORKSPACE: label_value(workspace_id),
            },
            "annotations": {L.USER_ANNOTATION: user_id},
        },
        "spec": {
            "workspaceId": workspace_id,
            "userId": user_id,
            "runtimeNamespace": runtime_namespace,
            "runtime": {"port": RUNTIME_PORT, "mode": runtime_mode},
            "storage": {"size": "1Gi"},
            "suspend": False,
        },
    }


class KubeSwarms:
    """:class:`SwarmApi` on a real API server."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = client.CustomObjectsApi(api_client)

    def create(self, body: dict[str, Any]) -> None:
        try:
            self._api.create_cluster_custom_object(L.GROUP, L.VERSION, L.PLURAL, body, _request_timeout=10)
        except ApiException as exc:
            raise SwarmApiError(f"creating UserSwarm failed: HTTP {exc.status}") from exc

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            obj = self._api.get_cluster_custom_object(L.GROUP, L.VERSION, L.PLURAL, name, _request_timeout=5)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise SwarmApiError(f"reading UserSwarm failed: HTTP {exc.status}") from exc
        return cast(dict[str, Any], obj)

    def delete(self, name: str) -> None:
        try:
            self._api.delete_cluster_custom_object(L.GROUP, L.VERSION, L.PLURAL, name, _request_timeout=10)
        except ApiException as exc:
            if exc.status != 404:
                raise SwarmApiError(f"deleting UserSwarm failed: HTTP {exc.status}") from exc
