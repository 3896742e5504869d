"""One cluster and the installed platform(s) for every inner run of a self-test.

:func:`prepared` acquires the cluster once (a new or reused kind cluster, or an existing one), installs what
is missing of each profile's platform (the harness's own installer; one profile per lane, see
:mod:`swarmconf.selftest.driver`), and on exit removes what it installed and releases the cluster, unless asked
to keep them. Inner runs then point at it with ``--cluster existing``. It also answers whether other harness
runs are live on the cluster (they would see a defect switched on in a shared install).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
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
    """The cluster and the platforms, ready for inner runs."""

    handle: Any
    """``swarmconf.clusters.provider.ClusterHandle``."""
    kube: Kube
    platforms: list[Platform]
    """One per profile given to :func:`prepared`, in that order."""
    seconds: dict[str, float]
    """Wall time of each preparation step (cluster, app image, install)."""

    @property
    def platform(self) -> Platform:
        """The first (or only) platform."""
        return self.platforms[0]

    def other_runs(self, mine: set[str]) -> set[str]:
        """Harness runs live on this cluster that are not ours."""
        return live_runs(self.kube) - mine


@contextlib.contextmanager
def prepared(
    choice: ClusterChoice, profiles: Sequence[Profile], *, run_id: str, log: Log = print
) -> Iterator[Prepared]:
    """Acquire the cluster and install each profile's platform; undo both on exit (unless kept)."""
    from swarmconf.clusters.provider import acquire_cluster, release_cluster

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
        with contextlib.ExitStack() as stack:
            stack.callback(kube.api_client.close)
            start = time.monotonic()
            built = app_images(handle, kube, profiles)
            seconds["app_image"] = time.monotonic() - start
            platforms = [_installed(stack, choice, kube, built, p, seconds, log) for p in profiles]
            yield Prepared(handle, kube, platforms, seconds)
    finally:
        release_cluster(handle)


def _installed(
    stack: contextlib.ExitStack,
    choice: ClusterChoice,
    kube: Kube,
    built: dict[str, str],
    profile: Profile,
    seconds: dict[str, float],
    log: Log,
) -> Platform:
    from swarmconf.fixtures.install import install_platform

    start = time.monotonic()
    images = {source: tag for source, tag in built.items() if source != "app"}
    platform = install_platform(
        kube, profile, app_image=built.get("app"), images=images, remove_on_failure=not choice.keep
    )
    seconds["install"] = seconds.get("install", 0.0) + time.monotonic() - start
    if not choice.keep:
        stack.callback(_uninstall, platform, log)
    if platform.installed:
        log(f"installed {len(platform.installed)} objects of {profile.name} (removed at the end unless kept)")
    return platform


def _uninstall(platform: Platform, log: Log) -> None:
    try:
        platform.uninstall()
    except Exception as exc:  # the cluster may be gone; the other installs and the cluster still get released
        log(f"could not remove {platform.profile.name}: {type(exc).__name__}: {exc}")


def app_images(handle: Any, kube: Kube, profiles: Sequence[Profile]) -> dict[str, str]:
    """The images the profiles need, by source, built if needed and loaded into the kind cluster (any cluster
    whose nodes are kind's)."""
    from swarmconf.fixtures.session import build_images, kind_name, needed_images

    sources = set().union(*(needed_images(p) for p in profiles))
    return build_images(sources, kind_name(handle, kube)) if sources else {}
