"""Go binaries built from the Go module proxy: Kubernetes, kind, etcd, CoreDNS, local-path-provisioner,
kube-network-policies, and Metacontroller (its source from a verified archive, see :mod:`.sources`; its
dependencies from the proxy).

Modules whose ``go.mod`` has relative replace directives (Kubernetes, etcd) cannot be ``go install``-ed;
they are built through a generated *wrapper module* that requires them and, for Kubernetes, replaces every
``k8s.io/<staging>`` module with its published ``v0.<minor>.<patch>``. All builds are static
(``CGO_ENABLED=0``) and ``-trimpath``; Go's own module and build caches make a rebuild cheap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from .. import versions
from ..proc import run
from . import sources

KUBE_COMMANDS = (
    "kubeadm",
    "kubelet",
    "kubectl",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
)
# A build date fixed per version keeps the binaries reproducible (and Go's link cache warm).
KUBE_BUILD_DATE = "2026-01-01T00:00:00Z"


def go_env() -> dict[str, str]:
    """Environment for every Go build: static binaries, module mode, no VCS stamping."""
    return {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod -buildvcs=false", "GOTOOLCHAIN": "local"}


def module_dir(module: str, version: str, log: Path) -> Path:
    """Download ``module@version`` into the module cache and return its (read-only) directory."""
    out = run(["go", "mod", "download", "-json", f"{module}@{version}"], what=f"download {module}", log=log)
    return Path(json.loads(out)["Dir"])


def kube_ldflags(version: str) -> str:
    """The version stamps ``hack/lib/version.sh`` sets, on both packages that carry them."""
    major, minor, _ = version.split(".")
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion=v{version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitCommit=0000000000000000000000000000000000000000",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate={KUBE_BUILD_DATE}",
        ]
    return " ".join(flags)


def kube_wrapper_gomod(version: str, upstream_gomod: str) -> str:
    """The wrapper module's go.mod: require k8s.io/kubernetes and pin every staging module it replaces."""
    staging = re.findall(r"^\s+(k8s\.io/[\w.-]+) v0\.0\.0$", upstream_gomod, flags=re.MULTILINE)
    if not staging:
        raise ValueError("no k8s.io staging requirements found in k8s.io/kubernetes go.mod")
    staging_version = "v0." + version.split(".", 1)[1]
    lines = [
        "module swarmconf.local/kubebuild",
        "",
        "go 1.24.0",
        "",
        # the godebug line only takes effect from the main module, so mirror upstream's here
        "godebug default=go1.24",
        "",
        f"require k8s.io/kubernetes v{version}",
        "",
    ]
    lines += [f"replace {m} => {m} {staging_version}" for m in sorted(set(staging))]
    return "\n".join(lines) + "\n"


def build_kubernetes(workdir: Path, out: Path, log: Path) -> None:
    """Build the seven Kubernetes binaries into ``out`` through a wrapper module in ``workdir``."""
    version = versions.KUBERNETES
    upstream = module_dir("k8s.io/kubernetes", f"v{version}", log)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "go.mod").write_text(kube_wrapper_gomod(version, (upstream / "go.mod").read_text()))
    packages = [f"k8s.io/kubernetes/cmd/{cmd}" for cmd in KUBE_COMMANDS]
    env = go_env()
    run(
        ["go", "get", *[f"{p}@v{version}" for p in packages]],
        what="resolve Kubernetes modules",
        log=log,
        cwd=workdir,
        env=env,
        timeout=1800,
    )
    out.mkdir(parents=True, exist_ok=True)
    # one invocation, so the seven binaries share compile work
    run(
        ["go", "build", "-trimpath", "-ldflags", kube_ldflags(version), "-o", f"{out}/", *packages],
        what="compile Kubernetes",
        log=log,
        cwd=workdir,
        env=env,
        timeout=5400,
    )


def build_etcd(workdir: Path, out: Path, log: Path) -> None:
    """Build etcd and etcdctl through a wrapper module (their go.mod files use relative replaces)."""
    version = f"v{versions.ETCD}"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "go.mod").write_text("module swarmconf.local/etcdbuild\n\ngo 1.24\n")
    env = go_env()
    mods = ["go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/etcdctl/v3"]
    run(["go", "get", *[f"{m}@{version}" for m in mods]], what="resolve etcd modules", log=log, cwd=workdir, env=env)
    out.mkdir(parents=True, exist_ok=True)
    for mod, name in zip(mods, ("etcd", "etcdctl"), strict=True):
        run(
            ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", str(out / name), mod],
            what=f"compile {name}",
            log=log,
            cwd=workdir,
            env=env,
            timeout=1800,
        )


def go_install(module: str, version: str, out: Path, log: Path, binary: str) -> None:
    """``go install module@version`` into ``out`` (for modules without replace directives)."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**go_env(), "GOBIN": str(out)}
    run(
        ["go", "install", "-trimpath", "-ldflags", "-s -w", f"{module}@{version}"],
        what=f"compile {binary}",
        log=log,
        env=env,
        timeout=1800,
        cwd=out,
    )
    if not (out / binary).is_file():
        raise FileNotFoundError(f"go install {module}@{version} did not produce {out / binary}")


def build_kind(out: Path, log: Path) -> None:
    """The kind CLI at the pinned release."""
    go_install("sigs.k8s.io/kind", versions.KIND, out, log, "kind")


def build_coredns(out: Path, log: Path) -> None:
    """CoreDNS with its default plugin set."""
    go_install("github.com/coredns/coredns", f"v{versions.COREDNS}", out, log, "coredns")


def build_kube_network_policies(patch: Path, workdir: Path, out: Path, log: Path) -> None:
    """kube-network-policies' agent (``netpol``, as in upstream's image) from its module with ``patch`` applied.

    The patch sends packets to nfqueue through the xtables NFQUEUE target (nft_compat) instead of nftables'
    own queue expression, which kernels built without ``CONFIG_NFT_QUEUE`` refuse (the agent then programs no
    rule at all, and enforces nothing); see the patch's ``xtqueue.go``.
    """
    module = "sigs.k8s.io/kube-network-policies"
    build_patched_module(module, versions.KUBE_NETWORK_POLICIES, patch, workdir, out / "netpol", "./cmd", log)


def build_patched_module(
    module: str, version: str, patch: Path, workdir: Path, binary: Path, package: str, log: Path
) -> None:
    """``binary`` built from ``package`` of ``module`` at ``version`` (from the module proxy) with ``patch``
    applied (``patch -p1`` in a writable copy at ``workdir``), in module mode as ``go install`` would."""
    source = module_dir(module, version, log)
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(source, workdir)
    for path in workdir.rglob("*"):  # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    name = module.rsplit("/", 1)[-1]
    run(["patch", "-p1", "-i", str(patch)], what=f"patch {name}", log=log, cwd=workdir)
    binary.parent.mkdir(parents=True, exist_ok=True)
    run(
        ["go", "build", "-mod=mod", "-trimpath", "-ldflags", "-s -w", "-o", str(binary), package],
        what=f"compile {binary.name}",
        log=log,
        env=go_env(),
        timeout=1800,
        cwd=workdir,
    )


def build_local_path_provisioner(patch: Path, workdir: Path, out: Path, log: Path) -> None:
    """rancher's local-path-provisioner with ``patch`` applied: a volume on the provisioner's own node is made and
    removed by the provisioner itself instead of a helper pod (see the patch's ``direct.go``; measured 2026-12-07
    on this machine: a helper pod took a median 5 s per volume). ``-mod=mod``: the module's vendor folder is
    incomplete, and ``go install module@version`` ignores it too."""
    build_patched_module(
        "github.com/rancher/local-path-provisioner",
        versions.LOCAL_PATH_PROVISIONER,
        patch,
        workdir,
        out / "local-path-provisioner",
        ".",
        log,
    )


def metacontroller_ldflags() -> str:
    """The stamps upstream's release build (goreleaser) sets, so the binary logs the version it is."""
    version = versions.METACONTROLLER.removeprefix("v")
    return (
        f"-X main.version={version} -X main.commit={versions.METACONTROLLER_COMMIT} "
        "-X main.date=2026-01-01T00:00:00Z -X main.builtBy=swarmconf -s -w"
    )


def build_metacontroller(archive: Path, workdir: Path, out: Path, log: Path) -> None:
    """Upstream Metacontroller's binary from its source archive, built as its release is (static, stripped)."""
    source = sources.extract(archive, workdir)
    env = go_env()
    run(["go", "mod", "download"], what="download Metacontroller's modules", log=log, cwd=source, env=env)
    out.mkdir(parents=True, exist_ok=True)
    run(
        [
            "go",
            "build",
            "-trimpath",
            "-ldflags",
            metacontroller_ldflags(),
            "-o",
            str(out / "metacontroller"),
            "./pkg/cmd/metacontroller",
        ],
        what="compile Metacontroller",
        log=log,
        cwd=source,
        env=env,
        timeout=1800,
    )
    shutil.rmtree(workdir, ignore_errors=True)  # the source tree is re-extracted when the key changes


def go_available() -> bool:
    """Whether a Go toolchain is on PATH."""
    return any((Path(p) / "go").is_file() for p in os.environ.get("PATH", "").split(os.pathsep))
