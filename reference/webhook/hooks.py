"""The sync and finalize hooks (Metacontroller's request in, response out)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from anyio import to_thread

from swarmconf.reference.common import labels as L
from swarmconf.reference.common.defects import MODEL_GATEWAY_PATH, Defect, Fault, Switches, SwitchReader
from swarmconf.reference.common.names import child_names, overreach_binding, overreach_role
from swarmconf.reference.common.settings import WebhookSettings
from swarmconf.reference.webhook.children import Shape, desired_children
from swarmconf.reference.webhook.kube import ClusterActions, KubeActionError
from swarmconf.reference.webhook.observed import Child, echo, is_terminating, iter_children, key_of
from swarmconf.reference.webhook.spec import InvalidSpec, SwarmSpec, parse_spec
from swarmconf.reference.webhook.status import Observation, build_status
from swarmconf.reference.webhook.teardown import plan_teardown
from swarmconf.reference.webhook.verify import Verifier

__all__ = ["HookFault", "Hooks"]

log = logging.getLogger(__name__)
HANG_SECONDS = 30.0
DEFECT_LABEL = "crawbl.ai/defect"
"""On objects only a defect makes (the RoleBindings of ``iso7-automount-token``): the defect's name."""
OVERREACH_SELECTOR = f"{DEFECT_LABEL}={Defect.ISO7_AUTOMOUNT_TOKEN.value}"


class HookFault(Exception):
    """An injected fault: the hook must answer HTTP 500."""


def _parse_time(value: Any) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Hooks:
    """Sync and finalize for UserSwarms, with their collaborators passed in."""

    def __init__(
        self,
        *,
        settings: WebhookSettings,
        switches: SwitchReader,
        verifier: Verifier,
        cluster: ClusterActions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings, self._switches, self._verifier = settings, switches, verifier
        self._cluster, self._clock = cluster, clock
        self._overreach_swept = False  # bindings of iso7-automount-token removed since it was last on (or start)
        self._base_shape = Shape(
            runtime_image=settings.runtime_image,
            identity_root_key=settings.identity_root_key.get_secret_value().encode(),
            model_provider_url=settings.model_provider_url,
            hashed_names=settings.hashed_names,
            runtime_debug_endpoints=settings.runtime_debug_endpoints,
            runtime_reply_signatures=settings.runtime_reply_signatures,
        )

    async def current_switches(self) -> Switches:
        """The active defect and fault (cached API read)."""
        return await to_thread.run_sync(self._switches.current)

    # ---- sync -------------------------------------------------------------------------------------------------

    async def sync(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Desired children and status for one UserSwarm."""
        parent = request.get("parent") or {}
        swarm = str(parent.get("metadata", {}).get("name", ""))
        previous = parent.get("status") or {}
        observed = list(iter_children(request.get("children")))
        switches = await self.current_switches()
        try:
            spec = parse_spec(parent.get("spec"), allowed_namespace=self._settings.runtime_namespace)
        except InvalidSpec as exc:
            return self._invalid(str(exc), observed, previous)
        desired = desired_children(swarm=swarm, spec=spec, shape=self.shape(switches))
        desired = await self._adjust(desired, observed, previous, switches)
        observation = await self._observe(spec, observed, desired, previous, switches)
        resync = (
            self._settings.verified_resync_seconds if observation.verified else self._settings.pending_resync_seconds
        )
        return {"status": build_status(observation, previous), "children": desired, "resyncAfterSeconds": resync}

    def shape(self, switches: Switches) -> Shape:
        """The children's shape under the active defect."""
        return replace(
            self._base_shape,
            with_user_label=not switches.has(Defect.ISO3_MISSING_USER_LABEL),
            service_type="NodePort" if switches.has(Defect.ISO1_NODEPORT_SERVICE) else "ClusterIP",
            external_ips=(
                (self._settings.node_ip,) if switches.has(Defect.ISO2_EXTERNAL_IP) and self._settings.node_ip else ()
            ),
            automount_token=switches.has(Defect.ISO7_AUTOMOUNT_TOKEN),
            ingress_platform_only=not switches.has(Defect.ISO6_OPEN_INGRESS),
            history_on_pvc=not switches.has(Defect.MSG6_HISTORY_ON_EMPTYDIR),
            sidecar_host_port=switches.has(Defect.ISO1_SIDECAR_HOST_PORT),
            model_provider_url=(
                f"http://orchestrator.{self._settings.platform_namespace}.svc:8080{MODEL_GATEWAY_PATH}"
                if switches.has(Defect.MSG4_SHARED_MODEL_GATEWAY) and self._base_shape.model_provider_url
                else self._base_shape.model_provider_url
            ),
        )

    def _invalid(self, message: str, observed: list[Child], previous: Mapping[str, Any]) -> dict[str, Any]:
        """A bad spec: report it, and keep every observed child exactly as it is (never an empty list)."""
        log.warning("invalid spec: %s", message)
        obs = Observation(
            phase="Invalid",
            message=message,
            ready=False,
            verified=False,
            ready_reason="InvalidSpec",
            verified_reason="InvalidSpec",
            service_name=previous.get("serviceName"),
            runtime_namespace=previous.get("runtimeNamespace"),
            service_port=previous.get("servicePort"),
            provisioned=bool(previous.get("provisioned")),
        )
        return {
            "status": build_status(obs, previous),
            "children": [echo(obj) for obj in observed],
            "resyncAfterSeconds": self._settings.verified_resync_seconds,
        }

    async def _adjust(
        self, desired: list[Child], observed: list[Child], previous: Mapping[str, Any], switches: Switches
    ) -> list[Child]:
        seen = {key_of(obj): obj for obj in observed}
        for child in desired:
            _carry_owner_references(child, seen.get(key_of(child)))
        if switches.has(Defect.RPR4_NAMESPACE_CO_OWNER):
            await self._add_namespace_owner([c for c in desired if key_of(c) not in seen])
        if switches.has(Defect.ISO7_AUTOMOUNT_TOKEN):
            await self._bind_overreach(desired, seen)
        else:
            await self._sweep_overreach()
        if switches.has(Defect.LIF2_NO_SELF_HEAL) and previous.get("provisioned"):
            desired = [child for child in desired if key_of(child) in seen]
        return desired

    async def _add_namespace_owner(self, new_children: list[Child]) -> None:
        if not new_children:
            return
        namespace = str(new_children[0]["metadata"]["namespace"])
        try:
            uid = await to_thread.run_sync(self._cluster.namespace_uid, namespace)
        except KubeActionError as exc:
            log.warning("co-owner defect skipped: %s", exc)
            return
        ref = {"apiVersion": "v1", "kind": "Namespace", "name": namespace, "uid": uid}
        for child in new_children:
            child["metadata"]["ownerReferences"] = [ref]

    async def _bind_overreach(self, desired: list[Child], seen: Mapping[tuple[str, str], Child]) -> None:
        """iso7-automount-token: bind the over-broad Role to the swarm's ServiceAccount once it exists.

        The binding is owned by the ServiceAccount (the garbage collector removes it with the swarm); creating it
        again is a no-op (409), and an API failure is logged and retried at the next sync.
        """
        self._overreach_swept = False
        account = next((c for c in desired if c.get("kind") == "ServiceAccount"), None)
        observed = seen.get(key_of(account)) if account is not None else None
        uid = ((observed or {}).get("metadata") or {}).get("uid")
        if account is None or not uid:
            return
        binding = overreach_role_binding(account, uid=str(uid), role=overreach_role(self._settings.platform_namespace))
        try:
            created = await to_thread.run_sync(self._cluster.create_role_binding, binding)
        except KubeActionError as exc:
            log.warning("overreach defect skipped: %s", exc)
            return
        if created:
            log.info("overreach defect: bound %s", binding["metadata"]["name"])

    async def _sweep_overreach(self) -> None:
        """Once after iso7-automount-token was on (and once at start): remove the bindings it made."""
        if self._overreach_swept:
            return
        self._overreach_swept = True  # best effort: a failure is logged, not retried at every sync
        try:
            await to_thread.run_sync(
                self._cluster.delete_role_bindings, self._settings.runtime_namespace, OVERREACH_SELECTOR
            )
        except KubeActionError as exc:
            log.warning("removing the overreach defect's RoleBindings failed: %s", exc)

    async def _observe(
        self,
        spec: SwarmSpec,
        observed: list[Child],
        desired: list[Child],
        previous: Mapping[str, Any],
        switches: Switches,
    ) -> Observation:
        names = child_names(spec.workspace_id, hashed=self._settings.hashed_names)
        seen = {key_of(obj): obj for obj in observed}
        sts = seen.get(("StatefulSet", names.statefulset)) or {}
        replicas = int((sts.get("status") or {}).get("readyReplicas") or 0)
        base = Observation(
            phase="Pending",
            message="waiting for the runtime pod",
            ready=False,
            verified=False,
            ready_reason="PodNotReady",
            verified_reason="NotReady",
            ready_replicas=replicas,
            service_name=names.service,
            runtime_namespace=spec.runtime_namespace,
            service_port=spec.runtime.port,
            workspace_id=spec.workspace_id,
            user_id=spec.user_id,
            provisioned=bool(previous.get("provisioned")) or all(key_of(c) in seen for c in desired),
        )
        if spec.suspend:
            return replace(
                base, phase="Suspended", message="suspended", ready_reason="Suspended", verified_reason="Suspended"
            )
        if replicas < 1 or ("Service", names.service) not in seen:
            return base
        base = replace(base, ready=True, ready_reason="PodReady")
        if switches.has(Defect.MSG5_VERIFIED_TOO_EARLY):
            return replace(base, phase="Running", message="ready", verified=True, verified_reason="PodReady")
        ok, detail = await self._verifier.verify(
            service=names.service,
            namespace=spec.runtime_namespace,
            port=spec.runtime.port,
            workspace_id=spec.workspace_id,
        )
        if ok:
            return replace(
                base, phase="Running", message="verified", verified=True, verified_reason="ChallengeAnswered"
            )
        return replace(base, phase="Verifying", message=detail, verified_reason="ChallengeFailed")

    # ---- finalize ---------------------------------------------------------------------------------------------

    async def finalize(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One step of the ordered teardown (see :mod:`.teardown`); ``finalized`` once no child is left."""
        parent = request.get("parent") or {}
        previous = parent.get("status") or {}
        observed = list(iter_children(request.get("children")))
        switches = await self.current_switches()
        partial = self._is_partial(parent, observed)
        await self._maybe_fail(switches.fault, partial)
        stale, calm = self._is_stale(parent), bool(observed) and not any(map(is_terminating, observed))
        if switches.has(Defect.RPR2_ABANDON_STALE_DELETION) and stale and calm and not partial:
            await self._orphan(observed)
            return self._finalize_response([echo(obj) for obj in observed], True, observed, previous)
        if switches.has(Defect.RPR3_RECREATE_ON_RESUME) and stale and calm and partial:
            return self._finalize_response(self._full_set(parent, observed, switches), False, observed, previous)
        keep, finalized = plan_teardown(observed)
        if finalized and switches.has(Defect.DEL5_TEARDOWN_DELETES_ALL_CONFIGMAPS):
            await self._delete_swarm_config_maps()
        if (
            switches.has(Defect.DEL3_FINALIZE_ORPHANS_PVC)
            and not keep
            and calm
            and all(obj.get("kind") == "PersistentVolumeClaim" for obj in observed)
        ):
            await self._orphan(observed)
            keep, finalized = [echo(obj) for obj in observed], True
        return self._finalize_response(keep, finalized, observed, previous)

    async def _delete_swarm_config_maps(self) -> None:
        """del5-teardown-deletes-all-configmaps: the last step selects by the swarm label's key, not its value,
        so every swarm's ConfigMap goes (the controller recreates the others' with new UIDs)."""
        try:
            await to_thread.run_sync(self._cluster.delete_config_maps, self._settings.runtime_namespace, L.SWARM)
        except KubeActionError as exc:
            log.warning("del5 defect skipped: %s", exc)

    def _is_partial(self, parent: Mapping[str, Any], observed: list[Child]) -> bool:
        """Some child of the swarm is already gone."""
        workspace_id = (parent.get("spec") or {}).get("workspaceId")
        if not isinstance(workspace_id, str) or not workspace_id:
            return 0 < len(observed) < 7
        names = child_names(workspace_id, hashed=self._settings.hashed_names)
        expected = {
            ("StatefulSet", names.statefulset),
            ("Service", names.service),
            ("Service", names.headless_service),
            ("PersistentVolumeClaim", names.pvc),
            ("ConfigMap", names.configmap),
            ("ServiceAccount", names.serviceaccount),
            ("Secret", names.secret),
        }
        return bool(observed) and not expected <= {key_of(obj) for obj in observed}

    def _is_stale(self, parent: Mapping[str, Any]) -> bool:
        since = _parse_time((parent.get("metadata") or {}).get("deletionTimestamp"))
        return since is not None and self._clock() - since >= self._settings.stale_deletion_seconds

    async def _maybe_fail(self, fault: Fault | None, partial: bool) -> None:
        if fault is Fault.FINALIZE_ERROR or (fault is Fault.FINALIZE_ERROR_AFTER_PARTIAL and partial):
            raise HookFault(f"injected fault {fault.value}")
        if fault is Fault.FINALIZE_HANG_AFTER_PARTIAL and partial:
            await asyncio.sleep(HANG_SECONDS)
            raise HookFault(f"injected fault {fault.value}")

    async def _orphan(self, observed: list[Child]) -> None:
        for obj in observed:
            await to_thread.run_sync(self._cluster.orphan, obj)

    def _full_set(self, parent: Mapping[str, Any], observed: list[Child], switches: Switches) -> list[Child]:
        try:
            spec = parse_spec(parent.get("spec"), allowed_namespace=self._settings.runtime_namespace)
        except InvalidSpec:
            return [echo(obj) for obj in observed]
        swarm = str(parent.get("metadata", {}).get("name", ""))
        return desired_children(swarm=swarm, spec=spec, shape=self.shape(switches))

    def _finalize_response(
        self, keep: list[Child], finalized: bool, observed: list[Child], previous: Mapping[str, Any]
    ) -> dict[str, Any]:
        message = "teardown complete" if finalized else f"tearing down: {len(observed)} children left"
        obs = Observation(
            phase="Terminating",
            message=message,
            ready=False,
            verified=False,
            ready_reason="Terminating",
            verified_reason="Terminating",
            service_name=previous.get("serviceName"),
            runtime_namespace=previous.get("runtimeNamespace"),
            service_port=previous.get("servicePort"),
            workspace_id=previous.get("workspaceId"),
            user_id=previous.get("userId"),
            provisioned=bool(previous.get("provisioned")),
        )
        return {
            "status": build_status(obs, previous),
            "children": keep,
            "finalized": finalized,
            "resyncAfterSeconds": 1.0,
        }


def overreach_role_binding(account: Child, *, uid: str, role: str) -> Child:
    """The RoleBinding of ``role`` to the ServiceAccount child ``account`` (uid ``uid``), owned by it."""
    meta = account["metadata"]
    name, namespace = str(meta["name"]), str(meta["namespace"])
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {
            "name": overreach_binding(name),
            "namespace": namespace,
            "labels": {**(meta.get("labels") or {}), DEFECT_LABEL: Defect.ISO7_AUTOMOUNT_TOKEN.value},
            "ownerReferences": [{"apiVersion": "v1", "kind": "ServiceAccount", "name": name, "uid": uid}],
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }


def _carry_owner_references(desired: Child, observed: Child | None) -> None:
    """Keep ownerReferences we asked for before: dropping them from desired would make the merge strip them."""
    if observed is None:
        return
    refs = echo(observed).get("metadata", {}).get("ownerReferences")
    if refs and "ownerReferences" not in desired["metadata"]:
        desired["metadata"]["ownerReferences"] = refs
