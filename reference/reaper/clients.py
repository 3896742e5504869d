"""The reaper's two boundaries: the orchestrator (who owns what) and the Kubernetes API (UserSwarms).

Foreign errors are translated here into :class:`OwnerCheckError` and :class:`ReapError`.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

import httpx
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from swarmconf.reference.common import labels as L
from swarmconf.reference.reaper.sweep import Owner, OwnerCheckError, ReapError

__all__ = ["KubeCatalog", "OrchestratorDirectory"]


class OrchestratorDirectory:
    """Asks ``GET /internal/workspaces/{id}``: 200 ``{"exists": true}`` or 404 ``{"exists": false}``.

    Anything else — another status, a 404 without that exact body (say, from a wrong URL), a timeout — is an
    :class:`OwnerCheckError`: the reaper never treats doubt as absence.
    """

    def __init__(self, http: httpx.Client, *, base_url: str, service_token: str) -> None:
        self._http, self._base = http, base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {service_token}"}

    def lookup(self, workspace_id: str) -> Owner:
        url = f"{self._base}/internal/workspaces/{quote(workspace_id, safe='')}"
        try:
            response = self._http.get(url, headers=self._headers)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OwnerCheckError(f"owner check failed: {type(exc).__name__}") from exc
        exists = body.get("exists") if isinstance(body, dict) else None
        if response.status_code == 200 and exists is True:
            return Owner.EXISTS
        if response.status_code == 404 and exists is False:
            return Owner.GONE
        raise OwnerCheckError(f"owner check answered HTTP {response.status_code}")


class KubeCatalog:
    """The UserSwarms of one install (label ``crawbl.ai/platform=<platform namespace>``)."""

    def __init__(self, api_client: client.ApiClient, *, platform_namespace: str) -> None:
        self._api = client.CustomObjectsApi(api_client)
        self._selector = f"{L.PLATFORM}={platform_namespace}"

    def list(self) -> list[dict[str, Any]]:
        result = cast(
            dict[str, Any],
            self._api.list_cluster_custom_object(
                L.GROUP, L.VERSION, L.PLURAL, label_selector=self._selector, _request_timeout=30
            ),
        )
        return cast(list[dict[str, Any]], result.get("items", []))

    def delete(self, name: str, uid: str) -> bool:
        options = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid), propagation_policy="Background")
        try:
            self._api.delete_cluster_custom_object(
                L.GROUP, L.VERSION, L.PLURAL, name, body=options, _request_timeout=30
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise ReapError(f"delete failed: HTTP {exc.status}") from exc
        return True
