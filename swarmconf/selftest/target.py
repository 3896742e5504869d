"""One cluster and one installed platform for every inner run of a self-test.

:func:`prepared` acquires the cluster once (a new or reused kind cluster, or an existing one), installs what
is missing of the profile's platform (the harness's own installer), and on exit removes what it installed
and releases the cluster, unless asked to keep them. Inner runs then point at it with ``--cluster existing``.
It also answers whether other harness runs are live on the cluster (they would see the defect switch: it is
cluster-wide).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from swarmconf.fixtures.cleanup import live_runs
from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.profiles import Profile
from swarmconf.kube import Kube

Log = Callable[[str], None]


@dataclass(frozen=True)
class ClusterChoice:
    """Which cluster a self-test uses (the CLI builds it from its options)."""

    provider: Literal["kind", "existing"] = "kind"
    kubeconfig: Path | None = None
    context: str | None = None
    image_source: Literal["auto", "offline", "online"] = "auto"
    reuse: bool = False
    keep: bool = False


@dataclass
class Prepared:
    """The cluster and the platform, ready for inner runs."""

    handle: Any
    """``swarmconf.clusters.provider.ClusterHandle``."""
    kube: Kube
    platform: Platform
    seconds: dict[str, float]
    """Wall time of each preparation step (cluster, app image, install)."""

    def other_runs(self, mine: set[str]) -> set[str]:
        """Harness runs live on this cluster that are not ours."""
        return live_runs(self.kube) - mine


@contextlib.contextmanager
def prepared(choice: ClusterChoice, profile: Profile, *, run_id: str, log: Log = print) -> Iterator[Prepared]:
    """Acquire the cluster and install the platform; undo both on exit (unless kept)."""
    from swarmconf.clusters.provider import acquire_cluster, release_cluster
    from swarmconf.fixtures.install import install_platform

    seconds: dict[str, float] = {}
    start = time.monotonic()
    handle = acquire_cluster(
        provider=choice.provider,
        run_id=run_id,
        image_source=choice.image_source,
        reuse=choice.reuse,
        keep=choice.keep,
        kubeconfig=choice.kubeconfig,
        context=choice.context,
    )
    seconds["cluster"] = time.monotonic() - start
    try:
        kube = handle.kube()
        start = time.monotonic()
        image = app_image(handle, kube) if profile.install.images else None
        seconds["app_image"] = time.monotonic() - start
        start = time.monotonic()
        platform = install_platform(kube, profile, app_image=image, image_source=choice.image_source)
        seconds["install"] = time.monotonic() - start
        if platform.installed:
            log(f"installed {len(platform.installed)} platform objects (removed at the end unless kept)")
        try:
            yield Prepared(handle, kube, platform, seconds)
        finally:
            if not choice.keep:
                platform.uninstall()
            kube.api_client.close()
    finally:
        release_cluster(handle)


def app_image(handle: Any, kube: Kube) -> str:
    """The app image, built if needed and loaded into the kind cluster (any cluster whose nodes are kind's)."""
    from swarmconf.clusters.appimage import build_app_image, ensure_app_image
    from swarmconf.fixtures.session import _kind_cluster_of

    kind_name = handle.name if handle.provider == "kind" else _kind_cluster_of(kube)
    return ensure_app_image(kind_name) if kind_name else build_app_image()
