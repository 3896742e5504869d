"""Install manifests for both modes (METACONTROLLER.md §3) — rendering only; the cluster tests install for real.

Coverage matrix:

=====================  ==========================================================================================
area                   cases
=====================  ==========================================================================================
shared objects         both modes: namespace, ServiceAccount, ClusterRole ``*``/``*``/``*`` + binding, aggregated
                       roles, the three CRDs (scopes, short names, status subresources); same object identities
online                 StatefulSet metacontroller/metacontroller, upstream image v4.17.2, /usr/bin/metacontroller,
                       ``--zap-log-level=4 --discovery-interval=20s``, probes on 8081, serviceName ""
offline                same name/namespace/labels/args/probes; ``${IMAGE}`` substituted; imagePullPolicy Never;
                       python -m command; no image → error
auto / readiness       statefulset_ready requires ready+updated replicas, current revision, observed generation
=====================  ==========================================================================================
"""

from __future__ import annotations

import pytest

from swarmconf.clusters.metacontroller.install import (
    UPSTREAM_IMAGE,
    MetacontrollerInstallError,
    manifests,
    statefulset_ready,
)


def _by_kind(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_shared_objects_and_crds() -> None:
    online, offline = manifests("online", None), manifests("offline", "swarmconf.local/apps:x")
    assert list(_by_kind(online)) == list(_by_kind(offline))
    objects = _by_kind(online)
    role = objects[("ClusterRole", "metacontroller")]
    assert role["rules"] == [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    binding = objects[("ClusterRoleBinding", "metacontroller")]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "metacontroller", "namespace": "metacontroller"}]
    crds = {n: o for (k, n), o in objects.items() if k == "CustomResourceDefinition"}
    expected = {
        "compositecontrollers.metacontroller.k8s.io": ("Cluster", ["cc", "cctl"]),
        "decoratorcontrollers.metacontroller.k8s.io": ("Cluster", ["dec", "decorators"]),
        "controllerrevisions.metacontroller.k8s.io": ("Namespaced", None),
    }
    for name, (scope, short) in expected.items():
        spec = crds[name]["spec"]
        assert spec["scope"] == scope
        assert spec["names"].get("shortNames") == short
        assert spec["versions"][0]["name"] == "v1alpha1"
        assert spec["versions"][0]["subresources"] == {"status": {}}
    cc_schema = crds["compositecontrollers.metacontroller.k8s.io"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    spec_props = cc_schema["properties"]["spec"]["properties"]
    assert {"parentResource", "childResources", "hooks", "resyncPeriodSeconds", "generateSelector"} <= set(spec_props)


def _workload(objects: list[dict]) -> dict:
    sts = _by_kind(objects)[("StatefulSet", "metacontroller")]
    assert sts["metadata"]["namespace"] == "metacontroller"
    assert sts["spec"]["serviceName"] == ""
    assert sts["spec"]["replicas"] == 1
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["--zap-log-level=4", "--discovery-interval=20s"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8081}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8081}
    assert sts["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "metacontroller"}
    return container


def test_online_workload_is_upstreams() -> None:
    container = _workload(manifests("online", None))
    assert container["image"] == UPSTREAM_IMAGE == "ghcr.io/metacontroller/metacontroller:v4.17.2"
    assert container["command"] == ["/usr/bin/metacontroller"]


def test_offline_workload_is_ours() -> None:
    container = _workload(manifests("offline", "swarmconf.local/apps:abc"))
    assert container["image"] == "swarmconf.local/apps:abc"
    assert container["imagePullPolicy"] == "Never"
    assert container["command"] == ["python", "-m", "swarmconf.clusters.metacontroller.controller"]
    with pytest.raises(MetacontrollerInstallError):
        manifests("offline", None)


@pytest.mark.parametrize(
    ("status", "ready"),
    [
        (
            {
                "observedGeneration": 2,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "a",
            },
            True,
        ),
        (
            {
                "observedGeneration": 1,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "a",
            },
            False,
        ),
        (
            {
                "observedGeneration": 2,
                "readyReplicas": 0,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "a",
            },
            False,
        ),
        (
            {
                "observedGeneration": 2,
                "readyReplicas": 1,
                "updatedReplicas": 1,
                "currentRevision": "a",
                "updateRevision": "b",
            },
            False,
        ),
    ],
)
def test_statefulset_ready(status: dict, ready: bool) -> None:
    sts = {"metadata": {"generation": 2}, "spec": {"replicas": 1}, "status": status}
    assert statefulset_ready(sts) is ready
    assert statefulset_ready(None) is False
