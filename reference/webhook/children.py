"""The desired children of one UserSwarm, all in its runtime namespace.

StatefulSet (1 replica, runtime on port 42617, history on the PVC), a ClusterIP Service, a headless Service, the
PVC (a separate child, never a volumeClaimTemplate), a ConfigMap, a ServiceAccount and the identity Secret. Every
child is labelled with its swarm, user and workspace; no pod gets a service-account token. The runtime pod also
carries the label that the runtime namespace's NetworkPolicy (an install manifest) selects: only the platform's
namespace may connect to it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.identity import derive_workspace_key
from swarmconf.reference.common.names import ChildNames, child_names
from swarmconf.reference.webhook.observed import Child
from swarmconf.reference.webhook.spec import SwarmSpec

__all__ = ["Shape", "desired_children"]

DATA_MOUNT = "/data"


@dataclass(frozen=True)
class Shape:
    """How the children are shaped: the settings they depend on and the defect knobs (all off by default)."""

    runtime_image: str
    identity_root_key: bytes
    model_provider_url: str = ""
    """Where runtimes ask the model (empty: they echo)."""
    image_pull_policy: str = "Never"
    with_user_label: bool = True
    service_type: str = "ClusterIP"
    external_ips: tuple[str, ...] = ()
    automount_token: bool = False
    ingress_platform_only: bool = True
    """Runtime pods carry the label the runtime namespace's NetworkPolicy selects (ingress from the platform only)."""
    history_on_pvc: bool = True
    sidecar_host_port: bool = False
    extra_owner_references: tuple[dict[str, object], ...] = field(default=())
    hashed_names: bool = False
    """Children named by a hash of the workspace ID (see :mod:`swarmconf.reference.common.names`)."""
    runtime_debug_endpoints: bool = True
    """Runtimes serve their request log at /debug/requests."""
    runtime_reply_signatures: bool = True
    """Runtimes sign their replies."""


def _meta(name: str, namespace: str, labels: dict[str, str]) -> dict[str, object]:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _service_account(n: ChildNames, ns: str, labels: dict[str, str], shape: Shape) -> Child:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(n.serviceaccount, ns, labels),
        "automountServiceAccountToken": shape.automount_token,
    }


def _secret(n: ChildNames, ns: str, labels: dict[str, str], spec: SwarmSpec, shape: Shape) -> Child:
    key = derive_workspace_key(shape.identity_root_key, spec.workspace_id).hex()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(n.secret, ns, labels),
        "type": "Opaque",
        "data": {"identity-key": _b64(key.encode())},
    }


def _configmap(n: ChildNames, ns: str, labels: dict[str, str], spec: SwarmSpec, swarm: str) -> Child:
    data = {
        "workspace-id": spec.workspace_id,
        "swarm-name": swarm,
        "runtime-mode": spec.runtime.mode,
        "user-id": spec.user_id,
    }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(n.configmap, ns, labels), "data": data}


def _pvc(n: ChildNames, ns: str, labels: dict[str, str], spec: SwarmSpec) -> Child:
    pvc_spec: dict[str, object] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": spec.storage.size}},
    }
    if spec.storage.storage_class_name:
        pvc_spec["storageClassName"] = spec.storage.storage_class_name
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(n.pvc, ns, labels), "spec": pvc_spec}


def _ports(spec: SwarmSpec) -> list[dict[str, object]]:
    return [{"name": "http", "port": spec.runtime.port, "targetPort": "http", "protocol": "TCP"}]


def _service(n: ChildNames, ns: str, labels: dict[str, str], spec: SwarmSpec, swarm: str, shape: Shape) -> Child:
    svc_spec: dict[str, object] = {
        "type": shape.service_type,
        "selector": L.selector_labels(swarm),
        "ports": _ports(spec),
    }
    if shape.external_ips:
        svc_spec["externalIPs"] = list(shape.external_ips)
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(n.service, ns, labels), "spec": svc_spec}


def _headless(n: ChildNames, ns: str, labels: dict[str, str], spec: SwarmSpec, swarm: str) -> Child:
    svc_spec = {"clusterIP": "None", "selector": L.selector_labels(swarm), "ports": _ports(spec)}
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(n.headless_service, ns, labels), "spec": svc_spec}


def _env(n: ChildNames, shape: Shape) -> list[dict[str, object]]:
    def from_cm(key: str) -> dict[str, object]:
        return {"configMapKeyRef": {"name": n.configmap, "key": key}}

    # Only when set: a runtime StatefulSet of an install without a model provider stays as it always was.
    model: list[dict[str, object]] = (
        [{"name": "MODEL_PROVIDER_URL", "value": shape.model_provider_url}] if shape.model_provider_url else []
    )
    return [
        *model,
        {"name": "WORKSPACE_ID", "valueFrom": from_cm("workspace-id")},
        {"name": "SWARM_NAME", "valueFrom": from_cm("swarm-name")},
        {"name": "RUNTIME_MODE", "valueFrom": from_cm("runtime-mode")},
        {"name": "IDENTITY_KEY", "valueFrom": {"secretKeyRef": {"name": n.secret, "key": "identity-key"}}},
        {"name": "DATA_DIR", "value": DATA_MOUNT},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
    ]


def _switches(shape: Shape) -> list[dict[str, object]]:
    """The runtime's switches, set only when off (so a default install's pods are exactly as before)."""
    off = {"DEBUG_ENDPOINTS": shape.runtime_debug_endpoints, "SIGN_REPLIES": shape.runtime_reply_signatures}
    return [{"name": name, "value": "false"} for name, on in off.items() if not on]


def _container(n: ChildNames, spec: SwarmSpec, shape: Shape) -> dict[str, object]:
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5, "timeoutSeconds": 2}
    # Readiness every second: the first probe comes as the process starts and fails; at 5 s, every new runtime
    # then waited up to 5 s more to be ready (and verified). Liveness keeps 5 s: it only restarts a stuck one.
    return {
        "name": "runtime",
        "image": spec.runtime.image or shape.runtime_image,
        "imagePullPolicy": shape.image_pull_policy,
        "command": ["python3", "-m", "swarmconf.reference.runtime"],
        "env": [*_env(n, shape), *_switches(shape), {"name": "PORT", "value": str(spec.runtime.port)}],
        "ports": [{"name": "http", "containerPort": spec.runtime.port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 1},
        "livenessProbe": {**probe, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "runAsUser": 65534,
            "runAsGroup": 65534,
        },
        "volumeMounts": [{"name": "data", "mountPath": DATA_MOUNT}],
    }


#: The host ports the ``iso1-sidecar-host-port`` defect spreads its sidecars over (one per workspace, so that
#: two runtimes on one node do not collide on a port and stay schedulable).
SIDECAR_HOST_PORTS = range(31000, 32000)


def _host_port_sidecar(spec: SwarmSpec, shape: Shape) -> dict[str, object]:
    """A native sidecar (an init container that keeps running) mapping a host port to the runtime's port."""
    digest = int(hashlib.sha256(spec.workspace_id.encode()).hexdigest(), 16)
    host_port = SIDECAR_HOST_PORTS[digest % len(SIDECAR_HOST_PORTS)]
    return {
        "name": "edge",
        "image": shape.runtime_image,
        "imagePullPolicy": shape.image_pull_policy,
        "restartPolicy": "Always",
        "command": ["python3", "-c", "import time; time.sleep(10**9)"],
        "ports": [{"name": "edge", "containerPort": spec.runtime.port, "hostPort": host_port}],
    }


def _pod_labels(labels: dict[str, str], shape: Shape) -> dict[str, str]:
    """The runtime pod's labels: the children's, and the one the ingress NetworkPolicy selects."""
    return {**labels, L.INGRESS: L.INGRESS_PLATFORM_ONLY} if shape.ingress_platform_only else dict(labels)


#: The runtime's resolver retries each DNS query after 1 s (glibc's default is 5 s, twice), up to four times. A
#: NetworkPolicy enforcer that sends a policed pod's packets through a queue (kube-network-policies, in the
#: harness's kind cluster) loses a few of them whenever it rewrites its rules on a pod change; a lost UDP query
#: then costs one second instead of five, well inside the model call's timeout. TCP recovers by itself.
DNS_OPTIONS = [{"name": "timeout", "value": "1"}, {"name": "attempts", "value": "4"}]


def _statefulset(n: ChildNames, ns: str, labels: dict[str, str], spec: SwarmSpec, swarm: str, shape: Shape) -> Child:
    volume: dict[str, object] = (
        {"name": "data", "persistentVolumeClaim": {"claimName": n.pvc}}
        if shape.history_on_pvc
        else {"name": "data", "emptyDir": {}}
    )
    pod_spec = {
        "serviceAccountName": n.serviceaccount,
        "automountServiceAccountToken": shape.automount_token,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 5,
        "securityContext": {"fsGroup": 65534},
        "dnsConfig": {"options": DNS_OPTIONS},
        "containers": [_container(n, spec, shape)],
        "volumes": [volume],
    }
    if shape.sidecar_host_port:
        pod_spec["initContainers"] = [_host_port_sidecar(spec, shape)]
    sts_spec = {
        "replicas": 0 if spec.suspend else 1,
        "serviceName": n.headless_service,
        "selector": {"matchLabels": L.selector_labels(swarm)},
        "template": {"metadata": {"labels": _pod_labels(labels, shape)}, "spec": pod_spec},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(n.statefulset, ns, labels),
        "spec": sts_spec,
    }


def desired_children(*, swarm: str, spec: SwarmSpec, shape: Shape) -> list[Child]:
    """Every child of ``swarm``, in creation order (the order teardown reverses)."""
    n, ns = child_names(spec.workspace_id, hashed=shape.hashed_names), spec.runtime_namespace
    labels = L.child_labels(
        swarm=swarm, user_id=spec.user_id, workspace_id=spec.workspace_id, with_user=shape.with_user_label
    )
    children = [
        _service_account(n, ns, labels, shape),
        _secret(n, ns, labels, spec, shape),
        _configmap(n, ns, labels, spec, swarm),
        _pvc(n, ns, labels, spec),
        _service(n, ns, labels, spec, swarm, shape),
        _headless(n, ns, labels, spec, swarm),
        _statefulset(n, ns, labels, spec, swarm, shape),
    ]
    for child in children:
        child["metadata"]["annotations"] = {L.USER_ANNOTATION: spec.user_id}
    return children
