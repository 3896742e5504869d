"""Defects: the switch mechanism, and that each defect changes exactly its behaviour.

Coverage matrix (component → defect → the one observable change; everything else as without the defect):

| component    | defect                              | asserted change                                        |
|--------------|-------------------------------------|--------------------------------------------------------|
| switch       | ConfigMap read                      | cache ≤ max_age, errors keep the last value, set_defect waits |
| webhook      | iso1-nodeport-service               | runtime Service type NodePort                           |
|              | iso2-external-ip                    | Service stays ClusterIP, gains externalIPs [node IP]   |
|              | iso3-missing-user-label             | no crawbl.ai/user label on children/pod                 |
|              | iso6-open-ingress                   | runtime pod without the label the ingress policy selects|
|              | iso7-automount-token                | token automounted; observed SA bound to overreach Role  |
|              | msg5-verified-too-early             | Verified without a challenge                            |
|              | msg6-history-on-emptydir            | data volume is emptyDir                                 |
|              | lif2-no-self-heal                   | missing child not desired once provisioned              |
|              | rpr4-namespace-co-owner             | new children get a Namespace ownerReference             |
|              | del3-finalize-orphans-pvc           | PVC orphaned, kept, finalized                           |
|              | rpr2-abandon-stale-deletion         | stale + complete → all orphaned, finalized              |
|              | rpr3-recreate-on-resume             | stale + partial → full set desired again                |
|              | del5-teardown-deletes-all-configmaps| the last teardown step deletes every swarm's ConfigMaps |
| orchestrator | iso4 / iso5 / msg2                  | foreign access / unsigned tokens / wrong swarm          |
|              | iso4-existence-leak                 | another user's workspace: a 404 with its own body (GET/DELETE) |
|              | msg1-reject-non-ascii               | a UTF-8 (non-ASCII) message gets 422                    |
|              | msg2-rebuild-service-name           | the Service name rebuilt from the ID, not the status's  |
|              | msg3-via-api-server                 | messages go through the API server's service proxy      |
|              | msg4-first-conversation             | every message goes to the workspace's first conversation|
|              | msg5-one-gate-for-all               | a verified swarm's message: 503 while another is pending|
|              | del1 / del6                         | mid-teardown: GET answers 200 / a second DELETE 500     |
|              | del2 / rpr1                         | UserSwarm kept on delete / tombstones count as live     |
|              | lif1-api-never-verified             | the API view says verified=false                        |
|              | lif3-accept-any-runtime-mode        | an unknown runtime mode is accepted                     |
| reaper       | del4 / rpr5 (two)                   | see test_reference_reaper.py                            |
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import httpx
import pytest
from kubernetes.client.exceptions import ApiException
from reference_fakes import SERVICE_TOKEN, TOKEN_KEY, ASGIClient, FakeSwarms, OrchestratorHarness, Switchboard
from reference_webhook_fakes import WORKSPACE, FakeCluster, FakeVerifier, as_observed, keys, parent, request

from swarmconf.reference.common import defects
from swarmconf.reference.common import labels as L
from swarmconf.reference.common.defects import CLAUSES, MODEL_GATEWAY_PATH, ConfigMapSwitches, Defect, Switches
from swarmconf.reference.common.names import child_names, overreach_binding
from swarmconf.reference.common.settings import OrchestratorSettings, WebhookSettings
from swarmconf.reference.common.tokens import mint_token
from swarmconf.reference.install import render_manifests
from swarmconf.reference.orchestrator.app import Orchestrator, create_app
from swarmconf.reference.orchestrator.model_gateway import ModelGateway
from swarmconf.reference.orchestrator.runtime_client import RuntimeClient
from swarmconf.reference.orchestrator.store import Store
from swarmconf.reference.webhook import kube as webhook_kube
from swarmconf.reference.webhook.hooks import Hooks
from swarmconf.reference.webhook.kube import KubeActionError

REQUIRED = {
    "MSG-1",
    "MSG-3",
    "MSG-4",
    "DEL-1",
    "DEL-5",
    "DEL-6",
    "LIF-1",
    "LIF-3",
    "ISO-1",
    "ISO-2",
    "ISO-3",
    "ISO-4",
    "ISO-5",
    "MSG-2",
    "MSG-5",
    "MSG-6",
    "DEL-3",
    "DEL-4",
    "RPR-1",
    "RPR-2",
    "RPR-3",
    "RPR-4",
    "RPR-5",
    "LIF-2",
}


def test_every_required_clause_has_a_defect() -> None:
    assert set(CLAUSES.values()) >= REQUIRED


# ---- the switch ----------------------------------------------------------------------------------------------


class FakeCore:
    def __init__(self) -> None:
        self.data: dict[str, str] | None = {"defect": ""}
        self.reads = 0
        self.fail = False
        self.health: dict[str, str] = {}

    def read_namespaced_config_map(self, name: str, namespace: str, **_: Any) -> Any:
        self.reads += 1
        if self.fail:
            raise ApiException(status=500)
        if self.data is None:
            raise ApiException(status=404)
        return type("CM", (), {"data": dict(self.data)})()

    def patch_namespaced_config_map(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        assert self.data is not None
        self.data.update(body["data"])
        self.health.update({k: v for k, v in body["data"].items()})

    def connect_get_namespaced_service_proxy_with_path(self, service: str, namespace: str, path: str, **_: Any) -> Any:
        return type("Response", (), {"data": json.dumps(self.health).encode()})()


def test_cached_read_refreshes_after_max_age_and_survives_errors() -> None:
    core, now = FakeCore(), [0.0]
    reader = ConfigMapSwitches(core, namespace="ns", max_age=1.0, clock=lambda: now[0])  # type: ignore[arg-type]
    assert reader.current() == Switches()
    core.data = {"defect": "iso1-nodeport-service", "fault": "finalize-error"}
    now[0] = 0.5
    assert reader.current() == Switches() and core.reads == 1
    now[0] = 1.0
    assert reader.current() == Switches(Defect.ISO1_NODEPORT_SERVICE, defects.Fault.FINALIZE_ERROR)
    core.fail, now[0] = True, 5.0
    assert reader.current().defect is Defect.ISO1_NODEPORT_SERVICE
    core.fail, core.data, now[0] = False, None, 9.0
    assert reader.current() == Switches()


def test_unknown_values_mean_no_defect() -> None:
    assert defects.parse_defect("rm -rf") is None and defects.parse_defect(" ") is None
    assert defects.parse_fault("nope") is None


def test_set_defect_writes_and_waits_until_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    core = FakeCore()
    monkeypatch.setattr(defects.client, "CoreV1Api", lambda api: core)
    defects.set_defect(object(), namespace="ns", defect="msg6-history-on-emptydir", timeout=1)  # type: ignore[arg-type]
    assert core.data == {"defect": "msg6-history-on-emptydir"}
    defects.set_defect(object(), namespace="ns", defect=None, timeout=1)  # type: ignore[arg-type]
    assert core.data == {"defect": ""}
    with pytest.raises(ValueError):
        defects.set_defect(object(), namespace="ns", defect="no-such-defect", timeout=1)  # type: ignore[arg-type]


def test_set_defect_times_out_when_nobody_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    core = FakeCore()
    core.patch_namespaced_config_map = lambda *a, **k: None  # type: ignore[method-assign]
    monkeypatch.setattr(defects.client, "CoreV1Api", lambda api: core)
    with pytest.raises(defects.DefectSwitchTimeout):
        defects.set_defect(
            object(),
            namespace="ns",
            defect=Defect.ISO1_NODEPORT_SERVICE,  # type: ignore[arg-type]
            timeout=0.3,
        )


# ---- webhook defects -------------------------------------------------------------------------------------------


def run(
    settings: WebhookSettings,
    defect: Defect | None,
    req: dict[str, Any],
    *,
    finalize: bool = False,
    verifier: FakeVerifier | None = None,
    cluster: FakeCluster | None = None,
) -> dict[str, Any]:
    hooks = Hooks(
        settings=settings,
        switches=defects.StaticSwitches(Switches(defect)),
        verifier=verifier or FakeVerifier(),
        cluster=cluster or FakeCluster(),
        clock=lambda: 1577836900.0,
    )
    return anyio.run(hooks.finalize if finalize else hooks.sync, req)


def kind(children: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c for c in children if c["kind"] == name]


def desired(settings: WebhookSettings, defect: Defect | None) -> list[dict[str, Any]]:
    return list(run(settings, defect, request(parent(), []))["children"])


def _diff(settings: WebhookSettings, defect: Defect) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return desired(settings, None), desired(settings, defect)


def test_iso1_nodeport(webhook_settings: WebhookSettings) -> None:
    normal, broken = _diff(webhook_settings, Defect.ISO1_NODEPORT_SERVICE)
    assert [s["spec"].get("type") for s in kind(broken, "Service")] == ["NodePort", None]
    assert kind(normal, "Service")[0]["spec"]["type"] == "ClusterIP"
    assert kind(normal, "StatefulSet") == kind(broken, "StatefulSet")


def test_iso1_sidecar_host_port(webhook_settings: WebhookSettings) -> None:
    normal, broken = _diff(webhook_settings, Defect.ISO1_SIDECAR_HOST_PORT)
    pod = kind(broken, "StatefulSet")[0]["spec"]["template"]["spec"]
    (sidecar,) = pod["initContainers"]
    assert sidecar["restartPolicy"] == "Always"
    (port,) = sidecar["ports"]
    assert port["containerPort"] == 42617 and 31000 <= port["hostPort"] < 32000
    assert all(not p.get("hostPort") for c in pod["containers"] for p in c.get("ports") or []), "only the sidecar"
    assert "initContainers" not in kind(normal, "StatefulSet")[0]["spec"]["template"]["spec"]
    assert kind(normal, "Service") == kind(broken, "Service")


def test_iso2_external_ip(webhook_settings: WebhookSettings) -> None:
    _, broken = _diff(webhook_settings, Defect.ISO2_EXTERNAL_IP)
    service = kind(broken, "Service")[0]["spec"]
    assert service["type"] == "ClusterIP" and service["externalIPs"] == ["172.18.0.2"]


def test_iso3_missing_user_label(webhook_settings: WebhookSettings) -> None:
    normal, broken = _diff(webhook_settings, Defect.ISO3_MISSING_USER_LABEL)
    assert all(L.USER in c["metadata"]["labels"] for c in normal)
    assert not any(L.USER in c["metadata"]["labels"] for c in broken)
    assert keys(normal) == keys(broken)


def test_iso6_open_ingress(webhook_settings: WebhookSettings) -> None:
    normal, broken = _diff(webhook_settings, Defect.ISO6_OPEN_INGRESS)
    template = kind(normal, "StatefulSet")[0]["spec"]["template"]["metadata"]["labels"]
    assert template[L.INGRESS] == L.INGRESS_PLATFORM_ONLY
    assert L.INGRESS not in kind(broken, "StatefulSet")[0]["spec"]["template"]["metadata"]["labels"]
    # only the pod's label changes: the children themselves are labelled as before
    assert [c["metadata"] for c in normal] == [c["metadata"] for c in broken]


def test_the_ingress_policy_selects_the_label_runtime_pods_carry() -> None:
    (policy,) = [o for o in render_manifests({"IMAGE": "app:1"}) if o["kind"] == "NetworkPolicy"]
    assert policy["metadata"]["namespace"] == "userswarms"
    assert policy["spec"]["podSelector"] == {"matchLabels": {L.INGRESS: L.INGRESS_PLATFORM_ONLY}}
    ((peer,),) = [rule["from"] for rule in policy["spec"]["ingress"]]
    assert peer == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "swarm-system"}}}


def test_iso7_automount(webhook_settings: WebhookSettings) -> None:
    _, broken = _diff(webhook_settings, Defect.ISO7_AUTOMOUNT_TOKEN)
    assert kind(broken, "StatefulSet")[0]["spec"]["template"]["spec"]["automountServiceAccountToken"] is True


OVERREACH_SELECTOR = ("userswarms", "crawbl.ai/defect=iso7-automount-token")


def test_iso7_binds_the_overreach_role_to_the_observed_serviceaccount(webhook_settings: WebhookSettings) -> None:
    observed = as_observed(desired(webhook_settings, Defect.ISO7_AUTOMOUNT_TOKEN))
    cluster = FakeCluster()
    response = run(webhook_settings, Defect.ISO7_AUTOMOUNT_TOKEN, request(parent(), observed), cluster=cluster)
    account = child_names(WORKSPACE).serviceaccount
    [binding] = cluster.role_bindings
    assert binding["kind"] == "RoleBinding" and binding["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert binding["metadata"]["name"] == overreach_binding(account) == f"{account}-overreach"
    assert binding["metadata"]["namespace"] == "userswarms"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "swarm-system-runtime-overreach",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "userswarms"}]
    assert binding["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "ServiceAccount", "name": account, "uid": f"uid-{account}-ServiceAccount"}
    ]
    labels = binding["metadata"]["labels"]
    assert labels["crawbl.ai/defect"] == "iso7-automount-token" and labels[L.WORKSPACE] == WORKSPACE
    assert keys(response["children"]) == keys(observed)  # the binding is no child: Metacontroller never sees it
    assert cluster.swept == []


def test_iso7_binding_follows_the_platform_namespace(webhook_settings: WebhookSettings) -> None:
    settings = webhook_settings.model_copy(update={"platform_namespace": "swarm-b"})
    cluster = FakeCluster()
    observed = as_observed(desired(settings, None))
    run(settings, Defect.ISO7_AUTOMOUNT_TOKEN, request(parent(), observed), cluster=cluster)
    assert [b["roleRef"]["name"] for b in cluster.role_bindings] == ["swarm-b-runtime-overreach"]


def test_iso7_no_binding_when_off_or_before_the_serviceaccount_exists(webhook_settings: WebhookSettings) -> None:
    full = as_observed(desired(webhook_settings, None))
    for defect in (None, Defect.ISO1_NODEPORT_SERVICE):
        cluster = FakeCluster()
        run(webhook_settings, defect, request(parent(), full), cluster=cluster)
        assert cluster.role_bindings == [] and cluster.swept == [OVERREACH_SELECTOR]
    without_account = [c for c in full if c["kind"] != "ServiceAccount"]
    no_uid = [
        {**c, "metadata": {k: v for k, v in c["metadata"].items() if k != "uid"}}
        if c["kind"] == "ServiceAccount"
        else c
        for c in full
    ]
    for observed in ([], without_account, no_uid):
        cluster = FakeCluster()
        response = run(webhook_settings, Defect.ISO7_AUTOMOUNT_TOKEN, request(parent(), observed), cluster=cluster)
        assert cluster.role_bindings == [] and cluster.swept == []
        assert len(response["children"]) == 7


@pytest.mark.parametrize("error", [KubeActionError("creating RoleBinding failed: 403"), KubeActionError("timeout")])
def test_iso7_api_errors_do_not_break_sync(webhook_settings: WebhookSettings, error: Exception) -> None:
    observed = as_observed(desired(webhook_settings, None))
    cluster = FakeCluster(fail=error)
    for defect in (Defect.ISO7_AUTOMOUNT_TOKEN, None):
        response = run(webhook_settings, defect, request(parent(), observed), cluster=cluster)
        assert len(response["children"]) == 7 and response["status"]["phase"] == "Running"
    assert cluster.role_bindings == []


def test_iso7_bindings_are_swept_once_after_the_defect_is_off(webhook_settings: WebhookSettings) -> None:
    switches, cluster = defects.StaticSwitches(), FakeCluster()
    hooks = Hooks(settings=webhook_settings, switches=switches, verifier=FakeVerifier(), cluster=cluster)
    req = request(parent(), as_observed(desired(webhook_settings, None)))

    def sync(defect: Defect | None) -> None:
        switches.switches = Switches(defect)
        anyio.run(hooks.sync, req)

    sync(None)
    sync(None)
    assert cluster.swept == [OVERREACH_SELECTOR]  # once at start, not at every sync
    sync(Defect.ISO7_AUTOMOUNT_TOKEN)
    sync(Defect.ISO7_AUTOMOUNT_TOKEN)
    assert len(cluster.role_bindings) == 2  # asked again at every sync (the API answers 409)
    sync(None)
    sync(None)
    assert cluster.swept == [OVERREACH_SELECTOR] * 2 and len(cluster.role_bindings) == 2


class FakeRbac:
    def __init__(self, status: int | None) -> None:
        self.status = status
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str]] = []

    def create_namespaced_role_binding(self, namespace: str, body: dict[str, Any], **_: Any) -> None:
        if self.status is not None:
            raise ApiException(status=self.status)
        self.created.append((namespace, body))

    def delete_collection_namespaced_role_binding(self, namespace: str, *, label_selector: str, **_: Any) -> None:
        if self.status is not None:
            raise ApiException(status=self.status)
        self.deleted.append((namespace, label_selector))


def test_kube_actions_role_bindings(monkeypatch: pytest.MonkeyPatch) -> None:
    binding = {"metadata": {"name": "b", "namespace": "userswarms"}}

    def actions(status: int | None) -> tuple[webhook_kube.KubeActions, FakeRbac]:
        rbac = FakeRbac(status)
        monkeypatch.setattr(webhook_kube.client, "RbacAuthorizationV1Api", lambda _api: rbac)
        return webhook_kube.KubeActions(webhook_kube.client.ApiClient()), rbac

    ok, rbac = actions(None)
    assert ok.create_role_binding(binding) is True and rbac.created == [("userswarms", binding)]
    ok.delete_role_bindings("userswarms", "a=b")
    assert rbac.deleted == [("userswarms", "a=b")]
    exists, _ = actions(409)
    assert exists.create_role_binding(binding) is False
    forbidden, _ = actions(403)
    with pytest.raises(KubeActionError, match="403"):
        forbidden.create_role_binding(binding)
    with pytest.raises(KubeActionError, match="403"):
        forbidden.delete_role_bindings("userswarms", "a=b")


def test_msg5_verified_without_challenge(webhook_settings: WebhookSettings) -> None:
    observed = as_observed(desired(webhook_settings, None))
    failing = FakeVerifier(ok=False)
    normal = run(webhook_settings, None, request(parent(), observed), verifier=failing)
    broken = run(webhook_settings, Defect.MSG5_VERIFIED_TOO_EARLY, request(parent(), observed), verifier=failing)
    assert normal["status"]["phase"] == "Verifying" and broken["status"]["phase"] == "Running"
    unready = run(
        webhook_settings,
        Defect.MSG5_VERIFIED_TOO_EARLY,
        request(parent(), as_observed(desired(webhook_settings, None), ready=0)),
    )
    assert unready["status"]["phase"] == "Pending"


def test_msg6_history_on_emptydir(webhook_settings: WebhookSettings) -> None:
    normal, broken = _diff(webhook_settings, Defect.MSG6_HISTORY_ON_EMPTYDIR)
    assert kind(broken, "StatefulSet")[0]["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]
    assert keys(normal) == keys(broken)  # the PVC still exists


def test_lif2_no_self_heal(webhook_settings: WebhookSettings) -> None:
    full = as_observed(desired(webhook_settings, None))
    missing = [c for c in full if c["kind"] != "ConfigMap"]
    provisioned = parent(status={"provisioned": True})
    assert len(run(webhook_settings, None, request(provisioned, missing))["children"]) == 7
    broken = run(webhook_settings, Defect.LIF2_NO_SELF_HEAL, request(provisioned, missing))
    assert kind(broken["children"], "ConfigMap") == [] and len(broken["children"]) == 6
    first = run(webhook_settings, Defect.LIF2_NO_SELF_HEAL, request(parent(), []))
    assert len(first["children"]) == 7


def test_rpr4_namespace_co_owner_on_new_children_only(webhook_settings: WebhookSettings) -> None:
    broken = desired(webhook_settings, Defect.RPR4_NAMESPACE_CO_OWNER)
    assert all(c["metadata"]["ownerReferences"][0]["kind"] == "Namespace" for c in broken)
    observed = as_observed(desired(webhook_settings, None))
    again = run(webhook_settings, Defect.RPR4_NAMESPACE_CO_OWNER, request(parent(), observed))["children"]
    assert not any("ownerReferences" in c["metadata"] for c in again)
    kept = run(webhook_settings, None, request(parent(), as_observed(broken)))["children"]
    assert all(c["metadata"]["ownerReferences"][0]["kind"] == "Namespace" for c in kept)  # never dropped


DELETING: dict[str, Any] = {"deleting_since": "2020-01-01T00:00:00Z"}  # 100 s before the clock: stale


def test_del3_finalize_orphans_pvc(webhook_settings: WebhookSettings) -> None:
    pvc_only = kind(as_observed(desired(webhook_settings, None)), "PersistentVolumeClaim")
    req = request(parent(**DELETING), pvc_only, finalizing=True)
    assert run(webhook_settings, None, req, finalize=True)["children"] == []
    cluster = FakeCluster()
    broken = run(webhook_settings, Defect.DEL3_FINALIZE_ORPHANS_PVC, req, finalize=True, cluster=cluster)
    assert broken["finalized"] is True and kind(broken["children"], "PersistentVolumeClaim")
    assert [k for k, _ in cluster.orphaned] == ["PersistentVolumeClaim"]


def test_rpr2_abandons_stale_complete_deletions(webhook_settings: WebhookSettings) -> None:
    full = as_observed(desired(webhook_settings, None))
    cluster = FakeCluster()
    req = request(parent(**DELETING), full, finalizing=True)
    broken = run(webhook_settings, Defect.RPR2_ABANDON_STALE_DELETION, req, finalize=True, cluster=cluster)
    assert broken["finalized"] is True and len(cluster.orphaned) == 7
    fresh = request(parent(deleting_since="2020-01-01T00:01:38Z"), full, finalizing=True)
    normal = run(webhook_settings, Defect.RPR2_ABANDON_STALE_DELETION, fresh, finalize=True)
    assert normal["finalized"] is False and len(normal["children"]) == 6


def test_del5_teardown_deletes_every_swarms_configmaps(webhook_settings: WebhookSettings) -> None:
    last = request(parent(**DELETING), [], finalizing=True)
    cluster = FakeCluster()
    assert run(webhook_settings, None, last, finalize=True, cluster=cluster)["finalized"] is True
    assert cluster.config_maps_deleted == []
    broken = run(webhook_settings, Defect.DEL5_TEARDOWN_DELETES_ALL_CONFIGMAPS, last, finalize=True, cluster=cluster)
    assert broken["finalized"] is True and cluster.config_maps_deleted == [("userswarms", L.SWARM)]
    midway = request(parent(**DELETING), as_observed(desired(webhook_settings, None)), finalizing=True)
    cluster = FakeCluster()
    run(webhook_settings, Defect.DEL5_TEARDOWN_DELETES_ALL_CONFIGMAPS, midway, finalize=True, cluster=cluster)
    assert cluster.config_maps_deleted == []  # only at the end of a teardown


def test_rpr3_recreates_after_a_stale_partial_teardown(webhook_settings: WebhookSettings) -> None:
    partial = [c for c in as_observed(desired(webhook_settings, None)) if c["kind"] != "StatefulSet"]
    req = request(parent(**DELETING), partial, finalizing=True)
    assert kind(run(webhook_settings, None, req, finalize=True)["children"], "StatefulSet") == []
    broken = run(webhook_settings, Defect.RPR3_RECREATE_ON_RESUME, req, finalize=True)
    assert kind(broken["children"], "StatefulSet") and broken["finalized"] is False


# ---- orchestrator defects -------------------------------------------------------------------------------------


def _msg(h: OrchestratorHarness, user: str, ws: str, conv: str) -> Any:
    return h.client.post(f"/v1/workspaces/{ws}/conversations/{conv}/messages", headers=h.auth(user), json={"text": "x"})


def test_iso4_skip_ownership_check(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", ws)
    assert _msg(orchestrator, "bob", ws, conv).status_code == 404
    orchestrator.switches.set(Defect.ISO4_SKIP_OWNERSHIP_CHECK)
    assert _msg(orchestrator, "bob", ws, conv).status_code == 200
    assert orchestrator.client.delete(f"/v1/workspaces/{ws}", headers=orchestrator.auth("bob")).status_code == 404


def test_iso5_skip_signature_check(orchestrator: OrchestratorHarness) -> None:
    forged = {"Authorization": f"Bearer {mint_token(b'wrong', 'alice', -60)}"}
    assert orchestrator.client.get("/v1/workspaces", headers=forged).status_code == 401
    orchestrator.switches.set(Defect.ISO5_SKIP_SIGNATURE_CHECK)
    assert orchestrator.client.get("/v1/workspaces", headers=forged).status_code == 200
    assert orchestrator.client.get("/v1/workspaces").status_code == 401


def test_msg2_route_by_user(orchestrator: OrchestratorHarness) -> None:
    first = orchestrator.workspace("alice")
    second = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", second)
    _msg(orchestrator, "alice", second, conv)
    orchestrator.switches.set(Defect.MSG2_ROUTE_BY_USER)
    _msg(orchestrator, "alice", second, conv)
    assert orchestrator.runtime.hosts == [f"swarm-{second}.userswarms.svc", f"swarm-{first}.userswarms.svc"]


def test_msg6_history_from_orchestrator(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", ws)
    path = f"/v1/workspaces/{ws}/conversations/{conv}/messages"
    orchestrator.switches.set(Defect.MSG6_HISTORY_FROM_ORCHESTRATOR)
    _msg(orchestrator, "alice", ws, conv)
    asked = len(orchestrator.runtime.requests)  # the message and the copy's read
    history = orchestrator.client.get(path, headers=orchestrator.auth("alice"))
    assert history.status_code == 200
    assert len(orchestrator.runtime.requests) == asked, "the history came from the orchestrator's copy"
    orchestrator.switches.set(None)
    assert orchestrator.client.get(path, headers=orchestrator.auth("alice")).status_code == 200
    assert len(orchestrator.runtime.requests) == asked + 1, "without the defect every read asks the runtime"


def test_del2_keep_userswarm(orchestrator: OrchestratorHarness) -> None:
    orchestrator.switches.set(Defect.DEL2_KEEP_USERSWARM)
    ws = orchestrator.workspace("alice")
    assert orchestrator.client.delete(f"/v1/workspaces/{ws}", headers=orchestrator.auth("alice")).status_code == 204
    assert orchestrator.swarms.deleted == [] and f"ws-{ws}" in orchestrator.swarms.objects


def test_rpr1_tombstones_count_as_live(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    orchestrator.store.delete_workspace(ws, how="admin-forget")
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    assert orchestrator.client.get(f"/internal/workspaces/{ws}", headers=service).status_code == 404
    orchestrator.switches.set(Defect.RPR1_TOMBSTONES_COUNT_AS_LIVE)
    assert orchestrator.client.get(f"/internal/workspaces/{ws}", headers=service).status_code == 200
    assert orchestrator.client.get(f"/internal/workspaces/{uuid.uuid4()}", headers=service).status_code == 404
    assert TOKEN_KEY  # (the token key fixture is shared with the other orchestrator tests)


def test_health_reports_the_active_defect(orchestrator: OrchestratorHarness) -> None:
    orchestrator.switches.set(Defect.MSG2_ROUTE_BY_USER)
    assert orchestrator.client.get("/v1/health").json()["defect"] == "msg2-route-by-user"


def test_msg4_shared_model_gateway_forwards_and_caches_across_workspaces(tmp_path: Any, switches: Switchboard) -> None:
    asked: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        answer = f"answer-{len(asked)}"
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": answer}}]})

    settings = OrchestratorSettings.model_validate(
        {"token_key": TOKEN_KEY.decode(), "service_token": SERVICE_TOKEN, "database_path": str(tmp_path / "o.db")}
    )
    gateway = ModelGateway("http://model/v1", httpx.AsyncClient(transport=httpx.MockTransport(provider)))
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    orchestrator = Orchestrator(
        settings=settings,
        store=Store(settings.database_path),
        swarms=FakeSwarms(),
        runtime=RuntimeClient(http, timeout=5),
        switches=switches,
        model_gateway=gateway,
    )
    client = ASGIClient(create_app(orchestrator, settings=settings))
    path = f"{MODEL_GATEWAY_PATH}/chat/completions"
    body = {"messages": [{"role": "system", "content": "ws a"}, {"role": "user", "content": "hi"}]}
    assert client.post(path, json=body).status_code == 404  # off: no gateway
    switches.set(Defect.MSG4_SHARED_MODEL_GATEWAY)
    first = client.post(path, json=body).json()
    other_workspace = {"messages": [{"role": "system", "content": "ws b"}, {"role": "user", "content": "hi"}]}
    second = client.post(path, json=other_workspace).json()
    assert first == second and asked == ["http://model/v1/chat/completions"]


def test_msg4_shared_model_gateway_points_new_runtimes_at_the_orchestrator(webhook_settings: WebhookSettings) -> None:
    with_model = webhook_settings.model_copy(update={"model_provider_url": "http://model/v1"})
    board = Switchboard()
    hooks = Hooks(settings=with_model, switches=board, verifier=FakeVerifier(), cluster=FakeCluster())
    assert hooks.shape(board.current()).model_provider_url == "http://model/v1"
    board.set(Defect.MSG4_SHARED_MODEL_GATEWAY)
    gateway = f"http://orchestrator.{with_model.platform_namespace}.svc:8080{MODEL_GATEWAY_PATH}"
    assert hooks.shape(board.current()).model_provider_url == gateway
    plain = Hooks(settings=webhook_settings, switches=board, verifier=FakeVerifier(), cluster=FakeCluster())
    assert plain.shape(board.current()).model_provider_url == ""  # no model provider: nothing to redirect


def test_msg1_reject_non_ascii(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", ws)
    url, auth = f"/v1/workspaces/{ws}/conversations/{conv}/messages", orchestrator.auth("alice")
    assert orchestrator.client.post(url, headers=auth, json={"text": "grüße ✓"}).status_code == 200
    orchestrator.switches.set(Defect.MSG1_REJECT_NON_ASCII)
    assert orchestrator.client.post(url, headers=auth, json={"text": "grüße ✓"}).status_code == 422
    assert orchestrator.client.post(url, headers=auth, json={"text": "plain"}).status_code == 200


def test_msg2_rebuild_service_name(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    orchestrator.swarms.verify(f"ws-{ws}", service="published-elsewhere")
    conv = orchestrator.conversation("alice", ws)
    _msg(orchestrator, "alice", ws, conv)
    orchestrator.switches.set(Defect.MSG2_REBUILD_SERVICE_NAME)
    _msg(orchestrator, "alice", ws, conv)
    assert orchestrator.runtime.hosts == ["published-elsewhere.userswarms.svc", f"swarm-{ws}.userswarms.svc"]


def test_msg5_one_gate_for_all(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", ws)
    pending = orchestrator.workspace("bob", verified=False)
    assert _msg(orchestrator, "alice", ws, conv).status_code == 200, "without the defect: one gate per swarm"
    orchestrator.switches.set(Defect.MSG5_ONE_GATE_FOR_ALL)
    held = _msg(orchestrator, "alice", ws, conv)
    assert (held.status_code, held.json()["error"]) == (503, "not_ready")
    orchestrator.swarms.verify(f"ws-{pending}")
    assert _msg(orchestrator, "alice", ws, conv).status_code == 200, "nothing pending: messages flow again"
    assert len(orchestrator.runtime.requests) == 2, "the held message reached no runtime"


def test_msg3_via_api_server(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", ws)
    _msg(orchestrator, "alice", ws, conv)
    orchestrator.switches.set(Defect.MSG3_VIA_API_SERVER)
    assert _msg(orchestrator, "alice", ws, conv).status_code == 200
    direct, proxied = orchestrator.runtime.requests
    assert direct.url.host == f"swarm-{ws}.userswarms.svc"
    assert proxied.url.host == "kubernetes.default.svc"
    assert (
        proxied.url.path
        == f"/api/v1/namespaces/userswarms/services/swarm-{ws}:42617/proxy/v1/conversations/{conv}/messages"
    )
    assert proxied.headers["Authorization"] == "Bearer sa-token"


def test_msg4_first_conversation(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    first, second = orchestrator.conversation("alice", ws), orchestrator.conversation("alice", ws)
    _msg(orchestrator, "alice", ws, second)
    orchestrator.switches.set(Defect.MSG4_FIRST_CONVERSATION)
    _msg(orchestrator, "alice", ws, second)
    assert [r.url.path.split("/")[3] for r in orchestrator.runtime.requests] == [second, first]


def _deleted_but_terminating(h: OrchestratorHarness) -> str:
    """A workspace deleted through the API whose UserSwarm is still there (its teardown is under way)."""
    ws = h.workspace("alice")
    swarm = h.swarms.get(f"ws-{ws}")
    assert h.client.delete(f"/v1/workspaces/{ws}", headers=h.auth("alice")).status_code == 204
    assert swarm is not None
    h.swarms.objects[f"ws-{ws}"] = swarm
    return ws


def test_del1_readable_while_terminating(orchestrator: OrchestratorHarness) -> None:
    ws = _deleted_but_terminating(orchestrator)
    url = f"/v1/workspaces/{ws}"
    assert orchestrator.client.get(url, headers=orchestrator.auth("alice")).status_code == 404
    orchestrator.switches.set(Defect.DEL1_READABLE_WHILE_TERMINATING)
    assert orchestrator.client.get(url, headers=orchestrator.auth("alice")).status_code == 200
    assert orchestrator.client.get(url, headers=orchestrator.auth("bob")).status_code == 404
    orchestrator.swarms.objects.clear()
    assert orchestrator.client.get(url, headers=orchestrator.auth("alice")).status_code == 404


def test_del6_redelete_fails_while_terminating(orchestrator: OrchestratorHarness) -> None:
    ws = _deleted_but_terminating(orchestrator)
    url = f"/v1/workspaces/{ws}"
    assert orchestrator.client.delete(url, headers=orchestrator.auth("alice")).status_code == 404
    orchestrator.switches.set(Defect.DEL6_REDELETE_FAILS_WHILE_TERMINATING)
    assert orchestrator.client.delete(url, headers=orchestrator.auth("alice")).status_code == 500
    assert orchestrator.client.get(url, headers=orchestrator.auth("alice")).status_code == 404
    orchestrator.swarms.objects.clear()
    assert orchestrator.client.delete(url, headers=orchestrator.auth("alice")).status_code == 404


def test_lif1_api_never_verified(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    url = f"/v1/workspaces/{ws}"
    assert orchestrator.client.get(url, headers=orchestrator.auth("alice")).json()["status"]["verified"] is True
    orchestrator.switches.set(Defect.LIF1_API_NEVER_VERIFIED)
    assert orchestrator.client.get(url, headers=orchestrator.auth("alice")).json()["status"]["verified"] is False


def test_lif3_accept_any_runtime_mode(orchestrator: OrchestratorHarness) -> None:
    body, auth = {"runtime": {"mode": "no-such-mode"}}, orchestrator.auth("alice")
    assert orchestrator.client.post("/v1/workspaces", json=body, headers=auth).status_code == 422
    orchestrator.switches.set(Defect.LIF3_ACCEPT_ANY_RUNTIME_MODE)
    assert orchestrator.client.post("/v1/workspaces", json=body, headers=auth).status_code == 201
    assert orchestrator.client.post("/v1/workspaces", json={"runtime": 42}, headers=auth).status_code == 422


def test_iso4_existence_leak(orchestrator: OrchestratorHarness) -> None:
    ws = orchestrator.workspace("alice")
    conv = orchestrator.conversation("alice", ws)
    ghost, bob = str(uuid.uuid4()), orchestrator.auth("bob")
    orchestrator.switches.set(Defect.ISO4_EXISTENCE_LEAK)
    for method in ("GET", "DELETE"):
        theirs = orchestrator.client.request(method, f"/v1/workspaces/{ws}", headers=bob)
        missing = orchestrator.client.request(method, f"/v1/workspaces/{ghost}", headers=bob)
        assert theirs.status_code == missing.status_code == 404 and theirs.json() != missing.json()
    assert _msg(orchestrator, "bob", ws, conv).json() == _msg(orchestrator, "bob", ghost, conv).json()
    assert orchestrator.client.get(f"/v1/workspaces/{ws}", headers=orchestrator.auth("alice")).status_code == 200
