"""Manifests and package layout.

Coverage matrix:

| area        | cases                                                                                       |
|-------------|---------------------------------------------------------------------------------------------|
| rendering   | every ${VAR} substituted; IMAGE required; WEBHOOK_URL derived; Secret generated fresh       |
| CRD         | crawbl.ai/v1alpha1, Cluster scope, plural/shortName, status subresource, observedGeneration |
| controller  | parent userswarms (+ selector), all six child kinds, OnDelete PVC, no rolling, hook URLs    |
| workloads   | imagePullPolicy Never everywhere; no hostPort/hostNetwork/NodePort/LoadBalancer/Ingress     |
| RBAC        | no wildcard verbs/resources; orchestrator cannot list; reaper cannot create                 |
| RBAC defect | runtime-overreach Role exists unbound; the webhook may bind exactly it (resourceNames)      |
| 2nd install | other namespaces only by variables: no name clash with the first install except the CRD     |
| layering    | the four services never import each other                                                   |
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from swarmconf.reference import install
from swarmconf.reference.common.names import overreach_role

VARS = {"IMAGE": "swarmconf-app:test"}


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_render_substitutes_everything() -> None:
    objects = install.render_manifests(VARS)
    assert "${" not in repr(objects)
    with pytest.raises(ValueError, match="IMAGE"):
        install.render_manifests({})
    [cc] = by_kind(objects, "CompositeController")
    assert cc["spec"]["hooks"]["sync"]["webhook"]["url"] == "http://webhook.swarm-system.svc:8080/sync"
    assert cc["spec"]["hooks"]["finalize"]["webhook"]["url"] == "http://webhook.swarm-system.svc:8080/finalize"


def test_install_objects_generate_the_secret_after_namespaces() -> None:
    first, second = install.install_objects(VARS), install.install_objects(VARS)
    kinds = [o["kind"] for o in first]
    assert kinds[:3] == ["Namespace", "Namespace", "Secret"]
    assert first[2]["stringData"] != second[2]["stringData"]
    assert set(first[2]["stringData"]) == {"token-key", "service-token", "identity-root-key"}


def test_crd() -> None:
    [crd] = by_kind(install.render_manifests(VARS), "CustomResourceDefinition")
    spec = crd["spec"]
    assert (spec["group"], spec["scope"], spec["names"]["plural"], spec["names"]["shortNames"]) == (
        "crawbl.ai",
        "Cluster",
        "userswarms",
        ["uswarm"],
    )
    [version] = spec["versions"]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert {"phase", "conditions", "serviceName", "runtimeNamespace", "readyReplicas", "observedGeneration"} <= set(
        status
    )
    pattern = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["workspaceId"]["pattern"]
    assert pattern.endswith("$")


def test_composite_controller_strategies() -> None:
    [cc] = by_kind(install.render_manifests(VARS), "CompositeController")
    assert cc["spec"]["parentResource"]["resource"] == "userswarms"
    methods = {c["resource"]: c["updateStrategy"]["method"] for c in cc["spec"]["childResources"]}
    assert methods == {
        "statefulsets": "InPlace",
        "services": "InPlace",
        "persistentvolumeclaims": "OnDelete",
        "configmaps": "InPlace",
        "serviceaccounts": "InPlace",
        "secrets": "InPlace",
    }


def _walk(node: Any) -> list[tuple[str, Any]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((key, value))
            found.extend(_walk(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_walk(item))
    return found


def test_no_public_exposure_and_no_pulls() -> None:
    objects = install.render_manifests(VARS)
    pairs = _walk(objects)
    assert {v for k, v in pairs if k == "imagePullPolicy"} == {"Never"}
    assert not [k for k, _ in pairs if k in ("hostPort", "hostNetwork", "nodePort")]
    assert {s["spec"]["type"] for s in by_kind(objects, "Service")} == {"ClusterIP"}
    assert not by_kind(objects, "Ingress")


def test_rbac_is_narrow() -> None:
    objects = install.render_manifests(VARS)
    for role in by_kind(objects, "ClusterRole") + by_kind(objects, "Role"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] and "*" not in rule["resources"], role["metadata"]["name"]
    roles = {r["metadata"]["name"]: r for r in by_kind(objects, "ClusterRole")}
    assert roles["swarm-system-orchestrator"]["rules"][0]["verbs"] == ["get", "create", "delete"]
    assert roles["swarm-system-reaper"]["rules"][0]["verbs"] == ["list", "delete"]


READS = ["get", "list", "watch"]


@pytest.mark.parametrize("platform_ns, runtime_ns", [("swarm-system", "userswarms"), ("swarm-b", "userswarms-b")])
def test_overreach_role_exists_unbound_and_only_the_webhook_may_bind_it(platform_ns: str, runtime_ns: str) -> None:
    objects = install.render_manifests({**VARS, "PLATFORM_NAMESPACE": platform_ns, "RUNTIME_NAMESPACE": runtime_ns})
    name = overreach_role(platform_ns)
    [role] = [r for r in by_kind(objects, "Role") if r["metadata"]["name"] == name]
    assert role["metadata"]["namespace"] == runtime_ns
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets", "configmaps", "pods", "services", "persistentvolumeclaims"],
            "verbs": READS,
        },
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": READS},
    ]
    bindings = by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding")
    assert not [b for b in bindings if b["roleRef"]["name"] == name]  # the correct platform grants nothing
    binders = [
        (r, rule)
        for r in by_kind(objects, "Role") + by_kind(objects, "ClusterRole")
        for rule in r["rules"]
        if {"bind", "escalate"} & set(rule["verbs"]) or "rolebindings" in rule["resources"]
    ]
    assert [r["metadata"]["name"] for r, _ in binders] == [f"{platform_ns}-webhook-defects"] * 2
    [(defects_role, _), _] = binders
    assert defects_role["kind"] == "Role" and defects_role["metadata"]["namespace"] == runtime_ns
    rules = {tuple(rule["resources"]): rule for _, rule in binders}
    assert rules[("roles",)] == {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["roles"],
        "resourceNames": [name],
        "verbs": ["bind"],
    }
    assert rules[("rolebindings",)]["verbs"] == ["create", "deletecollection"]
    [webhook_binding] = [b for b in bindings if b["roleRef"]["name"] == f"{platform_ns}-webhook-defects"]
    assert webhook_binding["subjects"] == [{"kind": "ServiceAccount", "name": "webhook", "namespace": platform_ns}]


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def test_second_install_only_shares_the_crd() -> None:
    first = {_identity(o) for o in install.render_manifests(VARS)}
    other = install.render_manifests({**VARS, "PLATFORM_NAMESPACE": "swarm-b", "RUNTIME_NAMESPACE": "userswarms-b"})
    assert first & {_identity(o) for o in other} == {("CustomResourceDefinition", "", "userswarms.crawbl.ai")}
    [cc] = by_kind(other, "CompositeController")
    assert cc["spec"]["parentResource"]["labelSelector"] == {"matchLabels": {"crawbl.ai/platform": "swarm-b"}}
    [webhook] = [o for o in other if o["kind"] == "Deployment" and o["metadata"]["name"] == "webhook"]
    env = {e["name"]: e.get("value") for e in webhook["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["RUNTIME_NAMESPACE"] == "userswarms-b" and env["PLATFORM_NAMESPACE"] == "swarm-b"


SERVICES = ("orchestrator", "webhook", "reaper", "runtime")


@pytest.mark.parametrize("service", SERVICES)
def test_services_do_not_import_each_other(service: str) -> None:
    root = Path(install.__file__).parent / service
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for module in modules:
                for other in SERVICES:
                    if other != service:
                        assert not module.startswith(f"swarmconf.reference.{other}"), (path, module)
