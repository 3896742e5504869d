"""The sync hook's desired state and status, with a fake verifier (no cluster).

Coverage matrix:

| area        | cases                                                                                         |
|-------------|-----------------------------------------------------------------------------------------------|
| children    | exactly 7: StatefulSet(1 replica, port 42617, PVC mounted), ClusterIP + headless Service,     |
|             | PVC (separate child), ConfigMap, ServiceAccount, Secret; all in the runtime namespace          |
| names       | deterministic from the workspace, same on every sync, published in status.serviceName       |
| labels      | swarm, user, workspace on every child and the pod; selector = swarm label only                |
| security    | automountServiceAccountToken false on SA and pod; no credential in the ConfigMap             |
| status      | Pending → Verifying (challenge fails) → Running (challenge ok); conditions Ready/Verified;    |
|             | lastTransitionTime stable when nothing changes; resyncAfterSeconds short until verified       |
| bad spec    | missing/invalid fields, foreign namespace, not an object: phase Invalid, children == observed |
|             | (never an empty list that would delete the PVC), previous serviceName kept                    |
| suspend     | 0 replicas, not verified                                                                      |
"""

from __future__ import annotations

import base64
from typing import Any

import anyio
import pytest
from reference_webhook_fakes import WORKSPACE, FakeCluster, FakeVerifier, as_observed, keys, parent, request

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.defects import StaticSwitches
from swarmconf.reference.common.identity import derive_workspace_key
from swarmconf.reference.common.settings import WebhookSettings
from swarmconf.reference.webhook.hooks import Hooks

SWARM = f"ws-{WORKSPACE}"
BASE = f"swarm-{WORKSPACE}"


def make_hooks(settings: WebhookSettings, verifier: FakeVerifier | None = None) -> Hooks:
    return Hooks(
        settings=settings, switches=StaticSwitches(), verifier=verifier or FakeVerifier(), cluster=FakeCluster()
    )


def sync(hooks: Hooks, req: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(hooks.sync, req)


def by_kind(children: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    [child] = [c for c in children if c["kind"] == kind and (name is None or c["metadata"]["name"] == name)]
    return child


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    [c] = [c for c in status["conditions"] if c["type"] == kind]
    return c


def test_first_sync_desires_every_child_with_deterministic_names(webhook_settings: WebhookSettings) -> None:
    response = sync(make_hooks(webhook_settings), request(parent(), []))
    children = response["children"]
    assert keys(children) == {
        ("ServiceAccount", BASE),
        ("Secret", f"{BASE}-identity"),
        ("ConfigMap", f"{BASE}-config"),
        ("PersistentVolumeClaim", f"{BASE}-data"),
        ("Service", BASE),
        ("Service", f"{BASE}-hl"),
        ("StatefulSet", BASE),
    }
    assert {c["metadata"]["namespace"] for c in children} == {"userswarms"}
    again = sync(make_hooks(webhook_settings), request(parent(), []))
    assert again["children"] == children
    assert response["status"]["serviceName"] == BASE
    assert response["status"]["runtimeNamespace"] == "userswarms"
    assert response["status"]["phase"] == "Pending"


def test_every_child_and_the_pod_carry_swarm_user_and_workspace_labels(webhook_settings: WebhookSettings) -> None:
    children = sync(make_hooks(webhook_settings), request(parent(), []))["children"]
    expected = {L.SWARM: SWARM, L.USER: "alice", L.WORKSPACE: WORKSPACE}
    for child in children:
        assert expected.items() <= child["metadata"]["labels"].items(), child["kind"]
    sts = by_kind(children, "StatefulSet")
    assert expected.items() <= sts["spec"]["template"]["metadata"]["labels"].items()
    assert sts["spec"]["selector"] == {"matchLabels": {L.SWARM: SWARM}}


def test_statefulset_service_and_pvc_shape(webhook_settings: WebhookSettings) -> None:
    children = sync(make_hooks(webhook_settings), request(parent(), []))["children"]
    sts = by_kind(children, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["serviceName"] == f"{BASE}-hl"
    assert "volumeClaimTemplates" not in sts["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == BASE
    assert pod["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": f"{BASE}-data"}}]
    [container] = pod["containers"]
    assert container["ports"][0]["containerPort"] == 42617
    assert container["imagePullPolicy"] == "Never"
    assert "hostPort" not in container["ports"][0] and "hostNetwork" not in pod
    # a lost DNS query is retried after 1 s, not glibc's 5 s: the runtime's model call (8 s) survives a few
    assert {o["name"]: o["value"] for o in pod["dnsConfig"]["options"]} == {"timeout": "1", "attempts": "4"}
    assert by_kind(children, "ServiceAccount")["automountServiceAccountToken"] is False
    service = by_kind(children, "Service", BASE)
    assert service["spec"]["type"] == "ClusterIP" and "externalIPs" not in service["spec"]
    assert by_kind(children, "Service", f"{BASE}-hl")["spec"]["clusterIP"] == "None"
    assert by_kind(children, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_identity_key_lives_in_the_secret_not_the_configmap(webhook_settings: WebhookSettings) -> None:
    children = sync(make_hooks(webhook_settings), request(parent(), []))["children"]
    secret = by_kind(children, "Secret")
    key = base64.b64decode(secret["data"]["identity-key"]).decode()
    assert key == derive_workspace_key(b"unit-test-identity-root", WORKSPACE).hex()
    assert key not in str(by_kind(children, "ConfigMap")["data"])


def test_status_progresses_pending_verifying_running(webhook_settings: WebhookSettings) -> None:
    desired = sync(make_hooks(webhook_settings), request(parent(), []))["children"]
    not_ready = sync(make_hooks(webhook_settings), request(parent(), as_observed(desired, ready=0)))
    assert not_ready["status"]["phase"] == "Pending"
    failing = FakeVerifier(ok=False)
    verifying = sync(make_hooks(webhook_settings, failing), request(parent(), as_observed(desired)))
    assert verifying["status"]["phase"] == "Verifying"
    assert condition(verifying["status"], "Ready")["status"] == "True"
    assert condition(verifying["status"], "Verified")["status"] == "False"
    assert verifying["resyncAfterSeconds"] == 1.0
    assert failing.calls == [(BASE, "userswarms", 42617, WORKSPACE)]
    running = sync(make_hooks(webhook_settings), request(parent(status=verifying["status"]), as_observed(desired)))
    assert running["status"]["phase"] == "Running"
    assert condition(running["status"], "Verified")["status"] == "True"
    assert condition(running["status"], "Ready") == condition(verifying["status"], "Ready")  # unchanged time
    assert running["resyncAfterSeconds"] == 30.0
    assert running["status"]["provisioned"] is True


def test_not_verified_without_ready_pod_or_service(webhook_settings: WebhookSettings) -> None:
    verifier = FakeVerifier()
    desired = sync(make_hooks(webhook_settings), request(parent(), []))["children"]
    observed = [c for c in as_observed(desired) if not (c["kind"] == "Service" and c["metadata"]["name"] == BASE)]
    response = sync(make_hooks(webhook_settings, verifier), request(parent(), observed))
    assert condition(response["status"], "Verified")["status"] == "False"
    assert verifier.calls == []


@pytest.mark.parametrize(
    "spec",
    [
        None,
        "not-an-object",
        {"userId": "alice"},
        {"workspaceId": WORKSPACE},
        {"workspaceId": "Bad_ID", "userId": "a"},
        {"workspaceId": WORKSPACE, "userId": "alice", "runtimeNamespace": "kube-system"},
        {"workspaceId": WORKSPACE, "userId": "alice", "storage": {"size": "lots"}},
        {"workspaceId": WORKSPACE, "userId": "alice", "runtime": {"mode": "evil"}},
    ],
    ids=["null", "string", "no-workspace", "no-user", "bad-id", "foreign-namespace", "bad-size", "bad-mode"],
)
def test_bad_spec_keeps_every_observed_child_and_reports_it(webhook_settings: WebhookSettings, spec: Any) -> None:
    good = sync(make_hooks(webhook_settings), request(parent(), []))
    observed = as_observed(good["children"])
    bad = parent(spec=spec, status={**good["status"], "serviceName": BASE})
    if spec is None:
        bad["spec"] = None
    response = sync(make_hooks(webhook_settings), request(bad, observed))
    assert keys(response["children"]) == keys(observed)

    def index(children: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
        return {(c["kind"], c["metadata"]["name"]): c for c in children}

    assert index(response["children"]) == index(good["children"])  # echoed from last-applied: nothing changes
    assert response["status"]["phase"] == "Invalid"
    assert condition(response["status"], "Ready")["reason"] == "InvalidSpec"
    assert response["status"]["serviceName"] == BASE
    assert response["status"]["message"]


def test_bad_spec_without_children_creates_nothing(webhook_settings: WebhookSettings) -> None:
    response = sync(make_hooks(webhook_settings), request(parent(spec={"userId": "x"}), []))
    assert response["children"] == []
    assert response["status"]["phase"] == "Invalid"


def test_suspend_scales_to_zero(webhook_settings: WebhookSettings) -> None:
    spec = {"workspaceId": WORKSPACE, "userId": "alice", "suspend": True}
    response = sync(make_hooks(webhook_settings), request(parent(spec=spec), []))
    assert by_kind(response["children"], "StatefulSet")["spec"]["replicas"] == 0
    assert response["status"]["phase"] == "Suspended"


def test_wrong_identity_mode_reaches_the_configmap(webhook_settings: WebhookSettings) -> None:
    spec = {"workspaceId": WORKSPACE, "userId": "alice", "runtime": {"mode": "wrong-identity"}}
    response = sync(make_hooks(webhook_settings), request(parent(spec=spec), []))
    assert by_kind(response["children"], "ConfigMap")["data"]["runtime-mode"] == "wrong-identity"
