"""Which kind clusters are ours, who owns them, and which belong to runs that died.

Cluster names are ``swarmconf-<run id>``. Each cluster we create gets a state file recording the run id,
the owning process (pid and its start time, so a recycled pid is not mistaken for the owner) and whether
it is to be kept. A cluster whose owner is gone and that nobody asked to keep is a leftover of a dead run:
:func:`leftovers` finds them so they can be swept.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..offline.cache import cache_root

PREFIX = "swarmconf-"


def new_run_id() -> str:
    """A short random run id (lowercase hex: valid in names and labels)."""
    return secrets.token_hex(4)


def cluster_name(run_id: str) -> str:
    """The kind cluster name for a run."""
    return f"{PREFIX}{run_id}"


def state_dir(name: str) -> Path:
    """Where a cluster's kubeconfig and state file live."""
    return cache_root() / "clusters" / name


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of /proc/pid/stat), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass
class ClusterState:
    """What we record about a cluster we created."""

    name: str
    run_id: str
    owner_pid: int
    owner_start: str | None
    keep: bool
    created_at: float
    node_image: str

    def owner_alive(self) -> bool:
        return process_start(self.owner_pid) == self.owner_start is not None

    def save(self) -> None:
        path = state_dir(self.name) / "state.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, name: str) -> ClusterState | None:
        try:
            return cls(**json.loads((state_dir(name) / "state.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    @classmethod
    def mine(cls, name: str, run_id: str, keep: bool, node_image: str) -> ClusterState:
        pid = os.getpid()
        return cls(name, run_id, pid, process_start(pid), keep, time.time(), node_image)


def recorded_clusters() -> list[str]:
    """Names of the clusters we have a state file for, whether or not Docker is running now.

    A kept cluster survives a stopped Docker daemon; its state file is how a caller that finds no daemon
    still knows the cluster exists and is not its own (``.ci/run`` deletes only what its run made).
    """
    root = cache_root() / "clusters"
    if not root.is_dir():
        return []
    return sorted(path.parent.name for path in root.glob(f"{PREFIX}*/state.json"))


def is_ours(name: str) -> bool:
    """Whether a kind cluster name is one of ours."""
    return name.startswith(PREFIX)


def kind_clusters_dead(cluster_names: list[str], *, everything: bool = False) -> list[str]:
    """Our clusters whose owner is dead and which were not kept.

    A cluster with no state here was made under another cache root (``SWARMCONF_CACHE``, another ``HOME``):
    its run may be live, so it is left alone (a run writes its state before it creates its cluster, so no
    run of this cache leaves a cluster without one). With ``everything``, all of our clusters, kept,
    stateless or not (``swarmconf cluster down --all``).
    """
    dead = []
    for name in filter(is_ours, cluster_names):
        state = ClusterState.load(name)
        if everything or (state is not None and not state.keep and not state.owner_alive()):
            dead.append(name)
    return dead
