"""Switchable, off-by-default defects: each breaks exactly one contract clause (see ``reference/DEFECTS.md``).

The switch is the ConfigMap ``reference-defects`` in the platform namespace: key ``defect`` holds at most one
:class:`Defect` value (empty = none) and key ``fault`` at most one :class:`Fault` (a fault injection for the
recovery suites, not a contract break). The orchestrator and the webhook read it through
:class:`ConfigMapSwitches`, a cached API read at most ``max_age`` (1 s) old, and report what they see in their
health endpoints; the reaper reads it once at the start of each run. :func:`set_defect` and :func:`set_fault`
write the ConfigMap and return once the orchestrator and webhook report the new value. Nothing needs an image
rebuild or a restart.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException

__all__ = [
    "CLAUSES",
    "CONFIGMAP_NAME",
    "MODEL_GATEWAY_PATH",
    "ConfigMapSwitches",
    "Defect",
    "DefectSwitchTimeout",
    "Fault",
    "StaticSwitches",
    "SwitchReader",
    "Switches",
    "parse_defect",
    "parse_fault",
    "read_switches",
    "set_defect",
    "set_fault",
]

CONFIGMAP_NAME = "reference-defects"
#: Where the orchestrator serves the shared model gateway of ``msg4-shared-model-gateway`` (its Service, port 8080).
MODEL_GATEWAY_PATH = "/model/v1"
DEFECT_KEY = "defect"
FAULT_KEY = "fault"
log = logging.getLogger(__name__)


class Defect(enum.StrEnum):
    """One deliberate contract break; the value names the clause it breaks."""

    ISO1_NODEPORT_SERVICE = "iso1-nodeport-service"
    ISO1_SIDECAR_HOST_PORT = "iso1-sidecar-host-port"
    ISO2_EXTERNAL_IP = "iso2-external-ip"
    ISO3_MISSING_USER_LABEL = "iso3-missing-user-label"
    ISO4_SKIP_OWNERSHIP_CHECK = "iso4-skip-ownership-check"
    ISO4_EXISTENCE_LEAK = "iso4-existence-leak"
    ISO5_SKIP_SIGNATURE_CHECK = "iso5-skip-signature-check"
    ISO6_OPEN_INGRESS = "iso6-open-ingress"
    ISO7_AUTOMOUNT_TOKEN = "iso7-automount-token"
    MSG1_REJECT_NON_ASCII = "msg1-reject-non-ascii"
    MSG2_ROUTE_BY_USER = "msg2-route-by-user"
    MSG2_REBUILD_SERVICE_NAME = "msg2-rebuild-service-name"
    MSG3_VIA_API_SERVER = "msg3-via-api-server"
    MSG4_FIRST_CONVERSATION = "msg4-first-conversation"
    MSG4_SHARED_MODEL_GATEWAY = "msg4-shared-model-gateway"
    MSG5_VERIFIED_TOO_EARLY = "msg5-verified-too-early"
    MSG5_ONE_GATE_FOR_ALL = "msg5-one-gate-for-all"
    MSG6_HISTORY_FROM_ORCHESTRATOR = "msg6-history-from-orchestrator"
    MSG6_HISTORY_ON_EMPTYDIR = "msg6-history-on-emptydir"
    DEL1_READABLE_WHILE_TERMINATING = "del1-readable-while-terminating"
    DEL2_KEEP_USERSWARM = "del2-keep-userswarm"
    DEL3_FINALIZE_ORPHANS_PVC = "del3-finalize-orphans-pvc"
    DEL4_REAPER_ONLY_ORCHESTRATOR_SWARMS = "del4-reaper-only-orchestrator-swarms"
    DEL5_TEARDOWN_DELETES_ALL_CONFIGMAPS = "del5-teardown-deletes-all-configmaps"
    DEL6_REDELETE_FAILS_WHILE_TERMINATING = "del6-redelete-fails-while-terminating"
    RPR1_TOMBSTONES_COUNT_AS_LIVE = "rpr1-tombstones-count-as-live"
    RPR2_ABANDON_STALE_DELETION = "rpr2-abandon-stale-deletion"
    RPR3_RECREATE_ON_RESUME = "rpr3-recreate-on-resume"
    RPR4_NAMESPACE_CO_OWNER = "rpr4-namespace-co-owner"
    RPR5_REAP_ON_ERROR = "rpr5-reap-on-error"
    RPR5_ABORT_ON_FIRST_ERROR = "rpr5-abort-on-first-error"
    LIF1_API_NEVER_VERIFIED = "lif1-api-never-verified"
    LIF2_NO_SELF_HEAL = "lif2-no-self-heal"
    LIF3_ACCEPT_ANY_RUNTIME_MODE = "lif3-accept-any-runtime-mode"


CLAUSES: dict[Defect, str] = {
    defect: re.sub(r"^([a-z]+)(\d+)$", r"\1-\2", defect.value.split("-", 1)[0]).upper() for defect in Defect
}
"""The contract clause each defect breaks (``Defect.ISO1_NODEPORT_SERVICE`` → ``ISO-1``)."""


class Fault(enum.StrEnum):
    """A fault injection served by the webhook (for the recovery suites)."""

    FINALIZE_ERROR = "finalize-error"
    """Every finalize call answers HTTP 500."""
    FINALIZE_ERROR_AFTER_PARTIAL = "finalize-error-after-partial"
    """Finalize answers HTTP 500 once any child is gone (after the StatefulSet was torn down)."""
    FINALIZE_HANG_AFTER_PARTIAL = "finalize-hang-after-partial"
    """Like the above, but the hook hangs for 30 s (beyond Metacontroller's 10 s timeout) instead."""


def parse_defect(value: str | None) -> Defect | None:
    """The defect named by ``value``; empty or unknown means none (unknown is logged)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return Defect(value)
    except ValueError:
        log.warning(json.dumps({"event": "unknown-defect", "value": value}))
        return None


def parse_fault(value: str | None) -> Fault | None:
    """The fault named by ``value``; empty or unknown means none."""
    value = (value or "").strip()
    try:
        return Fault(value) if value else None
    except ValueError:
        log.warning(json.dumps({"event": "unknown-fault", "value": value}))
        return None


@dataclass(frozen=True)
class Switches:
    """The active defect and fault (both usually ``None``)."""

    defect: Defect | None = None
    fault: Fault | None = None

    def has(self, defect: Defect) -> bool:
        """True if ``defect`` is the active defect."""
        return self.defect is defect

    def as_json(self) -> dict[str, str | None]:
        """What health endpoints report."""
        return {"defect": self.defect.value if self.defect else None, "fault": self.fault.value if self.fault else None}


class SwitchReader(Protocol):
    """Something that knows the active switches (blocking; call it from a worker thread in async code)."""

    def current(self) -> Switches: ...


class StaticSwitches:
    """Fixed switches, for tests and for running a component outside a cluster."""

    def __init__(self, switches: Switches | None = None) -> None:
        self.switches = switches or Switches()

    def current(self) -> Switches:
        return self.switches


def read_switches(core: client.CoreV1Api, *, namespace: str, name: str = CONFIGMAP_NAME) -> Switches:
    """Read the ConfigMap once; a missing ConfigMap means no defect."""
    try:
        data = core.read_namespaced_config_map(name, namespace, _request_timeout=2).data or {}
    except ApiException as exc:
        if exc.status == 404:
            return Switches()
        raise
    return Switches(parse_defect(data.get(DEFECT_KEY)), parse_fault(data.get(FAULT_KEY)))


class ConfigMapSwitches:
    """The ConfigMap, read through a cache at most ``max_age`` seconds old.

    If a refresh fails the last known value is kept (and the failure logged), so an API hiccup never switches a
    defect on or off by itself.
    """

    def __init__(
        self,
        core: client.CoreV1Api,
        *,
        namespace: str,
        name: str = CONFIGMAP_NAME,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._core, self._namespace, self._name = core, namespace, name
        self._max_age, self._clock = max_age, clock
        self._lock = threading.Lock()
        self._value = Switches()
        self._read_at: float | None = None

    def current(self) -> Switches:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._max_age:
                self._refresh(now)
            return self._value

    def _refresh(self, now: float) -> None:
        try:
            self._value = read_switches(self._core, namespace=self._namespace, name=self._name)
        except Exception as exc:
            log.warning(json.dumps({"event": "defects-read-failed", "error": repr(exc)}))
        self._read_at = now


class DefectSwitchTimeout(TimeoutError):
    """The components did not report the new switch value in time."""


_REPORTERS = (("orchestrator", "orchestrator:http", "v1/health"), ("webhook", "webhook:http", "healthz"))


def _reported(core: client.CoreV1Api, namespace: str, service: str, path: str) -> dict[str, Any]:
    # _preload_content=False: the client would otherwise turn the JSON body into a Python repr string
    response = core.connect_get_namespaced_service_proxy_with_path(
        service, namespace, path, _request_timeout=3, _preload_content=False
    )
    data = json.loads(response.data)  # type: ignore[attr-defined]
    return data if isinstance(data, dict) else {}


def _write(core: client.CoreV1Api, namespace: str, key: str, value: str) -> None:
    patch = {"data": {key: value}}
    try:
        core.patch_namespaced_config_map(CONFIGMAP_NAME, namespace, patch)
    except ApiException as exc:
        if exc.status != 404:
            raise
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=CONFIGMAP_NAME), data={key: value})
        core.create_namespaced_config_map(namespace, body)


def _switch(
    api_client: client.ApiClient,
    *,
    namespace: str,
    key: str,
    value: str,
    reporters: tuple[tuple[str, str, str], ...],
    timeout: float,
) -> None:
    core = client.CoreV1Api(api_client)
    _write(core, namespace, key, value)
    deadline, last = time.monotonic() + timeout, {}
    pending = list(reporters)
    while pending:
        component, service, path = pending[0]
        try:
            last[component] = _reported(core, namespace, service, path).get(key) or ""
        except (ApiException, ValueError, OSError) as exc:
            last[component] = f"<error: {exc}>"
        if last[component] == value:
            pending.pop(0)
            continue
        if time.monotonic() >= deadline:
            raise DefectSwitchTimeout(f"{key}={value!r} not in effect after {timeout}s; components report {last}")
        time.sleep(0.25)


def set_defect(api_client: client.ApiClient, *, namespace: str, defect: Defect | str | None, timeout: float) -> None:
    """Make ``defect`` (or none) active and return once the orchestrator and the webhook use it.

    The reaper reads the switch at the start of each run, so the next run (scheduled or on demand) uses it.
    Webhook defects that shape children reach an existing swarm at its next sync (at most 30 s later; at once
    for swarms created afterwards).
    """
    value = Defect(defect).value if defect else ""
    _switch(api_client, namespace=namespace, key=DEFECT_KEY, value=value, reporters=_REPORTERS, timeout=timeout)


def set_fault(api_client: client.ApiClient, *, namespace: str, fault: Fault | str | None, timeout: float) -> None:
    """Make ``fault`` (or none) active and return once the webhook uses it."""
    value = Fault(fault).value if fault else ""
    _switch(api_client, namespace=namespace, key=FAULT_KEY, value=value, reporters=_REPORTERS[1:], timeout=timeout)
