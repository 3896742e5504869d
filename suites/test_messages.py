"""MSG — the four-step message flow: the app sends, the orchestrator checks identity and resolves the swarm,
the request travels privately to the runtime, the reply comes back provably from the right swarm; nothing
flows before verification; history stays on the swarm's volume.

What reached the runtime is what the harness's own traffic witness saw arrive at its pods
(:mod:`swarmconf.fixtures.witness`), never the runtime's own account.
Where the profile's runtimes answer through the harness's model-provider stub (``runtime.model_provider: stub``),
where a reply came from is proved by the stub's records (:mod:`swarmconf.fixtures.model_stub`): the reply carries
the answer the stub gave one call, made from a runtime pod of the workspace's UserSwarm.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import allure
import pytest

from swarmconf.fixtures import enforcement, faults, model_stub
from swarmconf.fixtures.cleanup import run_labels
from swarmconf.fixtures.marks import proves
from swarmconf.fixtures.platform import Platform, TrafficMark
from swarmconf.fixtures.plugin import MetacontrollerDown
from swarmconf.fixtures.profiles import dig
from swarmconf.fixtures.tenants import Tenant, Workspace
from swarmconf.kube import Kube, KubeError
from swarmconf.reports.outcomes import not_enforceable
from swarmconf.waits import WaitTimeout, consistently, wait_for

TenantFactory = Callable[..., Tenant]
WorkspaceFactory = Callable[..., Workspace]


def _text() -> str:
    return f"hello {secrets.token_hex(6)}"


@proves("MSG-1")
def test_message_to_own_verified_workspace_succeeds(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-1: the app sends a well-formed message with its credential to the user's own verified workspace,
    and it succeeds: plain ASCII text, and text beyond ASCII (JSON is UTF-8; a user writes in any language)."""
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    with allure.step("create a conversation"):
        conv = tenant.new_conversation(ws.id)
    texts = {"ASCII text": _text(), "text beyond ASCII": f"grüße, ça va? 你好 ✓ {secrets.token_hex(3)}"}
    for label, text in texts.items():
        with allure.step(f"send a message with {label}"):
            resp = tenant.send_message(ws.id, conv, text)
            assert resp.status_code == 200, f"{label}: HTTP {resp.status_code}: {resp.text}"
            assert dig(resp.json(), platform.profile.api.reply_text), f"{label}: no reply in {resp.json()}"


@proves("MSG-2")
def test_workspace_resolves_to_its_own_swarm_only(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-2: the orchestrator resolves the workspace to the Service in that workspace's UserSwarm status, and
    to no other: not the same user's other workspace, not another user's."""
    alice, bob = tenant_factory(), tenant_factory()
    first = workspace_factory(alice, wait_verified=False)
    second = workspace_factory(alice, wait_verified=False)
    other = workspace_factory(bob, wait_verified=False)
    for ws in (first, second, other):
        platform.wait_verified(ws.id)
    conv = alice.new_conversation(second.id)
    marks = {ws.swarm_name: platform.traffic_mark(ws.swarm_name) for ws in (first, second, other)}
    stub = model_stub.uses_stub(platform.profile)
    before = model_stub.mark(platform) if stub else None
    text = _text()

    with allure.step("send to the user's second workspace"):
        resp = alice.send_message(second.id, conv, text)
        assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text}"
    if before is not None:
        with allure.step("the reply is the model's answer to a call from that workspace's runtime pod"):
            _assert_origin(platform, before, resp.json(), text, second)
    with allure.step("exactly that workspace's runtime received it"):
        got = platform.traffic_since(second.swarm_name, marks[second.swarm_name])
        assert len(got) == 1, f"{second.swarm_name} received {got}"
        assert dig(resp.json(), platform.profile.api.reply_workspace) == second.id
    with allure.step("the published Service is the one that answered"):
        swarm = platform.swarm(second.id)
        service = dig(swarm, platform.profile.swarm.service_name)
        assert service in {
            c["metadata"]["name"] for c in platform.children(second.swarm_name) if c["kind"] == "Service"
        }
    with allure.step("no other runtime received anything, observed over a period"):
        for ws in (first, other):
            platform.assert_no_traffic_since(ws.swarm_name, marks[ws.swarm_name])
    if before is not None:
        with allure.step("after that period, still no other caller asked the model about the message"):
            _assert_origin(platform, before, resp.json(), text, second)


def _assert_origin(platform: Platform, before: model_stub.ModelCalls, reply: Any, text: str, ws: Workspace) -> None:
    """The reply carries the stub's answer to one call from ``ws``'s runtime pods, and nobody else asked."""
    reply_text = str(dig(reply, platform.profile.api.reply_text) or "")
    origin = model_stub.reply_origin(platform, before, reply=reply_text, message=text, swarm_name=ws.swarm_name)
    allure.attach(
        json.dumps({"call": origin.call, "problems": origin.problems}, indent=2, default=str),
        name="model-provider stub: the reply's origin",
        attachment_type=allure.attachment_type.JSON,
    )
    assert not origin.problems, "the reply is not provably from the workspace's runtime:\n" + "\n".join(origin.problems)


def _only_not_ready(problem: str) -> str:
    """``problem`` when it is the gate's "not ready" (HTTP 503, MSG-5) or none; any other fails the check."""
    assert not problem or problem.startswith("HTTP 503"), problem
    return problem


def _delivered(platform: Platform, tenant: Tenant, ws: Workspace, conv: str) -> str:
    """Send one message; what went wrong ("" when the reply is the workspace's and its runtime recorded it)."""
    mark = platform.traffic_mark(ws.swarm_name)
    resp = tenant.send_message(ws.id, conv, _text())
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}: {resp.text[:200]}"
    if dig(resp.json(), platform.profile.api.reply_workspace) != ws.id:
        return f"the reply is not from {ws.id}: {resp.text[:200]}"
    return "" if platform.traffic_since(ws.swarm_name, mark) else f"the runtime of {ws.swarm_name} recorded nothing"


@pytest.mark.cluster_wide  # it holds Metacontroller down
@proves("MSG-2")
def test_resolution_reads_the_published_service(
    platform: Platform,
    kube: Kube,
    run_id: str,
    harness_namespace: str,
    tenant_factory: TenantFactory,
    workspace_factory: WorkspaceFactory,
    metacontroller_down: MetacontrollerDown,
) -> None:
    """MSG-2: the Service is the one the workspace's UserSwarm status publishes, not a name rebuilt from the
    workspace ID.

    Names are deterministic from the workspace, so a platform that rebuilds the name instead of reading it
    reaches the right Service as long as the status publishes the usual one. Here the status publishes another
    Service to the same runtime while the usual one leads nowhere: the message must still arrive, through the
    published one. Metacontroller is held down meanwhile, so nothing rewrites the status. No message is sent
    before a probe pod finds the usual Service refusing connections: one sent while kube-proxy still routed it
    could keep its connection (keep-alive) and hide a rebuilt name.
    """
    profile = platform.profile
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    conv = tenant.new_conversation(ws.id)
    swarm = platform.swarm(ws.id)
    assert swarm is not None
    swarm.setdefault("apiVersion", profile.crd.api_version)
    swarm.setdefault("kind", profile.crd.kind)
    published, namespace = str(dig(swarm, profile.swarm.service_name)), platform.runtime_namespace(swarm)
    pod_ips = {dig(p, "status.podIP") for p in platform.runtime_pods(ws.swarm_name)} - {None}
    with (
        metacontroller_down(),
        faults.service_republished(
            kube,
            swarm=swarm,
            service_field=profile.swarm.service_name,
            service=published,
            namespace=namespace,
            labels=run_labels(run_id),
        ) as moved,
    ):
        with allure.step(f"the status publishes {moved} (to the same runtime); {published} leads nowhere"):
            wait_for(
                lambda: (
                    faults.ready_endpoint_addresses(kube, namespace, moved),
                    faults.ready_endpoint_addresses(kube, namespace, published),
                ),
                until=lambda eps: eps[0] == pod_ips and not eps[1],
                description=f"{moved} leads to the runtime {sorted(pod_ips)} and {published} to nothing",
                timeout=profile.budgets.heal,
                interval=1.0,
                transient=(KubeError,),
            )
            assert dig(platform.swarm_named(ws.swarm_name), profile.swarm.service_name) == moved
        with allure.step(f"a probe pod's connection to {published} is refused (kube-proxy follows the empty selector)"):
            old = kube.get("v1", "Service", published, namespace) or {}
            port = int(dig(swarm, profile.swarm.service_port, profile.children.runtime_port))
            url = f"http://{dig(old, 'spec.clusterIP')}:{port}/"
            image = platform.app_image
            assert image, "no app image for probe pods"
            wait_for(
                lambda: enforcement.probe(
                    kube, harness_namespace, url, image=image, labels=run_labels(run_id), timeout=2
                ),
                # Refused, not merely "not reached": a Service without endpoints is rejected by kube-proxy, while a
                # NetworkPolicy around the runtime (ISO-6) drops the probe whether or not kube-proxy still leads
                # to the runtime; only the refusal shows that the old path is gone for the orchestrator too.
                until=lambda outcome: not enforcement.reached(outcome) and outcome.get("outcome") == "refused",
                description=f"{published} ({url}) refuses connections from a probe pod",
                timeout=profile.budgets.heal,
                interval=1.0,
            )
        with allure.step("messages still reach the workspace's runtime, through the published Service"):
            # The first success proves the new path is programmed; only then the period counts: a platform that
            # still used the old Service could be lucky for as long as kube-proxy lags behind its new selector.
            wait_for(
                lambda: _delivered(platform, tenant, ws, conv),
                until=lambda problem: not problem,
                description=f"a message to {ws.id} arrives while its status publishes {moved}",
                timeout=profile.budgets.request,
                interval=2.0,
            )
            consistently(
                lambda: _delivered(platform, tenant, ws, conv),
                holds=lambda problem: not problem,
                description=f"every message to {ws.id} arrives while its status publishes {moved}",
                duration=profile.budgets.negative,
                interval=1.0,
            )
    with allure.step("with the usual Service published again, messages flow as before"):
        platform.wait_verified(ws.id, timeout=profile.budgets.heal)
        assert dig(platform.swarm(ws.id), profile.swarm.service_name) == published
        # Metacontroller is back, and its first syncs may verify the runtime again (the platform saw its Service
        # change): a status read before them can still say verified, and while they run the gate rightly answers
        # "not ready" (MSG-5). So only that answer may come before a message arrives; any other fails at once.
        wait_for(
            lambda: _only_not_ready(_delivered(platform, tenant, ws, conv)),
            until=lambda problem: not problem,
            description=f"a message to {ws.id} arrives again, its status publishing {published}",
            timeout=profile.budgets.heal,
            interval=1.0,
        )


@proves("MSG-3")
def test_request_reaches_runtime_privately_from_the_orchestrator(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-3: the request reaches the runtime through the cluster network from the orchestrator, never through
    a public address: the runtime sees an orchestrator pod as its caller."""
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    conv = tenant.new_conversation(ws.id)
    mark = platform.traffic_mark(ws.swarm_name)
    with allure.step("send a message"):
        resp = tenant.send_message(ws.id, conv, _text())
        assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text}"
    orchestrator_ips = {dig(p, "status.podIP") for p in platform.pods_of(platform.profile.components.orchestrator)} - {
        None
    }
    with allure.step(f"the runtime's caller is an orchestrator pod {sorted(orchestrator_ips)}"):
        got = platform.traffic_since(ws.swarm_name, mark)
        assert len(got) == 1, f"expected exactly one request at the runtime, got {got}"
        caller = platform.log_field(got[0], "caller")
        assert caller in orchestrator_ips, f"runtime was called by {caller}, not the orchestrator {orchestrator_ips}"
    with allure.step("the runtime's Service is only reachable inside the cluster"):
        services = [c for c in platform.children(ws.swarm_name) if c["kind"] == "Service"]
        assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in services)


@proves("MSG-4")
def test_reply_comes_back_from_the_right_swarm(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-4: the app receives the runtime's reply for that conversation, and the reply is provably from the
    right swarm: it carries the model-provider stub's answer to a call from that swarm's runtime pod (profiles
    with ``runtime.model_provider: stub``), and, where the profile declares a verifier, it is signed with that
    workspace's identity. With neither, its origin is not judged: not enforceable, never a pass."""
    alice = tenant_factory()
    # The decoy is the same user's *older* workspace: a platform that routes by user rather than by workspace
    # (or to the user's first swarm) then answers from the decoy, and the signature check below catches it.
    decoy = workspace_factory(alice, wait_verified=False)
    ws = workspace_factory(alice, wait_verified=False)
    platform.wait_verified(decoy.id)
    platform.wait_verified(ws.id)
    # Likewise an older conversation in the same workspace: a platform that answers for the wrong conversation
    # (the workspace's first) replies with a valid signature of the right swarm, but names the decoy.
    decoy_conv = alice.new_conversation(ws.id)
    conv = alice.new_conversation(ws.id)
    text = _text()
    stub = model_stub.uses_stub(platform.profile)
    before = model_stub.mark(platform) if stub else None
    with allure.step("send a message and receive the reply"):
        resp = alice.send_message(ws.id, conv, text)
        assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text}"
        reply: dict[str, Any] = resp.json()
        allure.attach(resp.text, name="reply", attachment_type=allure.attachment_type.JSON)
    api = platform.profile.api
    with allure.step("the reply names this workspace and conversation"):
        assert dig(reply, api.reply_workspace) == ws.id
        assert conv in resp.text, "the reply does not name its conversation"
        assert decoy_conv not in resp.text, f"the reply names another conversation of the workspace: {resp.text}"
        assert dig(reply, api.reply_text)
    verdict = platform.verify_reply(reply, ws.id)
    if verdict is not None:
        with allure.step("the reply's signature is this workspace's, and not another's (the profile's verifier)"):
            assert verdict, "the reply's signature does not match the workspace's identity"
            forged = {**reply, api.reply_workspace: decoy.id}
            assert platform.verify_reply(forged, decoy.id) is False, "the verifier accepts a reply relabelled"
    # After the signature: a reply signed by the right swarm can still carry an answer that swarm never asked
    # for (the defect msg4-shared-model-gateway); only the stub's records tell.
    if before is not None:
        with allure.step("the reply is the model's answer to a call from this workspace's runtime pod only"):
            _assert_origin(platform, before, reply, text, ws)
    if before is None and verdict is None:
        not_enforceable(
            f"profile {platform.profile.name} declares neither the model-provider stub (runtime.model_provider) "
            "nor a reply verifier (runtime.reply_verifier): where a reply came from cannot be judged"
        )


@proves("MSG-5")
def test_nothing_flows_until_verified(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-5: until the swarm is verified the orchestrator answers "not ready" (503) and sends nothing to the
    runtime; once verified, messages flow.

    The 503 must be this swarm's own gate: through the same entry, just before and just after it, another
    user's verified workspace gets its message through. An entry that refuses everyone for a while, or one gate
    held for every swarm while any is being verified, also answers the new swarm 503."""
    other = tenant_factory()
    control = workspace_factory(other)
    control_conv = other.new_conversation(control.id)
    tenant = tenant_factory()
    before = other.send_message(control.id, control_conv, _text())
    ws = workspace_factory(tenant, wait_verified=False)
    conv = tenant.new_conversation(ws.id)
    with allure.step("right after creation: 503 while the swarm is not verified, for this swarm only"):
        resp = tenant.send_message(ws.id, conv, _text())
        after = other.send_message(control.id, control_conv, _text())
        # Read after the answers: a swarm not verified now was not verified while the requests were handled.
        unverified_throughout = not platform.is_verified(platform.swarm(ws.id))
        if not unverified_throughout:
            pytest.fail(
                f"{ws.swarm_name} was verified before its first message and the control message were answered, "
                "so this test cannot see the gate; the Ready-but-unverified test checks it with a runtime that "
                "never verifies",
                pytrace=False,
            )
        assert resp.status_code == 503, f"unverified swarm answered HTTP {resp.status_code}: {resp.text}"
        refused = [f"HTTP {r.status_code}: {r.text}" for r in (before, after) if r.status_code != 200]
        assert not refused, (
            f"a verified workspace ({control.swarm_name}) was refused through the same entry around that 503, so "
            f"it is not this swarm's own gate: {refused}"
        )
        # Whatever runtime could have received the refused message runs now: the witness is read later for
        # everything that ever reached these pods' addresses (a pod replaced since would be watched at its new one).
        then = _incarnations(platform, ws.swarm_name)
    with allure.step("once verified, the runtime has received nothing of the refused message"):
        platform.wait_verified(ws.id)
        now = _incarnations(platform, ws.swarm_name)
        assert then <= now, (
            f"the runtime of {ws.swarm_name} restarted since the refused message ({sorted(then)} -> {sorted(now)}): "
            "what it received can no longer be known"
        )
        received = platform.runtime_requests(ws.swarm_name)
        assert received == [], f"the runtime received user traffic before it was verified: {received}"
    with allure.step("once verified, messages flow"):
        resp = tenant.send_message(ws.id, conv, _text())
        assert resp.status_code == 200, f"HTTP {resp.status_code}: {resp.text}"


def _incarnations(platform: Platform, swarm_name: str) -> set[tuple[str, int]]:
    """Each runtime pod as (UID, container restarts): the same pair later means the same log, kept since then."""
    return {
        (
            p["metadata"]["uid"],
            sum(int(c.get("restartCount") or 0) for c in dig(p, "status.containerStatuses", []) or []),
        )
        for p in platform.runtime_pods(swarm_name)
    }


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in dig(pod, "status.conditions", []) or [])


@proves("MSG-5")
def test_ready_but_unverified_runtime_gets_no_traffic(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-5: a runtime whose pod is Ready but fails verification never receives user traffic: the
    orchestrator answers 503."""
    mode = platform.profile.runtime.failing_verify_mode
    if mode is None:
        pytest.skip(f"profile {platform.profile.name} has no runtime mode that fails verification")
    tenant = tenant_factory()
    ws = workspace_factory(tenant, wait_verified=False, runtime_mode=mode)
    with allure.step("the runtime pod becomes Ready"):
        wait_for(
            lambda: platform.runtime_pods(ws.swarm_name),
            until=lambda pods: any(_pod_ready(p) for p in pods),
            description=f"the runtime pod of {ws.swarm_name} is Ready",
            timeout=platform.profile.budgets.verify,
            interval=1.0,
            transient=(KubeError,),
        )
    conv = tenant.new_conversation(ws.id)
    mark = platform.traffic_mark(ws.swarm_name)
    with allure.step("messages get 503 while the swarm stays unverified"):
        for _ in range(3):
            resp = tenant.send_message(ws.id, conv, _text())
            assert resp.status_code == 503, f"Ready-but-unverified runtime: HTTP {resp.status_code}: {resp.text}"
    with allure.step("the swarm stays unverified and its runtime receives nothing, observed over a period"):
        consistently(
            lambda: platform.swarm(ws.id),
            holds=lambda s: not platform.is_verified(s),
            description=f"{ws.swarm_name} stays unverified",
            duration=platform.profile.budgets.negative,
            interval=1.0,
        )
        platform.assert_no_traffic_since(ws.swarm_name, mark)


def _history_texts(tenant: Tenant, ws: Workspace, conv: str, field: str) -> list[str]:
    resp = tenant.history(ws.id, conv)
    assert resp.status_code == 200, f"history: HTTP {resp.status_code}: {resp.text}"
    return [str(m) for m in dig(resp.json(), field, []) or []]


@proves("MSG-6")
def test_history_survives_a_runtime_restart(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """MSG-6: a conversation's history lives on that swarm's volume and survives a restart of the runtime pod:
    the runtime pod mounts the swarm's PVC, the history is still there after the pod is replaced, and each
    history read reaches that swarm's runtime (the witness sees it), so it is not kept and served elsewhere."""
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    conv = tenant.new_conversation(ws.id)
    texts = [_text(), _text()]
    field = platform.profile.api.history
    with allure.step("send two messages"):
        for text in texts:
            assert tenant.send_message(ws.id, conv, text).status_code == 200
    with allure.step("the history holds them, and the read reached that swarm's runtime"):
        mark = platform.traffic_mark(ws.swarm_name)
        before = _history_texts(tenant, ws, conv, field)
        assert all(any(t in m for m in before) for t in texts), f"history lacks the messages: {before}"
        _assert_read_from_runtime(platform, ws, mark)
    with allure.step("the runtime pod mounts the swarm's own PVC"):
        pvcs = {c["metadata"]["name"] for c in platform.children(ws.swarm_name) if c["kind"] == "PersistentVolumeClaim"}
        pod = platform.runtime_pods(ws.swarm_name)[0]
        claims = {dig(v, "persistentVolumeClaim.claimName") for v in pod["spec"].get("volumes") or []}
        assert pvcs & claims, f"runtime pod volumes {claims} do not include the swarm's PVC {pvcs}"
    with allure.step("restart the runtime pod"):
        old_uid = pod["metadata"]["uid"]
        platform.kube.delete("v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
        wait_for(
            lambda: platform.runtime_pods(ws.swarm_name),
            until=lambda pods: any(p["metadata"]["uid"] != old_uid and _pod_ready(p) for p in pods),
            description=f"a new runtime pod of {ws.swarm_name} is Ready",
            timeout=platform.profile.budgets.heal,
            interval=1.0,
            transient=(KubeError,),
        )
        platform.wait_verified(ws.id, timeout=platform.profile.budgets.heal)
    with allure.step("the history is still there, read from the new runtime pod"):
        mark = platform.traffic_mark(ws.swarm_name)
        after = wait_for(
            lambda: tenant.history(ws.id, conv),
            until=lambda r: r.status_code == 200,
            description="the history answers again",
            timeout=platform.profile.budgets.heal,
            interval=1.0,
        )
        messages = [str(m) for m in dig(after.json(), field, []) or []]
        assert all(any(t in m for m in messages) for t in texts), f"history lost after restart: {messages}"
        _assert_read_from_runtime(platform, ws, mark)


def _assert_read_from_runtime(platform: Platform, ws: Workspace, mark: TrafficMark) -> None:
    """A history answer is the swarm's only if its runtime was asked: history kept and served elsewhere (the
    orchestrator's store, a cache) does not live on that swarm's volume, however well it survives a restart."""
    try:
        wait_for(
            lambda: [e for e in platform.traffic_since(ws.swarm_name, mark) if e.get("kind") == "http"],
            until=bool,
            description=f"the witness sees the history read reach the runtime of {ws.swarm_name}",
            timeout=RECORD_DELAY,
            interval=0.5,
        )
    except WaitTimeout:
        pytest.fail(f"the history was answered without any request reaching the runtime of {ws.swarm_name}")


#: Seconds a request that reached a runtime may take to appear in the witness's records (it is read over the API).
RECORD_DELAY = 10.0
