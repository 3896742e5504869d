"""The one Kubernetes client wrapper the harness uses (in-cluster components have their own).

:func:`connect` builds API clients from a kubeconfig file and optional context; :class:`Kube` holds them
and offers the few generic operations everything else builds on: apply manifests (server-side apply),
delete, get, list. Errors from the kubernetes client are translated once into :class:`KubeError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

FIELD_MANAGER = "swarm-conformance"


class KubeError(RuntimeError):
    """A Kubernetes API call failed; ``status`` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class KubeconfigError(KubeError):
    """The kubeconfig is missing, unreadable or has no such context."""


@dataclass
class Kube:
    """API clients for one cluster."""

    api_client: client.ApiClient
    kubeconfig: Path | None
    context: str | None

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api_client)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api_client)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client)

    @property
    def dynamic(self) -> dynamic.DynamicClient:
        return dynamic.DynamicClient(self.api_client)

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic resource for ``apiVersion``/``kind``; raises KubeError if the API lacks it."""
        try:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError as exc:
            raise KubeError(f"the cluster does not serve {kind} in {api_version}") from exc

    def apply(self, manifests: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Server-side apply each manifest (in order); return the applied objects."""
        applied = []
        for obj in manifests:
            res = self.resource(obj["apiVersion"], obj["kind"])
            meta = obj["metadata"]
            try:
                out = res.server_side_apply(
                    body=obj,
                    name=meta["name"],
                    namespace=meta.get("namespace"),
                    field_manager=FIELD_MANAGER,
                    force_conflicts=True,
                )
            except ApiException as exc:
                raise KubeError(f"apply {obj['kind']}/{meta['name']}: {exc.reason}: {exc.body}", exc.status) from exc
            applied.append(out.to_dict())
        return applied

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object (background propagation). Returns False if it did not exist."""
        res = self.resource(api_version, kind)
        try:
            res.delete(name=name, namespace=namespace, body={"propagationPolicy": "Background"})
        except (NotFoundError, ApiException) as exc:
            if getattr(exc, "status", None) == 404:
                return False
            raise KubeError(f"delete {kind}/{name}: {exc}", getattr(exc, "status", 0)) from exc
        return True

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """Get one object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        try:
            return res.get(name=name, namespace=namespace).to_dict()
        except (NotFoundError, ApiException) as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise KubeError(f"get {kind}/{name}: {exc}", getattr(exc, "status", 0)) from exc

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """List objects as dicts."""
        res = self.resource(api_version, kind)
        try:
            out = res.get(namespace=namespace, label_selector=label_selector)
        except ApiException as exc:
            raise KubeError(f"list {kind}: {exc.reason}", exc.status) from exc
        return [item.to_dict() for item in out.items]


def connect(kubeconfig: Path | str | None = None, context: str | None = None) -> Kube:
    """Build clients from a kubeconfig (default: ``$KUBECONFIG`` or ``~/.kube/config``) and context."""
    path = Path(kubeconfig).expanduser() if kubeconfig else None
    if path is not None and not path.is_file():
        raise KubeconfigError(f"kubeconfig {path} does not exist; pass --kubeconfig with a readable file")
    try:
        api_client = config.new_client_from_config(config_file=str(path) if path else None, context=context)
    except (config.ConfigException, OSError, yaml.YAMLError, TypeError, KeyError) as exc:
        where = path or "the default kubeconfig"
        raise KubeconfigError(f"cannot load {where} (context {context or 'current'}): {exc}") from exc
    return Kube(api_client=api_client, kubeconfig=path, context=context)


def load_manifests(text: str) -> list[dict[str, Any]]:
    """Parse a multi-document YAML string, dropping empty documents."""
    return [doc for doc in yaml.safe_load_all(text) if doc]
