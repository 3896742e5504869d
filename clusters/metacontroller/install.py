"""Install upstream Metacontroller into a cluster from upstream's own deploy files, and say which one runs.

The objects are upstream's ``manifests/production/`` at the pinned tag (namespace, RBAC, CRDs, the StatefulSet
``metacontroller/metacontroller``), read from the verified source archive (:mod:`..offline.sources`), with the one
transformation its ``kustomization.yaml`` makes (``commonLabels``) applied here. The image is always upstream's
name, ``ghcr.io/metacontroller/metacontroller:v4.17.2``: where a registry answers it is pulled; offline, the build
made it from the same source and preloaded it into the node image (or :func:`load_into_kind` loads it into a kind
cluster that lacks it). Online and offline differ only in where the image came from.

:func:`describe_metacontroller` names the controller that actually runs (image, image ID, version), also when
a run found it already installed, for the run manifest and the reports.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from swarmconf.kube import Kube, KubeError, load_manifests
from swarmconf.waits import WaitTimeout, wait_for

from .. import versions
from ..offline import sources

NAMESPACE = "metacontroller"
WORKLOAD = "metacontroller"
UPSTREAM_IMAGE = versions.METACONTROLLER_IMAGE
UPSTREAM_VERSION = versions.METACONTROLLER
PRODUCTION = "manifests/production"
CRD_NAMES = (
    "compositecontrollers.metacontroller.k8s.io",
    "decoratorcontrollers.metacontroller.k8s.io",
    "controllerrevisions.metacontroller.k8s.io",
)
CLIENT_ARGS = ("--client-go-qps=50", "--client-go-burst=100")
"""Flags upstream's binary takes (``pkg/cmd/metacontroller/main.go``) that the harness adds to upstream's args.
Upstream's defaults (5 requests per second, bursts of 10, for every controller it runs together) make a
controller serving several installs and a suite's parallel workers queue its writes: each workspace is about ten
writes, its deletion as many again. Only how fast Metacontroller may talk to the API server changes, not what it
does; the run manifest records the args."""
PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"})


class MetacontrollerInstallError(RuntimeError):
    """Metacontroller could not be installed or did not become ready."""


def manifests(archive: Path | None = None) -> list[dict[str, Any]]:
    """Upstream's production objects, in its kustomization's order, with its ``commonLabels`` applied."""
    archive = archive or sources.metacontroller_source()
    kustomization = yaml.safe_load(sources.read_member(archive, f"{PRODUCTION}/kustomization.yaml"))
    labels: dict[str, str] = kustomization.get("commonLabels") or {}
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        for obj in load_manifests(sources.read_member(archive, f"{PRODUCTION}/{resource}")):
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
            objects.append(obj)
    workloads = [o for o in objects if o["kind"] == "StatefulSet"]
    if [(w["metadata"]["namespace"], w["metadata"]["name"]) for w in workloads] != [(NAMESPACE, WORKLOAD)]:
        raise MetacontrollerInstallError(f"{archive}: expected one StatefulSet {NAMESPACE}/{WORKLOAD} upstream")
    image = workloads[0]["spec"]["template"]["spec"]["containers"][0]["image"]
    if image != UPSTREAM_IMAGE:
        raise MetacontrollerInstallError(f"{archive}: upstream's StatefulSet runs {image}, not {UPSTREAM_IMAGE}")
    return objects


def tuned(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upstream's objects with :data:`CLIENT_ARGS` added to its container's args (a flag upstream already sets
    is replaced)."""
    names = {arg.split("=", 1)[0] for arg in CLIENT_ARGS}
    out = copy.deepcopy(objects)
    for obj in out:
        if obj["kind"] == "StatefulSet":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            kept = [a for a in container.get("args") or [] if a.split("=", 1)[0] not in names]
            container["args"] = [*kept, *CLIENT_ARGS]
    return out


def nodes_have_image(kube: Kube, image: str = UPSTREAM_IMAGE) -> bool:
    """Whether every node already holds ``image`` (then nothing needs pulling or loading)."""
    nodes = client.CoreV1Api(kube.api_client).list_node().items
    return bool(nodes) and all(
        any(image in (i.names or []) for i in ((n.status and n.status.images) or [])) for n in nodes
    )


def load_into_kind(cluster_name: str) -> None:
    """Load the offline-built upstream image into a kind cluster on this machine (building it if needed)."""
    from ..appimage import load_image
    from ..offline.build import ensure_offline_build

    ensure_offline_build()
    load_image(cluster_name, UPSTREAM_IMAGE)


def install_metacontroller(api_client: client.ApiClient, *, timeout: float) -> dict[str, Any]:
    """Apply upstream's objects, wait until its CRDs are established and its StatefulSet is ready.

    Returns :func:`describe_metacontroller` of what runs. A pod that cannot get its image fails at once with
    what to do, instead of waiting out ``timeout``.
    """
    kube = Kube(api_client=api_client, kubeconfig=None, context=None)
    objects = tuned(manifests())
    try:
        kube.apply(objects)
    except KubeError as exc:
        raise MetacontrollerInstallError(f"applying upstream Metacontroller failed: {exc}") from exc
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

    def ready_or_stuck() -> dict[str, Any] | None:
        _raise_if_image_unavailable(kube)
        return kube.get("apps/v1", "StatefulSet", WORKLOAD, NAMESPACE)

    try:
        wait_for(
            ready_or_stuck,
            until=statefulset_ready,
            description=f"StatefulSet {NAMESPACE}/{WORKLOAD} (upstream {UPSTREAM_VERSION}) is ready",
            timeout=timeout,
            interval=1.0,
            transient=(KubeError,),
        )
    except WaitTimeout as exc:
        raise MetacontrollerInstallError(str(exc)) from exc
    return describe_metacontroller(kube, installed_by_this_run=True)


def runs_another_image(kube: Kube) -> bool:
    """Whether ``metacontroller/metacontroller`` exists but runs another image than the pinned upstream one, or
    without :data:`CLIENT_ARGS` (e.g. a kept cluster from an older harness): then the run must bring it to the
    pin, not judge on it."""
    found = kube.get("apps/v1", "StatefulSet", WORKLOAD, NAMESPACE)
    if found is None:
        return False
    container = found["spec"]["template"]["spec"]["containers"][0]
    return container["image"] != UPSTREAM_IMAGE or not set(CLIENT_ARGS) <= set(container.get("args") or [])


def describe_metacontroller(
    kube: Kube, *, namespace: str = NAMESPACE, name: str = WORKLOAD, kind: str = "StatefulSet", **extra: Any
) -> dict[str, Any]:
    """Which Metacontroller runs: the workload's image, the running pod's image ID, the version its tag names."""
    workload = kube.get("apps/v1", kind, name, namespace)
    if workload is None:
        return {"workload": f"{kind.lower()}/{name}", "namespace": namespace, "present": False, **extra}
    template = workload["spec"]["template"]
    image = template["spec"]["containers"][0]["image"]
    args = list(template["spec"]["containers"][0].get("args") or [])
    selector = ",".join(f"{k}={v}" for k, v in (workload["spec"]["selector"].get("matchLabels") or {}).items())
    image_ids = sorted(
        {
            status.image_id
            for pod in kube.core.list_namespaced_pod(namespace, label_selector=selector).items
            for status in ((pod.status and pod.status.container_statuses) or [])
            if status.image_id
        }
    )
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else None
    return {
        "implementation": "upstream" if image.split(":")[0] == UPSTREAM_IMAGE.split(":")[0] else "other",
        "version": tag,
        "image": image,
        "args": args,
        "image_ids": image_ids,
        "image_digests": sorted({i.rsplit("@", 1)[-1] for i in image_ids}),
        "namespace": namespace,
        "workload": f"{kind.lower()}/{name}",
        "present": True,
        **extra,
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
    doomed = [o for o in reversed(manifests()) if remove_crds or o["kind"] != "CustomResourceDefinition"]
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


def _raise_if_image_unavailable(kube: Kube) -> None:
    for pod in kube.core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=metacontroller").items:
        name = pod.metadata.name if pod.metadata else "?"
        for status in (pod.status and pod.status.container_statuses) or []:
            waiting = status.state and status.state.waiting
            if waiting and waiting.reason in PULL_FAILURES:
                raise MetacontrollerInstallError(
                    f"pod {NAMESPACE}/{name} cannot get {status.image} ({waiting.reason}: "
                    f"{waiting.message}). No registry answers here: run `swarmconf build` (it builds the image from "
                    f"upstream's source and preloads it into the node image) and use a cluster from that node "
                    f"image, or load it: `kind load docker-image {UPSTREAM_IMAGE} --name CLUSTER`"
                )


def _established(crd: dict[str, Any] | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
