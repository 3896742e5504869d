"""Run the offline build: every step keyed by content, skipped when its result is already there.

:func:`ensure_offline_build` is the one entry point (used by ``swarmconf build`` and by the cluster
provider). It makes sure Docker answers, then walks the plan -- Go binaries, root filesystems, component
images, the node image -- showing progress with rich, logging each step to ``<cache>/logs/<step>.log``,
and prints the total time. A warm run checks every key, rebuilds nothing, and says so.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from .. import versions
from ..engine import images
from ..engine.daemon import ensure_docker, ensure_host_tools
from ..proc import CommandError
from . import components, gobuild, nodeimage, rootfs, sources
from .cache import RECIPES, cache_root, content_key, directory_size

DEBIAN_BASE = f"swarmconf.local/debian:{versions.DEBIAN_SUITE}"
STATIC_BASE = "swarmconf.local/static-base:1"
NODE_STAGE1 = f"swarmconf.local/kind-node-stage1:v{versions.KUBERNETES}"
NODE_IMAGE = f"swarmconf.local/kind-node:v{versions.KUBERNETES}"
HOST_BINARIES = {"catatonit": Path("/usr/bin/catatonit"), "busybox": Path("/bin/busybox")}


class BuildError(RuntimeError):
    """A build step failed; the message names the step and shows the tail of its log."""

    def __init__(self, step: str, cause: Exception):
        self.step = step
        super().__init__(f"offline build step '{step}' failed:\n{cause}")


@dataclass
class Step:
    """One unit of the build: done when its result exists with this key."""

    name: str
    key: str
    is_done: Callable[[], bool]
    action: Callable[[Path], None]  # receives the step's log file


@dataclass
class BuildResult:
    """What the build produced, for the cluster provider and the run manifest."""

    node_image: str
    node_image_id: str | None
    kind: Path
    kubectl: Path
    images: dict[str, str]
    rebuilt: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cache: Path = field(default_factory=cache_root)

    def manifest(self) -> dict[str, object]:
        """The run-manifest view of this build."""
        return {
            "source": "offline",
            "node_image": self.node_image,
            "node_image_id": self.node_image_id,
            "images": self.images,
            "versions": versions.as_dict(),
            "rebuilt": self.rebuilt,
            "build_seconds": round(self.seconds, 1),
        }


class Plan:
    """The offline build's steps, their keys and where their results go."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.steps: list[Step] = []
        self.bins: dict[str, Path] = {}
        self._image_keys: dict[str, str] = {}
        self._build_plan()

    # -- helpers -------------------------------------------------------------------------------------
    def _bin_dir(self, name: str, *pins: str) -> tuple[Path, str]:
        key = content_key(name, *pins)
        return self.cache / "bin" / f"{name}-{key}", key

    def _go_step(
        self, name: str, pins: tuple[str, ...], outputs: tuple[str, ...], build: Callable[[Path, Path], None]
    ) -> None:
        out, key = self._bin_dir(name, *pins)
        for output in outputs:
            self.bins[output] = out / output

        def action(log: Path) -> None:
            build(out, log)

        self.steps.append(Step(f"go: {name}", key, lambda: all((out / o).is_file() for o in outputs), action))

    def _image_step(self, name: str, tag: str, key: str, action: Callable[[Path], None]) -> None:
        self._image_keys[tag] = key
        self.steps.append(Step(name, key, lambda: images.image_key(tag) == key, action))

    # -- the plan ------------------------------------------------------------------------------------
    def _build_plan(self) -> None:
        work = self.cache / "work"
        self._go_step("kind", (versions.KIND,), ("kind",), gobuild.build_kind)
        self._go_step(
            "kubernetes",
            (versions.KUBERNETES, gobuild.kube_ldflags(versions.KUBERNETES)),
            gobuild.KUBE_COMMANDS,
            lambda out, log: gobuild.build_kubernetes(work / "kubernetes", out, log),
        )
        self._go_step(
            "etcd", (versions.ETCD,), ("etcd", "etcdctl"), lambda out, log: gobuild.build_etcd(work / "etcd", out, log)
        )
        self._go_step("coredns", (versions.COREDNS,), ("coredns",), gobuild.build_coredns)
        storage_patch = RECIPES / "patches" / "local-path-provisioner-direct.patch"
        self._go_step(
            "local-path-provisioner",
            (versions.LOCAL_PATH_PROVISIONER, content_key(files=[storage_patch])),
            ("local-path-provisioner",),
            lambda out, log: gobuild.build_local_path_provisioner(
                storage_patch, work / "local-path-provisioner", out, log
            ),
        )
        netpol_patch = RECIPES / "patches" / "kube-network-policies-xt-nfqueue.patch"
        self._go_step(
            "kube-network-policies",
            (versions.KUBE_NETWORK_POLICIES, content_key(files=[netpol_patch])),
            ("netpol",),
            lambda out, log: gobuild.build_kube_network_policies(
                netpol_patch, work / "kube-network-policies", out, log
            ),
        )
        self._go_step(
            "metacontroller",
            (versions.METACONTROLLER, versions.METACONTROLLER_SOURCE_SHA256, gobuild.metacontroller_ldflags()),
            ("metacontroller",),
            lambda out, log: gobuild.build_metacontroller(
                sources.metacontroller_source(self.cache), work / "metacontroller", out, log
            ),
        )
        self.bins.update(HOST_BINARIES)

        debian_key = content_key(versions.DEBIAN_SUITE, versions.DEBIAN_MIRROR)
        self._image_step(
            "rootfs: debian",
            DEBIAN_BASE,
            debian_key,
            lambda log: rootfs.debian_base(DEBIAN_BASE, debian_key, self.cache / "rootfs", log),
        )
        static_key = content_key(rootfs.PASSWD, rootfs.GROUP)
        self._image_step(
            "rootfs: static",
            STATIC_BASE,
            static_key,
            lambda log: rootfs.static_base(STATIC_BASE, static_key, self.cache / "rootfs", log),
        )

        for component in self.component_images():
            self._component_step(component, {"debian": debian_key, "static": static_key})

        stage1_key = content_key(
            versions.KIND,
            versions.KUBERNETES,
            debian_key,
            *self._bin_keys(gobuild.KUBE_COMMANDS),
            # The node's storage manifest switches the provisioner patch on (nodeimage.without_helper_pods).
            files=[RECIPES / "node", storage_patch],
        )
        self._image_step("node: stage 1", NODE_STAGE1, stage1_key, lambda log: self._node_stage1(stage1_key, log))
        node_key = content_key(stage1_key, *sorted(self._image_keys.values()))
        self._image_step("node: preload images", NODE_IMAGE, node_key, lambda log: self._node_stage2(node_key, log))

    def _bin_keys(self, outputs: tuple[str, ...]) -> list[str]:
        return sorted({self.bins[o].parent.name for o in outputs})

    def component_images(self) -> list[components.Component]:
        """Every component image, with the tag kubeadm or the storage manifest asks for."""
        kube, storage = versions.kube_images(), versions.storage_images()
        c = components.Component
        return [
            c("kube-apiserver", kube["kube-apiserver"], "static.Dockerfile", "static", (("kube-apiserver",) * 2,)),
            c(
                "kube-controller-manager",
                kube["kube-controller-manager"],
                "static.Dockerfile",
                "static",
                (("kube-controller-manager",) * 2,),
            ),
            c("kube-scheduler", kube["kube-scheduler"], "static.Dockerfile", "static", (("kube-scheduler",) * 2,)),
            c(
                "kube-proxy",
                kube["kube-proxy"],
                "kube-proxy.Dockerfile",
                "debian",
                (("kube-proxy",) * 2,),
                ("iptables-wrapper",),
            ),
            c("etcd", kube["etcd"], "static.Dockerfile", "static", (("etcd",) * 2, ("etcdctl",) * 2)),
            c("coredns", kube["coredns"], "coredns.Dockerfile", "static", (("coredns",) * 2,)),
            c("pause", kube["pause"], "pause.Dockerfile", None, (("catatonit",) * 2,)),
            c(
                "local-path-provisioner",
                storage["local-path-provisioner"],
                "static.Dockerfile",
                "static",
                (("local-path-provisioner",) * 2,),
            ),
            c("local-path-helper", storage["local-path-helper"], "helper.Dockerfile", None, (("busybox",) * 2,)),
            c(
                "kube-network-policies",
                versions.KUBE_NETWORK_POLICIES_IMAGE,
                "static.Dockerfile",
                "static",
                (("netpol",) * 2,),
            ),
            c(
                "metacontroller",
                versions.METACONTROLLER_IMAGE,
                "metacontroller.Dockerfile",
                "static",
                (("metacontroller",) * 2,),
            ),
        ]

    def _component_step(self, component: components.Component, base_keys: dict[str, str]) -> None:
        bin_ids = [
            self.bins[src].parent.name
            if src not in HOST_BINARIES
            else f"{src}:{HOST_BINARIES[src].stat().st_size if HOST_BINARIES[src].exists() else 0}"
            for src, _ in component.binaries
        ]
        key = content_key(
            component.tag, base_keys.get(component.base or "", "scratch"), *bin_ids, files=component.recipe_files
        )
        base_tag = {"debian": DEBIAN_BASE, "static": STATIC_BASE}.get(component.base or "")

        def action(log: Path) -> None:
            ctx = components.context_for(component, self.bins, self.cache / "work" / "ctx" / component.name)
            images.build(ctx, component.tag, key, log, build_args={"BASE": base_tag} if base_tag else None)

        self._image_step(f"image: {component.name}", component.tag, key, action)

    def kind_dir(self, log: Path) -> Path:
        return gobuild.module_dir("sigs.k8s.io/kind", versions.KIND, log)

    def _node_stage1(self, key: str, log: Path) -> None:
        ctx = nodeimage.stage1_context(
            self.kind_dir(log), self.bins["kubeadm"].parent, self.cache / "work" / "ctx" / "node"
        )
        images.build(ctx, NODE_STAGE1, key, log, build_args={"BASE": DEBIAN_BASE})

    def _node_stage2(self, key: str, log: Path) -> None:
        archive = self.cache / "work" / "node-images.tar"
        archive.parent.mkdir(parents=True, exist_ok=True)
        try:
            images.save([c.tag for c in self.component_images()], archive, log)
            nodeimage.stage2_preload(NODE_STAGE1, archive, NODE_IMAGE, key, log)
        finally:
            archive.unlink(missing_ok=True)


def ensure_offline_build(*, console: Console | None = None, cache: Path | None = None) -> BuildResult:
    """Build (or confirm cached) everything a kind cluster needs here; return what was built."""
    console = console or Console(stderr=True)
    cache = cache or cache_root()
    logs = cache / "logs"
    started = time.monotonic()
    ensure_docker(logs / "docker.log")
    ensure_host_tools(logs / "host-packages.log")
    missing_tools = [
        t for t in ("go", "debootstrap") if shutil.which(t) is None and not Path(f"/usr/sbin/{t}").exists()
    ]
    if missing_tools:
        raise BuildError(
            "host tools",
            RuntimeError(
                f"missing {', '.join(missing_tools)}: install Go (https://go.dev/dl) and Debian's debootstrap"
            ),
        )
    plan = Plan(cache)
    rebuilt: list[str] = []
    for step in plan.steps:
        if step.is_done():
            console.print(f"  [green]✓[/] {step.name} [dim](cached {step.key})[/]")
            continue
        log = logs / (step.name.replace(": ", "-").replace(" ", "-") + ".log")
        log.unlink(missing_ok=True)
        step_start = time.monotonic()
        with console.status(f"{step.name} … (log: {log})"):
            try:
                step.action(log)
            except (CommandError, OSError, ValueError, sources.SourceError) as exc:
                raise BuildError(step.name, exc) from exc
        if not step.is_done():
            raise BuildError(step.name, RuntimeError(f"the step finished but its result is missing; see {log}"))
        rebuilt.append(step.name)
        console.print(f"  [green]✓[/] {step.name} [cyan]built in {time.monotonic() - step_start:.1f}s[/]")
    seconds = time.monotonic() - started
    if rebuilt:
        console.print(f"offline build: rebuilt {len(rebuilt)} of {len(plan.steps)} steps in {seconds:.1f}s")
    else:
        console.print(f"offline build: nothing to rebuild, all {len(plan.steps)} steps cached ({seconds:.1f}s)")
    result = BuildResult(
        node_image=NODE_IMAGE,
        node_image_id=images.image_id(NODE_IMAGE),
        kind=plan.bins["kind"],
        kubectl=plan.bins["kubectl"],
        images={c.name: c.tag for c in plan.component_images()},
        rebuilt=rebuilt,
        seconds=seconds,
        cache=cache,
    )
    (cache / "build-manifest.json").write_text(json.dumps(result.manifest(), indent=2))
    return result


def cache_usage(cache: Path | None = None) -> int:
    """Bytes the build cache uses on disk (binaries, root filesystem tarballs, logs)."""
    return directory_size(cache or cache_root())
