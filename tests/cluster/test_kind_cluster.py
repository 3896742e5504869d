"""The offline-built kind cluster is a real, working Kubernetes cluster.

Coverage: node Ready at the pinned version (node and /version); every kube-system pod running; a pod
from a locally built image runs; a PVC binds through dynamic provisioning and its data survives the pod
being deleted and recreated; a ClusterIP Service answers from a pod by its DNS name, CoreDNS answers
nothing outside the cluster; the Service and pod ranges are unreachable from this machine (route lookup
on the host, connection attempts from our own network namespaces -- never a packet off the machine);
``kind load docker-image`` of a freshly built image; deleting a cluster leaves no container or volume.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swarmconf.clusters import versions
from swarmconf.clusters.engine import images
from swarmconf.clusters.kind import lifecycle
from swarmconf.clusters.offline.build import STATIC_BASE, ensure_offline_build
from swarmconf.clusters.proc import run
from swarmconf.clusters.provider import ClusterHandle, acquire_cluster, release_cluster
from swarmconf.fixtures import reachability
from swarmconf.kube import Kube
from swarmconf.waits import wait_for

NS = "swarmconf-clustertest"


@pytest.fixture(scope="module")
def namespace(kube: Kube) -> Iterator[str]:
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
    yield NS
    kube.delete("v1", "Namespace", NS)


def pod(name: str, image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": False,
        "containers": [{"name": "c", "image": image, "imagePullPolicy": "Never", "command": command}],
    }
    spec.update(extra.pop("spec", {}))
    for key, value in extra.items():
        spec["containers"][0][key] = value
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": spec,
    }


def wait_running(kube: Kube, name: str) -> Any:
    return wait_for(
        lambda: kube.core.read_namespaced_pod(name, NS),
        description=f"pod {name} is Running",
        until=lambda p: p.status.phase == "Running" and all(c.ready for c in p.status.container_statuses or [{}]),
        timeout=120,
    )


def pod_exec(kube: Kube, name: str, command: list[str]) -> str:
    return kube.exec(name, NS, command).stdout


def delete_pod(kube: Kube, name: str) -> None:
    kube.delete("v1", "Pod", name, NS)
    wait_for(
        lambda: kube.get("v1", "Pod", name, NS), until=lambda p: p is None, description=f"pod {name} gone", timeout=60
    )


def test_node_is_ready_at_the_pinned_version(kube: Kube) -> None:
    nodes = kube.core.list_node().items
    assert len(nodes) == 1
    node = nodes[0]
    assert node.status.node_info.kubelet_version == f"v{versions.KUBERNETES}"
    assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
    from kubernetes import client

    assert client.VersionApi(kube.api_client).get_code().git_version == f"v{versions.KUBERNETES}"


def test_kube_system_pods_are_running(kube: Kube) -> None:
    pods = kube.core.list_namespaced_pod("kube-system").items
    names = {p.metadata.name.rsplit("-", 2)[0] if p.metadata.owner_references else p.metadata.name for p in pods}
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        assert any(n.startswith(component) for n in names), names
    assert any(p.metadata.name.startswith("coredns") for p in pods)
    assert any(p.metadata.name.startswith("kube-proxy") for p in pods)
    not_running = [p.metadata.name for p in pods if p.status.phase != "Running" and not p.metadata.deletion_timestamp]
    assert not not_running


def test_pod_from_a_locally_built_image_runs(kube: Kube, namespace: str, app_image: str) -> None:
    kube.apply(
        [pod("local-image", app_image, ["python3", "-c", "import time; print('up', flush=True); time.sleep(600)"])]
    )
    try:
        wait_running(kube, "local-image")
        assert "up" in wait_for(
            lambda: kube.core.read_namespaced_pod_log("local-image", NS),
            until=lambda text: "up" in text,
            description="pod logs 'up'",
            timeout=30,
        )
    finally:
        delete_pod(kube, "local-image")


def test_pvc_binds_dynamically_and_data_survives_pod_restart(kube: Kube, namespace: str, app_image: str) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": NS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
    }
    volume = {
        "spec": {
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
            "securityContext": {"runAsUser": 0},
        },
        "volumeMounts": [{"name": "d", "mountPath": "/data"}],
    }
    marker = secrets.token_hex(8)
    kube.apply([claim])
    try:
        kube.apply([pod("writer", app_image, ["sh", "-c", f"echo {marker} > /data/m && sleep 600"], **volume)])
        wait_running(kube, "writer")
        pvc = wait_for(
            lambda: kube.core.read_namespaced_persistent_volume_claim("data", NS),
            until=lambda c: c.status.phase == "Bound",
            description="PVC Bound",
            timeout=60,
        )
        pv = kube.core.read_persistent_volume(pvc.spec.volume_name)
        assert pv.spec.storage_class_name == "standard"
        delete_pod(kube, "writer")
        kube.apply([pod("reader", app_image, ["sleep", "600"], **volume)])
        wait_running(kube, "reader")
        assert pod_exec(kube, "reader", ["cat", "/data/m"]).strip() == marker
        delete_pod(kube, "reader")
    finally:
        kube.delete("v1", "PersistentVolumeClaim", "data", NS)


@pytest.fixture(scope="module")
def web(kube: Kube, namespace: str, app_image: str) -> Iterator[dict[str, Any]]:
    """An HTTP server pod behind a ClusterIP Service, and a client pod to call it from."""
    server = pod("web", app_image, ["python3", "-m", "http.server", "8080", "--directory", "/app"])
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    kube.apply([server, service, pod("client", app_image, ["sleep", "3600"])])
    web_pod = wait_running(kube, "web")
    wait_running(kube, "client")
    svc = kube.core.read_namespaced_service("web", NS)
    yield {"service_ip": svc.spec.cluster_ip, "pod_ip": web_pod.status.pod_ip}
    delete_pod(kube, "client")
    delete_pod(kube, "web")
    kube.delete("v1", "Service", "web", NS)


FETCH = "import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).status)"


def test_cluster_ip_service_answers_by_dns_name_from_a_pod(kube: Kube, web: dict[str, Any]) -> None:
    assert web["service_ip"].startswith("10.96.")
    url = f"http://web.{NS}.svc.cluster.local/"
    status = wait_for(
        lambda: pod_exec(kube, "client", ["python3", "-c", FETCH, url]).strip(),
        until=lambda out: out == "200",
        description="Service answers by name",
        timeout=60,
    )
    assert status == "200"


def test_coredns_resolves_services_and_forwards_nothing(kube: Kube, web: dict[str, Any]) -> None:
    resolve = "import socket,sys\ntry: print(socket.gethostbyname(sys.argv[1]))\nexcept OSError as e: print('ERR', e)"
    assert (
        pod_exec(kube, "client", ["python3", "-c", resolve, f"web.{NS}.svc.cluster.local"]).strip() == web["service_ip"]
    )
    assert pod_exec(kube, "client", ["python3", "-c", resolve, "example.com"]).startswith("ERR")
    corefile = kube.core.read_namespaced_config_map("coredns", "kube-system").data["Corefile"]
    assert "forward" not in corefile


def test_service_and_pod_ranges_are_unreachable_from_this_machine(web: dict[str, Any]) -> None:
    report = reachability.probe_from_outside(
        secrets.token_hex(3),
        cluster_addrs=[(web["service_ip"], 80), (web["pod_ip"], 8080)],
    )
    assert not report.local_routes, report.local_routes
    assert report.attempts and not report.reached, report.attempts


@pytest.fixture
def fresh_image() -> Iterator[str]:
    """A new image (a unique tag and content) built here: static busybox and a marker file."""
    tag = f"swarmconf.local/loadtest:{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / "hello.txt").write_text(f"loaded {tag}\n")
        shutil.copy("/bin/busybox", Path(ctx) / "busybox")  # keeps the exec bit
        (Path(ctx) / "Dockerfile").write_text(
            f"FROM {STATIC_BASE}\nCOPY busybox /bin/busybox\nCOPY hello.txt /hello.txt\n"
        )
        images.build(Path(ctx), tag, "loadtest", Path(ctx) / "build.log")
    yield tag
    images.remove(tag)


def test_kind_load_docker_image_of_a_fresh_image(
    kube: Kube, kind_cluster: ClusterHandle, namespace: str, fresh_image: str
) -> None:
    kind = ensure_offline_build().kind
    run([str(kind), "load", "docker-image", "--name", kind_cluster.name, fresh_image], what="kind load", timeout=300)
    manifest = pod("loaded", fresh_image, ["/bin/busybox", "cat", "/hello.txt"], spec={"restartPolicy": "Never"})
    kube.apply([manifest])
    try:
        done = wait_for(
            lambda: kube.core.read_namespaced_pod("loaded", NS),
            description="pod from loaded image ran",
            until=lambda p: p.status.phase in ("Succeeded", "Failed"),
            timeout=120,
        )
        assert done.status.phase == "Succeeded"
        assert kube.core.read_namespaced_pod_log("loaded", NS).strip() == f"loaded {fresh_image}"
    finally:
        delete_pod(kube, "loaded")


def test_deleting_a_cluster_leaves_nothing_behind(kind_cluster: ClusterHandle) -> None:
    def docker_state() -> tuple[set[str], set[str]]:
        containers = set(run(["docker", "ps", "-aq"], what="list containers").split())
        volumes = set(run(["docker", "volume", "ls", "-q"], what="list volumes").split())
        return containers, volumes

    before = docker_state()
    handle = acquire_cluster(provider="kind", run_id=f"t{secrets.token_hex(3)}", image_source="offline")
    try:
        assert handle.created and handle.name in lifecycle.kind_clusters(handle.kind.kind_path)  # type: ignore[union-attr]
        during = docker_state()
        assert during[0] - before[0], "the new cluster has a node container"
    finally:
        release_cluster(handle)
    assert handle.name not in lifecycle.kind_clusters(handle.kind.kind_path)  # type: ignore[union-attr]
    after = docker_state()
    assert after[0] <= before[0] and after[1] <= before[1], (after, before)
    assert not Path(lifecycle.state_dir(handle.name)).exists()
    assert json.dumps(handle.manifest)  # the run manifest of the cluster is serialisable
    shutil.rmtree(Path(".pytest-kind"), ignore_errors=True)
