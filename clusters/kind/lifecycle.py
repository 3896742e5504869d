"""Create, check, reuse and delete kind clusters through pytest-kind's ``KindCluster``.

pytest-kind downloads kind and kubectl when they are missing and keeps its files under the current
directory; :class:`OfflineKindCluster` hands it our locally built binaries and a state directory of our
own, so nothing is downloaded and nothing is written where the user happens to stand. Readiness --
which ``kind create`` does not wait for -- is waited for here: node Ready, CoreDNS available, the default
StorageClass and its provisioner. CoreDNS is then made authoritative for the cluster only: its
``forward`` to the node's resolver is removed, so no query leaves the cluster.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException
from pytest_kind import KindCluster
from urllib3.exceptions import HTTPError

from ...kube import Kube, connect
from ...waits import WaitTimeout, wait_for
from ..proc import CommandError, run
from . import config as kind_config
from .state import state_dir

# Kubernetes API errors and connection resets are expected while a control plane comes up.
TRANSIENT = (ApiException, HTTPError, OSError)
FORWARD_BLOCK = re.compile(r"^\s*forward\s+\.\s+[^\n{]*(\{[^}]*\})?\s*$\n?", re.MULTILINE)


class ClusterNotReady(RuntimeError):
    """The cluster did not become ready in time; the message carries the node's journals."""


class OfflineKindCluster(KindCluster):
    """pytest-kind's KindCluster with our binaries and a state directory outside the working tree."""

    def __init__(self, name: str, *, image: str, kind_path: Path, kubectl_path: Path):
        # Not calling super().__init__: it would create ./.pytest-kind/<name> in the current directory.
        self.name = name
        self.image = image
        self.path = state_dir(name)
        self.path.mkdir(parents=True, exist_ok=True)
        self.kubeconfig_path = self.path / "kubeconfig"
        self.kind_path = kind_path
        self.kubectl_path = kubectl_path
        self.platform = "linux"

    def ensure_kind(self) -> None:
        if not self.kind_path.exists():
            raise FileNotFoundError(f"kind binary {self.kind_path} is missing; run `swarmconf build`")

    def ensure_kubectl(self) -> None:
        if not self.kubectl_path.exists():
            raise FileNotFoundError(f"kubectl binary {self.kubectl_path} is missing; run `swarmconf build`")

    def node_container(self) -> str:
        return f"{self.name}-control-plane"

    def export_kubeconfig(self) -> None:
        """Rewrite the kubeconfig from the running cluster (reuse after the file was lost)."""
        run(
            [
                str(self.kind_path),
                "export",
                "kubeconfig",
                "--name",
                self.name,
                "--kubeconfig",
                str(self.kubeconfig_path),
            ],
            what="export kubeconfig",
            timeout=60,
        )

    def kube(self) -> Kube:
        return connect(self.kubeconfig_path)


def kind_clusters(kind_path: Path) -> list[str]:
    """Names of the kind clusters on this machine."""
    out = run([str(kind_path), "get", "clusters"], what="list kind clusters", timeout=60)
    return [line.strip() for line in out.splitlines() if line.strip() and "No kind clusters" not in line]


def node_journal_tail(node: str, lines: int = 40) -> str:
    """The tail of kubelet's and containerd's journals in a node, for an error message."""
    try:
        return run(
            ["docker", "exec", node, "journalctl", "-u", "kubelet", "-u", "containerd", "--no-pager", "-n", str(lines)],
            what="read node journals",
            timeout=30,
        )
    except CommandError as exc:
        return f"(could not read the node's journals: {exc.tail})"


def create(cluster: OfflineKindCluster, *, run_id: str, api_server_port: int = 0) -> None:
    """``kind create cluster`` with our config; on failure raise with the node's journals (caller deletes)."""
    cfg = cluster.path / "kind-config.yaml"
    cfg.write_text(kind_config.render(cluster_name=cluster.name, run_id=run_id, api_server_port=api_server_port))
    try:
        cluster.create(config_file=cfg)
    except (subprocess.CalledProcessError, OSError) as exc:
        journal = node_journal_tail(cluster.node_container())
        raise ClusterNotReady(
            f"kind create cluster {cluster.name} failed: {exc}\n--- node journal ---\n{journal}"
        ) from exc


def delete(cluster: OfflineKindCluster) -> None:
    """Delete the cluster (idempotent) and its state directory."""
    run(
        [
            str(cluster.kind_path),
            "delete",
            "cluster",
            "--name",
            cluster.name,
            "--kubeconfig",
            str(cluster.kubeconfig_path),
        ],
        what=f"delete kind cluster {cluster.name}",
        timeout=300,
    )
    for child in sorted(cluster.path.glob("*"), reverse=True):
        if child.is_file():
            child.unlink()
    if cluster.path.exists():
        cluster.path.rmdir()


def _ready(description: str, observe: Callable[[], Any], until: Callable[[Any], bool], timeout: float) -> None:
    wait_for(observe, until=until, description=description, timeout=timeout, interval=2, transient=TRANSIENT)


def wait_ready(cluster: OfflineKindCluster, timeout: float = 300) -> Kube:
    """Wait until the node is Ready, CoreDNS is available and a default StorageClass can provision."""
    try:
        kube = cluster.kube()
        _ready(
            "the node is Ready",
            lambda: kube.core.list_node().items,
            lambda nodes: bool(nodes) and all(_node_ready(n) for n in nodes),
            timeout,
        )
        _ready(
            "CoreDNS is available",
            lambda: kube.apps.read_namespaced_deployment("coredns", "kube-system"),
            _deployment_available,
            timeout,
        )
        _ready(
            "a default StorageClass exists",
            lambda: kube.dynamic.resources.get(api_version="storage.k8s.io/v1", kind="StorageClass").get().items,
            _has_default_class,
            timeout,
        )
        _ready(
            "the local-path provisioner is available",
            lambda: kube.apps.read_namespaced_deployment("local-path-provisioner", "local-path-storage"),
            _deployment_available,
            timeout,
        )
    except WaitTimeout as exc:
        raise ClusterNotReady(
            f"cluster {cluster.name} did not become ready: {exc}\n"
            f"--- node journal (kubelet, containerd) ---\n{node_journal_tail(cluster.node_container())}"
        ) from exc
    return kube


def _node_ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def _deployment_available(deployment: Any) -> bool:
    status = deployment.status
    return bool(status.available_replicas) and status.available_replicas >= (deployment.spec.replicas or 1)


def _has_default_class(classes: list[Any]) -> bool:
    key = "storageclass.kubernetes.io/is-default-class"
    return any((c.metadata.annotations or {}).get(key) == "true" for c in classes)


def coredns_without_forward(corefile: str) -> str:
    """The Corefile with its ``forward`` directive removed: CoreDNS answers the cluster domain only."""
    return FORWARD_BLOCK.sub("", corefile)


def isolate_dns(kube: Kube, timeout: float = 120) -> bool:
    """Remove CoreDNS's upstream forwarding and restart it; False when it was already isolated."""
    cm = kube.core.read_namespaced_config_map("coredns", "kube-system")
    corefile = (cm.data or {}).get("Corefile", "")
    isolated = coredns_without_forward(corefile)
    if isolated == corefile:
        return False
    kube.core.patch_namespaced_config_map("coredns", "kube-system", {"data": {"Corefile": isolated}})
    stamp = {"spec": {"template": {"metadata": {"annotations": {"swarmconf.io/corefile": str(hash(isolated))}}}}}
    kube.apps.patch_namespaced_deployment("coredns", "kube-system", stamp)
    _ready(
        "CoreDNS restarted without forwarding",
        lambda: kube.apps.read_namespaced_deployment("coredns", "kube-system"),
        lambda d: (
            _deployment_available(d)
            and (d.status.updated_replicas or 0) >= (d.spec.replicas or 1)
            and (d.status.replicas or 0) == (d.spec.replicas or 1)
        ),
        timeout,
    )
    return True


def healthy(cluster: OfflineKindCluster) -> bool:
    """Whether an existing cluster answers and its node is Ready (for reuse)."""
    try:
        if not cluster.kubeconfig_path.exists() or cluster.kubeconfig_path.stat().st_size == 0:
            cluster.export_kubeconfig()
        nodes = cluster.kube().core.list_node(_request_timeout=10).items
    except (CommandError, *TRANSIENT, Exception):
        return False
    return bool(nodes) and all(_node_ready(n) for n in nodes)
