"""The UserSwarm status the sync and finalize hooks report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Observation", "build_status", "condition"]

PHASES = ("Invalid", "Suspended", "Pending", "Verifying", "Running", "Terminating")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _previous_conditions(previous: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    conditions = previous.get("conditions")
    if not isinstance(conditions, list):
        return {}
    return {c["type"]: c for c in conditions if isinstance(c, Mapping) and isinstance(c.get("type"), str)}


def condition(kind: str, ok: bool, reason: str, message: str, previous: Mapping[str, Any]) -> dict[str, str]:
    """A condition whose ``lastTransitionTime`` only moves when its status flips (so status stays stable)."""
    status = "True" if ok else "False"
    before = _previous_conditions(previous).get(kind, {})
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": str(since or _now()),
    }


@dataclass(frozen=True)
class Observation:
    """What a hook concluded about one swarm."""

    phase: str
    message: str
    ready: bool
    verified: bool
    ready_reason: str
    verified_reason: str
    ready_replicas: int = 0
    service_name: str | None = None
    runtime_namespace: str | None = None
    service_port: int | None = None
    workspace_id: str | None = None
    user_id: str | None = None
    provisioned: bool = False


def build_status(obs: Observation, previous: Mapping[str, Any]) -> dict[str, Any]:
    """The whole status object (Metacontroller replaces status wholesale and adds ``observedGeneration``)."""
    status: dict[str, Any] = {
        "phase": obs.phase,
        "message": obs.message,
        "conditions": [
            condition(
                "Ready", obs.ready, obs.ready_reason, obs.message if not obs.ready else "runtime pod ready", previous
            ),
            condition(
                "Verified",
                obs.verified,
                obs.verified_reason,
                "identity challenge answered" if obs.verified else obs.message,
                previous,
            ),
        ],
        "readyReplicas": obs.ready_replicas,
        "provisioned": obs.provisioned,
    }
    optional = {
        "serviceName": obs.service_name,
        "runtimeNamespace": obs.runtime_namespace,
        "servicePort": obs.service_port,
        "workspaceId": obs.workspace_id,
        "userId": obs.user_id,
    }
    status.update({k: v for k, v in optional.items() if v is not None})
    return status
