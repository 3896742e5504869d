"""Install Metacontroller into a cluster: upstream's image (online) or our compatible controller (offline).

Both modes apply the same namespace, RBAC and CRDs (``manifests/rbac.yaml``, ``manifests/crds.yaml``) and a
StatefulSet ``metacontroller/metacontroller`` with the same labels, arguments and probes; only the image and
command differ (``manifests/upstream/metacontroller.yaml`` vs ``manifests/compat-statefulset.yaml``). So every
suite and fault (e.g. "scale Metacontroller to 0") is indifferent to which one runs.

``mode="auto"`` picks online when every node already holds upstream's image (nothing can be pulled on an
offline machine), otherwise offline when an app image is given, otherwise online.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any, Literal

from kubernetes import client

from swarmconf.kube import Kube, KubeError, load_manifests
from swarmconf.waits import wait_for

MANIFESTS = Path(__file__).resolve().parent / "manifests"
NAMESPACE = "metacontroller"
WORKLOAD = "metacontroller"
UPSTREAM_IMAGE = "ghcr.io/metacontroller/metacontroller:v4.17.2"
UPSTREAM_VERSION = "v4.17.2"
COMPAT_VERSION = f"compatible (hook protocol of {UPSTREAM_VERSION})"
CRD_NAMES = (
    "compositecontrollers.metacontroller.k8s.io",
    "decoratorcontrollers.metacontroller.k8s.io",
    "controllerrevisions.metacontroller.k8s.io",
)

Mode = Literal["online", "offline", "auto"]


class MetacontrollerInstallError(RuntimeError):
    """Metacontroller could not be installed or did not become ready."""


def manifests(mode: Literal["online", "offline"], image: str | None) -> list[dict[str, Any]]:
    """The objects to apply for ``mode``, in order (namespace and RBAC, CRDs, then the StatefulSet)."""
    docs = load_manifests((MANIFESTS / "rbac.yaml").read_text()) + load_manifests((MANIFESTS / "crds.yaml").read_text())
    if mode == "online":
        return docs + load_manifests((MANIFESTS / "upstream" / "metacontroller.yaml").read_text())
    if not image:
        raise MetacontrollerInstallError("offline mode needs the app image (swarmconf.clusters.appimage)")
    template = string.Template((MANIFESTS / "compat-statefulset.yaml").read_text())
    return docs + load_manifests(template.substitute(IMAGE=image))


def choose_mode(kube: Kube, mode: Mode, image: str | None) -> Literal["online", "offline"]:
    """Resolve ``auto``: online only when every node already has upstream's image."""
    if mode != "auto":
        return mode
    nodes = client.CoreV1Api(kube.api_client).list_node().items
    have = all(any(UPSTREAM_IMAGE in (i.names or []) for i in ((n.status and n.status.images) or [])) for n in nodes)
    if have and nodes:
        return "online"
    return "offline" if image else "online"


def install_metacontroller(api_client: client.ApiClient, *, mode: Mode, image: str | None, timeout: float) -> dict:
    """Apply the manifests for ``mode``, wait until the CRDs are established and the StatefulSet is ready.

    Returns the run-manifest entry: ``{"mode", "image", "version", "namespace", "workload"}``.
    """
    kube = Kube(api_client=api_client, kubeconfig=None, context=None)
    chosen = choose_mode(kube, mode, image)
    objects = manifests(chosen, image)
    try:
        kube.apply(objects)
    except KubeError as exc:
        raise MetacontrollerInstallError(f"applying Metacontroller ({chosen}) failed: {exc}") from exc
    for name in CRD_NAMES:

        def crd(name: str = name) -> dict[str, Any] | None:
            return kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)

        wait_for(
            crd,
            until=_established,
            description=f"CRD {name} is established",
            timeout=timeout,
            transient=(KubeError,),
        )
    sts = wait_for(
        lambda: kube.get("apps/v1", "StatefulSet", WORKLOAD, NAMESPACE),
        until=statefulset_ready,
        description=f"StatefulSet {NAMESPACE}/{WORKLOAD} ({chosen}) is ready",
        timeout=timeout,
        interval=1.0,
        transient=(KubeError,),
    )
    assert sts is not None
    used = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    return {
        "mode": chosen,
        "image": used,
        "version": UPSTREAM_VERSION if chosen == "online" else COMPAT_VERSION,
        "namespace": NAMESPACE,
        "workload": f"statefulset/{WORKLOAD}",
    }


def uninstall_metacontroller(
    api_client: client.ApiClient,
    installed: dict | None = None,
    *,
    timeout: float = 120.0,
    remove_crds: bool = True,
) -> None:
    """Remove what :func:`install_metacontroller` applied (CRDs too unless ``remove_crds=False``).

    Removing the CRDs deletes every CompositeController; parents still carrying
    ``metacontroller.io/compositecontroller-*`` finalizers then stay Terminating (upstream behaves the same),
    so callers delete their platform first.
    """
    kube = Kube(api_client=api_client, kubeconfig=None, context=None)
    objects = manifests("online", None)  # same object identities in both modes
    doomed = [o for o in reversed(objects) if remove_crds or o["kind"] != "CustomResourceDefinition"]
    for obj in doomed:
        meta = obj["metadata"]
        kube.delete(obj["apiVersion"], obj["kind"], meta["name"], namespace=meta.get("namespace"))  # 404: fine
    wait_for(
        lambda: kube.get("v1", "Namespace", NAMESPACE),
        until=lambda ns: ns is None,
        description=f"namespace {NAMESPACE} is gone",
        timeout=timeout,
        interval=1.0,
        transient=(KubeError,),
    )


def statefulset_ready(sts: dict[str, Any] | None) -> bool:
    """All replicas ready and on the current revision, and the controller has seen the latest spec."""
    if sts is None:
        return False
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    want = spec.get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= sts["metadata"].get("generation", 0)
        and status.get("readyReplicas", 0) == want
        and status.get("updatedReplicas", 0) == want
        and status.get("currentRevision") == status.get("updateRevision")
    )


def _established(crd: dict[str, Any] | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
