"""Label and annotation keys used across the reference platform, and the label set of a swarm's children."""

from __future__ import annotations

from swarmconf.reference.common.names import label_value

__all__ = [
    "COMPONENT",
    "CREATED_BY",
    "CREATED_BY_ORCHESTRATOR",
    "GROUP",
    "INGRESS",
    "INGRESS_PLATFORM_ONLY",
    "KIND",
    "MANAGED_BY",
    "PLATFORM",
    "PLURAL",
    "SWARM",
    "USER",
    "USER_ANNOTATION",
    "VERSION",
    "WORKSPACE",
    "child_labels",
    "selector_labels",
]

GROUP = "crawbl.ai"
VERSION = "v1alpha1"
PLURAL = "userswarms"
KIND = "UserSwarm"

SWARM = "crawbl.ai/swarm"
"""Names the UserSwarm a child belongs to (on every child and on the runtime pod)."""
USER = "crawbl.ai/user"
"""Names the owning user (on every child, on the pod and on the UserSwarm itself)."""
WORKSPACE = "crawbl.ai/workspace"
"""Names the workspace (on every child, on the pod and on the UserSwarm)."""
PLATFORM = "crawbl.ai/platform"
"""On UserSwarms: the platform namespace of the install that manages it (the CompositeController selects on it)."""
CREATED_BY = "crawbl.ai/created-by"
"""On UserSwarms: who created it (``orchestrator`` for the reference orchestrator)."""
CREATED_BY_ORCHESTRATOR = "orchestrator"
USER_ANNOTATION = "crawbl.ai/user-id"
"""The raw user ID (labels may have had to shorten it)."""

INGRESS = "crawbl.ai/ingress"
"""On runtime pods: which ingress the runtime namespace's NetworkPolicy ``runtime-ingress`` (in the install's
manifests) gives them; :data:`INGRESS_PLATFORM_ONLY` is the only value, and the policy selects on it."""
INGRESS_PLATFORM_ONLY = "platform-only"

MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT = "app.kubernetes.io/component"


def selector_labels(swarm: str) -> dict[str, str]:
    """The immutable StatefulSet selector: the swarm name only."""
    return {SWARM: label_value(swarm)}


def child_labels(*, swarm: str, user_id: str, workspace_id: str, with_user: bool = True) -> dict[str, str]:
    """Labels carried by every child of a swarm and by its pod."""
    labels = {
        **selector_labels(swarm),
        WORKSPACE: label_value(workspace_id),
        MANAGED_BY: "swarmconf-reference",
        COMPONENT: "swarm-runtime",
    }
    if with_user:
        labels[USER] = label_value(user_id)
    return labels
