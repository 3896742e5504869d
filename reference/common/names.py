"""Deterministic object names derived from a workspace ID.

Every name is a pure function of the workspace ID: the same workspace always maps to the same names. A name
that would be too long (or that needed characters replaced) is cut and given a short hash of the original, so
two different workspaces can never collide. Clients must still read ``status.serviceName`` rather than rebuild
names: other platforms may name things differently.

Two styles (the install's ``NAME_STYLE``): ``workspace`` (the default) puts the workspace ID in the names
(``ws-<id>``, ``swarm-<id>-data``); ``hashed`` puts only a hash of it (``us-<hash>``, ``rt-<hash>-data``), as a
platform that keeps tenant IDs out of object names would, and as the contract allows: a harness that found
swarms or children by a name containing the workspace ID fails against it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = [
    "NAME_STYLES",
    "ChildNames",
    "child_names",
    "label_value",
    "overreach_binding",
    "overreach_role",
    "shorten",
    "userswarm_name",
]

DNS_LABEL_MAX = 63
# a StatefulSet's pods are named <sts>-<ordinal> and carry controller-revision-hash=<sts>-<10 chars>,
# which must fit in a 63-character label value: keep the StatefulSet name to 52 characters.
STATEFULSET_MAX = 52
HASH_LEN = 8
#: Hex digits of the workspace hash in ``hashed`` names (80 bits: no two workspaces share one in practice).
NAME_HASH_LEN = 20
NAME_STYLES = ("workspace", "hashed")
_INVALID = re.compile(r"[^a-z0-9-]+")
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9._-]+")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:HASH_LEN]


def shorten(name: str, limit: int, *, source: str | None = None) -> str:
    """Return ``name`` if it fits in ``limit``; else cut it and append ``-<hash of source or name>``."""
    if len(name) <= limit:
        return name
    head = name[: limit - HASH_LEN - 1].rstrip("-.")
    return f"{head}-{_digest(source if source is not None else name)}"


def _dns_part(workspace_id: str) -> tuple[str, bool]:
    """Lower-case ``workspace_id`` and replace what a DNS label cannot hold; report whether it changed."""
    cleaned = _INVALID.sub("-", workspace_id.lower()).strip("-") or "x"
    return cleaned, cleaned != workspace_id


def _derive(prefix: str, workspace_id: str, suffix: str, limit: int) -> str:
    part, changed = _dns_part(workspace_id)
    if changed:  # keep the hash even when short, so "A" and "a" never share a name
        part = f"{part}-{_digest(workspace_id)}"
    full = f"{prefix}{part}{suffix}"
    if len(full) <= limit:
        return full
    room = limit - len(prefix) - len(suffix) - HASH_LEN - 1
    return f"{prefix}{part[:room].rstrip('-')}-{_digest(workspace_id)}{suffix}"


def _hashed(workspace_id: str) -> str:
    return hashlib.sha256(workspace_id.encode()).hexdigest()[:NAME_HASH_LEN]


def userswarm_name(workspace_id: str, *, hashed: bool = False) -> str:
    """The cluster-scoped UserSwarm's name for a workspace (``ws-<id>``; hashed: ``us-<hash>``)."""
    if hashed:
        return f"us-{_hashed(workspace_id)}"
    return _derive("ws-", workspace_id, "", DNS_LABEL_MAX)


def label_value(value: str) -> str:
    """Make ``value`` a valid label value (<=63 chars, alphanumeric ends), hashing when it had to change."""
    cleaned = _LABEL_INVALID.sub("-", value).strip("-._")
    if cleaned == value and 0 < len(value) <= DNS_LABEL_MAX:
        return value
    return shorten(f"{cleaned or 'x'}-{_digest(value)}", DNS_LABEL_MAX, source=value)


@dataclass(frozen=True)
class ChildNames:
    """The names of one UserSwarm's children (all in the runtime namespace)."""

    statefulset: str
    service: str
    headless_service: str
    pvc: str
    configmap: str
    serviceaccount: str
    secret: str


def child_names(workspace_id: str, *, hashed: bool = False) -> ChildNames:
    """Derive every child name for ``workspace_id``; each fits the Kubernetes limit for its kind.

    ``hashed``: ``rt-<hash>`` and its suffixes, with no part of the workspace ID in them."""
    if hashed:
        base = f"rt-{_hashed(workspace_id)}"
        return ChildNames(
            statefulset=base,
            service=base,
            headless_service=f"{base}-hl",
            pvc=f"{base}-data",
            configmap=f"{base}-config",
            serviceaccount=base,
            secret=f"{base}-identity",
        )
    return ChildNames(
        statefulset=_derive("swarm-", workspace_id, "", STATEFULSET_MAX),
        service=_derive("swarm-", workspace_id, "", DNS_LABEL_MAX),
        headless_service=_derive("swarm-", workspace_id, "-hl", DNS_LABEL_MAX),
        pvc=_derive("swarm-", workspace_id, "-data", DNS_LABEL_MAX),
        configmap=_derive("swarm-", workspace_id, "-config", DNS_LABEL_MAX),
        serviceaccount=_derive("swarm-", workspace_id, "", DNS_LABEL_MAX),
        secret=_derive("swarm-", workspace_id, "-identity", DNS_LABEL_MAX),
    )


def overreach_role(platform_namespace: str) -> str:
    """The Role (in the runtime namespace) that only the defect ``iso7-automount-token`` binds."""
    return f"{platform_namespace}-runtime-overreach"


def overreach_binding(serviceaccount: str) -> str:
    """The RoleBinding that the defect ``iso7-automount-token`` gives the runtime ServiceAccount ``serviceaccount``."""
    return shorten(f"{serviceaccount}-overreach", DNS_LABEL_MAX, source=serviceaccount)
