"""Cluster providers: a new (or reused) kind cluster built offline, or an existing cluster.

:func:`acquire_cluster` is what the pytest plugin and the CLI call; it returns a :class:`ClusterHandle`
whose ``manifest`` goes into the run manifest. :func:`release_cluster` undoes exactly what acquire did:
it deletes a kind cluster it created unless asked to keep it, and never touches an existing cluster.

Image sources (``--image-source``): ``offline`` always builds the node image here; ``online`` uses the
official ``kindest/node`` image (present locally or pulled) and fails if it cannot be had; ``auto`` uses
the official image when it can be had and builds offline otherwise.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kubernetes import client
from rich.console import Console

from .. import kube as kubeclient
from . import versions
from .engine import images
from .engine.daemon import DockerEngine, ensure_docker, stop_engine
from .kind import lifecycle
from .kind.state import ClusterState, cluster_name, kind_clusters_dead, new_run_id
from .offline.build import ensure_offline_build
from .offline.cache import cache_root
from .proc import CommandError, run

ImageSource = Literal["auto", "offline", "online"]


@dataclass
class ClusterHandle:
    """A cluster the harness can use: where its kubeconfig is and what it is made of."""

    name: str
    kubeconfig: Path
    context: str | None
    provider: str
    created: bool
    keep: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    kind: lifecycle.OfflineKindCluster | None = None
    engine: DockerEngine | None = None

    def kube(self) -> kubeclient.Kube:
        """API clients for this cluster."""
        return kubeclient.connect(self.kubeconfig, self.context)


def image_identity(tag: str) -> str:
    """``tag@image-id``: a cluster is reused only if it runs the very image this build produced."""
    return f"{tag}@{images.image_id(tag)}"


def node_image_online(console: Console) -> str | None:
    """The official node image if it is present or can be pulled now, else None."""
    tag = versions.KIND_NODE_IMAGE_ONLINE
    if images.image_id(tag):
        return tag
    try:
        run(["docker", "pull", tag], what=f"pull {tag}", timeout=300)
    except CommandError:
        console.print(f"[yellow]official node image {tag} cannot be pulled here[/]")
        return None
    return tag


def resolve_node_image(source: ImageSource, console: Console) -> tuple[str, Path, Path, dict[str, Any]]:
    """(node image, kind binary, kubectl binary, build manifest) for the chosen image source."""
    if source in ("online", "auto") and (official := node_image_online(console)):
        result = ensure_offline_build(console=console)  # kind and kubectl still come from local builds
        return (
            official,
            result.kind,
            result.kubectl,
            {"source": "online", "node_image": official, "node_image_id": images.image_id(official)},
        )
    if source == "online":
        raise lifecycle.ClusterNotReady(
            f"--image-source online: the official node image {versions.KIND_NODE_IMAGE_ONLINE} is not present "
            "and cannot be pulled (no registry reachable); use --image-source auto or offline"
        )
    result = ensure_offline_build(console=console)
    return result.node_image, result.kind, result.kubectl, result.manifest()


def acquire_cluster(
    *,
    provider: str = "kind",
    run_id: str | None = None,
    image_source: ImageSource = "auto",
    reuse: bool = False,
    keep: bool = False,
    kubeconfig: Path | None = None,
    context: str | None = None,
    api_server_port: int = 0,
    console: Console | None = None,
) -> ClusterHandle:
    """Give the harness a ready cluster; see the module docstring for the choices."""
    console = console or Console(stderr=True)
    if provider == "existing":
        return _existing(kubeconfig, context)
    if provider != "kind":
        raise ValueError(f"unknown cluster provider {provider!r}; use 'kind' or 'existing'")
    engine = ensure_docker(cache_root() / "logs" / "docker.log")
    node_image, kind_bin, kubectl_bin, build = resolve_node_image(image_source, console)
    sweep(kind_bin, console=console)
    if reuse and (handle := _reusable(kind_bin, kubectl_bin, node_image, console)):
        handle.engine, handle.manifest["build"] = engine, build
        return handle
    run_id = run_id or new_run_id()
    cluster = lifecycle.OfflineKindCluster(
        cluster_name(run_id), image=node_image, kind_path=kind_bin, kubectl_path=kubectl_bin
    )
    ClusterState.mine(cluster.name, run_id, keep or reuse, image_identity(node_image)).save()
    console.print(f"creating kind cluster {cluster.name} from {node_image} …")
    try:
        lifecycle.create(cluster, run_id=run_id, api_server_port=api_server_port)
        kube = lifecycle.wait_ready(cluster)
        lifecycle.isolate_dns(kube)
    except BaseException:
        # a failure, Ctrl-C or SIGTERM: leave nothing behind (a killed run's cluster is swept next time)
        lifecycle.delete(cluster)
        raise
    handle = ClusterHandle(
        cluster.name,
        cluster.kubeconfig_path,
        None,
        "kind",
        created=True,
        keep=keep or reuse,
        kind=cluster,
        engine=engine,
    )
    handle.manifest = describe(handle, build)
    return handle


def _reusable(kind_bin: Path, kubectl_bin: Path, node_image: str, console: Console) -> ClusterHandle | None:
    """The newest kept cluster of ours built from this node image, if it is healthy."""
    states = [s for name in lifecycle.kind_clusters(kind_bin) if (s := ClusterState.load(name))]
    for state in sorted(states, key=lambda s: s.created_at, reverse=True):
        if not state.keep or state.node_image != image_identity(node_image):
            continue
        cluster = lifecycle.OfflineKindCluster(
            state.name, image=node_image, kind_path=kind_bin, kubectl_path=kubectl_bin
        )
        if lifecycle.healthy(cluster):
            console.print(f"reusing kind cluster {state.name}")
            handle = ClusterHandle(
                state.name, cluster.kubeconfig_path, None, "kind", created=False, keep=True, kind=cluster
            )
            handle.manifest = describe(handle, {})
            return handle
    return None


def _existing(kubeconfig: Path | None, context: str | None) -> ClusterHandle:
    """An existing cluster from a kubeconfig and context; checked to answer."""
    path = Path(kubeconfig).expanduser() if kubeconfig else default_kubeconfig()
    handle = ClusterHandle("existing", path, context, "existing", created=False, keep=True)
    try:
        handle.manifest = describe(handle, {"source": "existing"})
    except kubeclient.KubeError:
        raise
    except Exception as exc:
        raise kubeclient.KubeError(
            f"the cluster in {handle.kubeconfig} (context {context or 'current'}) does not answer: {exc}"
        ) from exc
    return handle


def default_kubeconfig() -> Path:
    """The kubeconfig kubectl would use: ``$KUBECONFIG`` (one file), else ``~/.kube/config``.

    A ``$KUBECONFIG`` listing several files is refused: the workers and the reports need one file, and
    guessing which one would risk testing (and injecting faults into) another cluster than meant.
    """
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if len(paths) > 1:
        raise kubeclient.KubeconfigError(
            f"KUBECONFIG lists {len(paths)} files ({os.environ['KUBECONFIG']}); pass the one to use with --kubeconfig"
        )
    return Path(paths[0] if paths else "~/.kube/config").expanduser()


def describe(handle: ClusterHandle, build: dict[str, Any]) -> dict[str, Any]:
    """The run-manifest entry for a cluster: provider, name, Kubernetes and node versions, build."""
    kube = handle.kube()
    version = client.VersionApi(kube.api_client).get_code()
    nodes: list[Any] = kube.core.list_node().items
    return {
        "provider": handle.provider,
        "name": handle.name,
        "kubernetes": version.git_version,
        "nodes": [
            {
                "name": n.metadata.name,
                "kubelet": n.status.node_info.kubelet_version,
                "runtime": n.status.node_info.container_runtime_version,
            }
            for n in nodes
        ],
        "build": build,
    }


def _node_summary(node: Any) -> dict[str, str]:
    info = node.status.node_info
    return {"name": node.metadata.name, "kubelet": info.kubelet_version, "runtime": info.container_runtime_version}


def release_cluster(handle: ClusterHandle, *, console: Console | None = None) -> None:
    """Delete a kind cluster this run created (unless kept); leave existing clusters alone."""
    console = console or Console(stderr=True)
    if handle.kind is None or not handle.created or handle.keep:
        if handle.kind is not None and handle.keep:
            console.print(f"keeping kind cluster {handle.name} (kubeconfig: {handle.kubeconfig})")
        return
    lifecycle.delete(handle.kind)
    if handle.engine is not None and handle.engine.started and not lifecycle.kind_clusters(handle.kind.kind_path):
        stop_engine(handle.engine)


def sweep(kind_bin: Path, *, everything: bool = False, console: Console | None = None) -> list[str]:
    """Delete our clusters left by dead runs (with ``everything``, all of ours); return their names."""
    console = console or Console(stderr=True)
    names = kind_clusters_dead(lifecycle.kind_clusters(kind_bin), everything=everything)
    for name in names:
        console.print(f"deleting leftover kind cluster {name}")
        run([str(kind_bin), "delete", "cluster", "--name", name], what=f"delete {name}", timeout=300)
        shutil.rmtree(lifecycle.state_dir(name), ignore_errors=True)
    return names
