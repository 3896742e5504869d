"""LIF — lifecycle: creation yields exactly one UserSwarm that becomes verified in time; deleted children
come back; invalid input is refused clearly and never destroys what exists."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import allure
import httpx

from swarmconf import waits
from swarmconf.fixtures.marks import proves
from swarmconf.fixtures.platform import Platform, PlatformError
from swarmconf.fixtures.profiles import dig, nest
from swarmconf.fixtures.tenants import Tenant, Workspace
from swarmconf.kube import KubeError
from swarmconf.waits import consistently, wait_for

TenantFactory = Callable[..., Tenant]
WorkspaceFactory = Callable[..., Workspace]


def _swarms_of(platform: Platform, user_id: str) -> list[dict[str, Any]]:
    return [s for s in platform.swarms() if dig(s, platform.profile.swarm.user) == user_id]


@proves("LIF-1")
def test_workspace_creates_one_swarm_verified_in_time(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """LIF-1: creating a workspace creates exactly one UserSwarm with the expected owner and names, and its
    status reaches verified within the profile's time budget.

    What is expected comes from outside the UserSwarm: the owner is the user who asked, the workspace ID is the
    one the API returned, and the budget runs from the create request to the verified status."""
    profile = platform.profile
    budget = profile.budgets.verify
    tenant = tenant_factory()
    started = time.monotonic()
    with allure.step("create the workspace"):
        ws = workspace_factory(tenant, wait_verified=False)
    with allure.step("exactly one UserSwarm, found by its owner, naming the workspace the API returned"):
        swarms = _swarms_of(platform, tenant.user_id)
        assert len(swarms) == 1, f"UserSwarms owned by {tenant.user_id}: {[s['metadata']['name'] for s in swarms]}"
        swarm = swarms[0]
        assert dig(swarm, profile.swarm.workspace) == ws.id, f"the user's UserSwarm serves {dig(swarm, 'spec')}"
        serving = [s["metadata"]["name"] for s in platform.swarms() if dig(s, profile.swarm.workspace) == ws.id]
        assert serving == [swarm["metadata"]["name"]], f"UserSwarms serving workspace {ws.id}: {serving}"
    with allure.step(f"verified within {budget}s of the create request"):
        swarm = platform.wait_verified(ws.id, timeout=budget)
        elapsed, limit = time.monotonic() - started, budget * waits.TIMEOUT_SCALE
        allure.attach(f"{elapsed:.1f}s (budget {limit:.0f}s)", name="time to verified")
        assert elapsed <= limit, f"verified {elapsed:.1f}s after the create request, beyond the budget of {limit:.0f}s"
    with allure.step("the status publishes a Service that is one of its children, in the runtime namespace"):
        service = dig(swarm, profile.swarm.service_name)
        children = platform.children(ws.swarm_name)
        assert service in {c["metadata"]["name"] for c in children if c["kind"] == "Service"}
        assert {c["metadata"]["namespace"] for c in children} == {profile.runtime_namespace}
    with allure.step("the API reports the workspace verified"):
        body = tenant.get_workspace(ws.id).json()
        assert dig(body, profile.api.verified) is True, f"API view: {body}"
    with allure.step("still exactly one UserSwarm, observed over a period"):
        consistently(
            lambda: [s["metadata"]["name"] for s in _swarms_of(platform, tenant.user_id)],
            holds=lambda names: names == [ws.swarm_name],
            description=f"{tenant.user_id} has exactly one UserSwarm",
            duration=profile.budgets.negative,
            interval=1.0,
        )


def _recreated(platform: Platform, ws: Workspace, kind: str, old_uid: str, name: str) -> None:
    wait_for(
        lambda: platform.children(ws.swarm_name) if kind != "Pod" else platform.runtime_pods(ws.swarm_name),
        until=lambda objs: any(
            o["metadata"]["name"] == name and o["metadata"]["uid"] != old_uid and o.get("kind", "Pod") == kind
            for o in objs
        ),
        description=f"{kind} {name} of {ws.swarm_name} is recreated",
        timeout=platform.profile.budgets.heal,
        interval=1.0,
        transient=(KubeError,),
    )


#: Children LIF-2 does not delete, and why: deleting the claim would destroy the data MSG-6 and DEL-5 protect
#: (a platform need not, and should not, heal a volume by making an empty one).
NOT_DELETED = {"PersistentVolumeClaim": "its data would be destroyed, not healed"}


@proves("LIF-2")
def test_deleted_children_are_recreated(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """LIF-2: a deleted child is recreated by the controller, whichever it is (each Service, the ConfigMap, the
    ServiceAccount, the StatefulSet, any other child kind of the profile, the runtime pod; not the data's claim),
    and the workspace returns to verified and answers again."""
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    conv = tenant.new_conversation(ws.id)
    children = platform.children(ws.swarm_name)
    victims = [c for c in children if c["kind"] not in NOT_DELETED]
    # The StatefulSet last of the children (its pods go with it), then the runtime pod of the new one.
    victims.sort(key=lambda c: c["kind"] == "StatefulSet")
    kinds = {c["kind"] for c in victims}
    assert kinds >= {"Service", "ConfigMap", "ServiceAccount", "StatefulSet"}, f"children: {children}"
    allure.attach(
        json.dumps({"deleted in turn": [f"{c['kind']}/{c['metadata']['name']}" for c in victims], **NOT_DELETED}),
        name="LIF-2 victims",
        attachment_type=allure.attachment_type.JSON,
    )
    for victim in victims:
        meta = victim["metadata"]
        with allure.step(f"delete {victim['kind']} {meta['name']} and see it come back"):
            platform.kube.delete(victim["apiVersion"], victim["kind"], meta["name"], meta["namespace"])
            _recreated(platform, ws, victim["kind"], meta["uid"], meta["name"])
    pod = wait_for(
        lambda: platform.runtime_pods(ws.swarm_name),
        until=bool,
        description=f"{ws.swarm_name} has a runtime pod again",
        timeout=platform.profile.budgets.heal,
        interval=1.0,
        transient=(KubeError,),
    )[0]
    with allure.step(f"delete the runtime pod {pod['metadata']['name']} and see it come back"):
        platform.kube.delete("v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"])
        _recreated(platform, ws, "Pod", pod["metadata"]["uid"], pod["metadata"]["name"])
    with allure.step("the workspace is verified again and messages flow"):
        platform.wait_verified(ws.id, timeout=platform.profile.budgets.heal)
        resp = wait_for(
            lambda: tenant.send_message(ws.id, conv, "after healing"),
            until=lambda r: r.status_code == 200,
            description="a message succeeds after healing",
            timeout=platform.profile.budgets.heal,
            interval=1.0,
        )
        assert resp.status_code == 200


def _snapshot(platform: Platform, ws: Workspace) -> dict[str, str]:
    return {f"{c['kind']}/{c['metadata']['name']}": c["metadata"]["uid"] for c in platform.children(ws.swarm_name)}


def _restore_patch(patch: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that puts back what ``patch`` changed in ``original``."""
    out: dict[str, Any] = {}
    for key, value in patch.items():
        before = original.get(key) if isinstance(original, dict) else None
        out[key] = (
            _restore_patch(value, before or {}) if isinstance(value, dict) and isinstance(before, dict) else before
        )
    return out


@proves("LIF-3")
def test_invalid_input_is_rejected_and_destroys_nothing(
    platform: Platform, tenant_factory: TenantFactory, workspace_factory: WorkspaceFactory
) -> None:
    """LIF-3: invalid input to the platform (invalid workspace requests, malformed UserSwarm specs) is rejected
    with a clear error and never destroys existing children or data."""
    profile = platform.profile
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    conv = tenant.new_conversation(ws.id)
    marker = f"keep {secrets.token_hex(6)}"
    assert tenant.send_message(ws.id, conv, marker).status_code == 200
    before = _snapshot(platform, ws)

    invalid_requests = {
        "not JSON": b"{not json",
        "a JSON list": b"[]",
        "an unknown runtime mode": json.dumps(nest(profile.api.runtime_mode, "no-such-mode")).encode(),
        "a wrongly typed runtime": json.dumps(nest(profile.api.runtime_mode.split(".")[0], 42)).encode(),
    }
    route = profile.routes.create_workspace
    for label, body in invalid_requests.items():
        with allure.step(f"create a workspace with {label}: a 4xx with an explanation, no UserSwarm"):
            resp = tenant.client.request(
                route.method, route.url(), content=body, headers={"Content-Type": "application/json"}
            )
            if resp.status_code < 300:  # accepted by mistake: remove what it made before failing
                _delete_created(tenant, str(dig(resp.json(), profile.api.workspace_id, "")))
            assert 400 <= resp.status_code < 500, f"{label}: HTTP {resp.status_code}: {resp.text}"
            assert resp.text.strip(), f"{label}: the rejection carries no explanation"
    assert [s["metadata"]["name"] for s in _swarms_of(platform, tenant.user_id)] == [ws.swarm_name]

    crd = profile.crd
    _harness_may_patch(platform, ws.swarm_name)
    for patch in profile.swarm.all_invalid_patches():
        with allure.step(f"patch the UserSwarm with {patch}: refused or reported, and nothing destroyed"):
            original = platform.swarm_named(ws.swarm_name) or {}
            try:
                patched = platform.kube.patch(crd.api_version, crd.kind, ws.swarm_name, patch)
            except KubeError as exc:
                if exc.status in (401, 403) and "cannot patch resource" in str(exc):
                    raise HarnessForbidden(f"the API server refused the harness itself, not the spec: {exc}") from exc
                assert 400 <= exc.status < 500 and str(exc), f"patch refused without a clear error: {exc}"
            else:
                try:
                    _reported_invalid(platform, ws, patch, int(dig(patched, "metadata.generation", 0)))
                    _children_kept(platform, ws, before)
                finally:
                    platform.kube.patch(crd.api_version, crd.kind, ws.swarm_name, _restore_patch(patch, original))
    with allure.step("after the invalid input: verified again, the same children, the history intact"):
        platform.wait_verified(ws.id, timeout=profile.budgets.heal)
        assert _snapshot(platform, ws) == before
        history = tenant.history(ws.id, conv)
        assert history.status_code == 200 and marker in history.text, f"history lost: {history.text}"


class HarnessForbidden(PlatformError):
    """The harness's own credentials may not patch the UserSwarm: a refusal then proves nothing about the spec."""


def _harness_may_patch(platform: Platform, name: str) -> None:
    """Fail as an infrastructure error unless RBAC lets the harness patch this UserSwarm (so that a 403 to an
    invalid patch is the platform's answer to the spec, an admission policy's, never the harness's RBAC)."""
    crd = platform.profile.crd
    attrs = {"verb": "patch", "group": crd.group, "resource": crd.plural, "name": name}
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": attrs},
    }
    if not dig(platform.kube.create(review), "status.allowed"):
        raise HarnessForbidden(f"the harness may not patch {crd.plural}/{name}: LIF-3's malformed specs prove nothing")


def _delete_created(tenant: Tenant, workspace_id: str) -> None:
    """Delete a workspace an invalid request made (best effort: the failure that follows is what counts)."""
    if workspace_id:
        with contextlib.suppress(httpx.HTTPError):
            tenant.delete_workspace(workspace_id)


def _reported_invalid(platform: Platform, ws: Workspace, patch: dict[str, Any], generation: int) -> None:
    """Wait until the status, reconciled from the invalid spec, says in words which field is wrong.

    The field's name must appear in a status *value* (a message, a condition's message or reason): status
    keys such as ``userId`` are there whatever the spec holds. Where the status carries
    ``observedGeneration``, it must have reached the invalid spec's generation, so an explanation left
    from before cannot count.
    """
    leaf = _leaf_key(patch)

    def explains(swarm: dict[str, Any] | None) -> bool:
        status = dig(swarm or {}, "status", {}) or {}
        observed = status.get("observedGeneration")
        if observed is not None and int(observed) < generation:
            return False
        return any(leaf in text for text in _status_texts(status))

    wait_for(
        lambda: platform.swarm_named(ws.swarm_name),
        until=explains,
        description=f"the UserSwarm status (observedGeneration >= {generation}) explains the invalid {leaf}",
        timeout=platform.profile.budgets.heal,
        interval=1.0,
        transient=(KubeError,),
    )


def _status_texts(value: Any) -> list[str]:
    """Every string value in a status (keys left out)."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in _status_texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _status_texts(item)]
    return [value] if isinstance(value, str) else []


def _children_kept(platform: Platform, ws: Workspace, before: dict[str, str]) -> None:
    consistently(
        lambda: _snapshot(platform, ws),
        holds=lambda now: all(now.get(key) == uid for key, uid in before.items()),
        description=f"every child of {ws.swarm_name} stays (same UIDs) while its spec is invalid",
        duration=platform.profile.budgets.negative,
        interval=1.0,
    )


def _leaf_key(patch: dict[str, Any]) -> str:
    key, value = next(iter(patch.items()))
    return _leaf_key(value) if isinstance(value, dict) and value else key
