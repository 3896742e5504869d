"""The kind node image, assembled the way ``kind build node-image`` does it, from local material only.

Stage 1 is a ``docker build`` of ``recipes/node/Dockerfile`` on the Debian base: packages, kind's own base
files (from the ``sigs.k8s.io/kind`` module, with their modes restored: the module cache drops exec bits),
our Kubernetes binaries, ``/kind/version`` and the two manifests kind applies. Stage 2 follows kind's
``buildcontext.go``: a *non-privileged* container runs containerd just long enough to import every
component image with ``--no-unpack`` into the ``k8s.io`` namespace, then ``docker commit`` saves it.
The image declares no ``VOLUME /var``, or the commit would drop containerd's content.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from string import Template
from typing import Any

import yaml

from .. import versions
from ..proc import run
from .cache import RECIPES

NODE_RECIPES = RECIPES / "node"
ENTRYPOINT = '["/usr/local/bin/entrypoint", "/sbin/init"]'


def storage_manifest(kind_dir: Path, provisioner_image: str, helper_image: str) -> str:
    """kind's default-storage manifest (from its module source), pointed at our provisioner images."""
    source = (kind_dir / "pkg/build/nodeimage/const_storage.go").read_text()
    # substitute the Go string concatenations first, so the raw string reads as one literal
    source = source.replace("` + storageProvisionerImage + `", provisioner_image)
    source = source.replace("` + storageHelperImage + `", helper_image)
    match = re.search(r"const defaultStorageManifest = `(.*?)`", source, flags=re.DOTALL)
    if not match:
        raise ValueError("defaultStorageManifest not found in kind's const_storage.go")
    text = match.group(1)
    if "storageProvisionerImage" in text or "storageHelperImage" in text or "local-path-storage" not in text:
        raise ValueError("unexpected template syntax left in kind's storage manifest")
    return without_helper_pods(text)


DIRECT_ROOT = "/host"
"""Where the provisioner sees the node's volume folder (``LOCAL_PATH_DIRECT_ROOT`` of our patch)."""
VOLUME_FOLDER = "/var/local-path-provisioner"
"""kind's volume folder on the node (``nodePathMap`` in its manifest's ``config.json``)."""


def without_helper_pods(manifest: str) -> str:
    """The storage manifest with our provisioner patch switched on (``recipes/patches/local-path-provisioner-
    direct.patch``): the provisioner knows its node and sees the node's volume folder, so it makes and removes
    the volumes of its own node itself instead of starting a helper pod for each."""
    if f'"{VOLUME_FOLDER}"' not in manifest:
        raise ValueError(f"kind's storage manifest no longer keeps volumes in {VOLUME_FOLDER}")
    docs: list[dict[str, Any]] = [d for d in yaml.safe_load_all(manifest) if d]
    found = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "local-path-provisioner"]
    if len(found) != 1:
        raise ValueError("kind's storage manifest has no local-path-provisioner Deployment")
    pod = found[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    container.setdefault("env", []).extend(
        [
            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "LOCAL_PATH_DIRECT_ROOT", "value": DIRECT_ROOT},
        ]
    )
    container.setdefault("volumeMounts", []).append({"name": "node-volumes", "mountPath": DIRECT_ROOT + VOLUME_FOLDER})
    pod.setdefault("volumes", []).append(
        {"name": "node-volumes", "hostPath": {"path": VOLUME_FOLDER, "type": "DirectoryOrCreate"}}
    )
    return yaml.safe_dump_all(docs, sort_keys=False)


def copy_kind_base_files(kind_dir: Path, dest: Path) -> None:
    """Copy kind's ``images/base/files`` with the modes its Dockerfile gives them."""
    src = kind_dir / "images/base/files"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    for path in dest.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    for folder in ("usr/local/bin", "kind/bin"):
        for script in (dest / folder).iterdir():
            script.chmod(0o755)


def stage1_context(kind_dir: Path, kube_bin: Path, dest: Path) -> Path:
    """Lay out the stage-1 build context in ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copyfile(NODE_RECIPES / "Dockerfile", dest / "Dockerfile")
    shutil.copyfile(NODE_RECIPES / "10-ptp.conflist", dest / "10-ptp.conflist")
    config = Template((NODE_RECIPES / "containerd-config.toml").read_text())
    (dest / "containerd-config.toml").write_text(config.substitute(PAUSE_IMAGE=versions.kube_images()["pause"]))
    copy_kind_base_files(kind_dir, dest / "kindbase")
    (dest / "bin").mkdir()
    for name in ("kubeadm", "kubelet", "kubectl"):
        shutil.copyfile(kube_bin / name, dest / "bin" / name)
        (dest / "bin" / name).chmod(0o755)
    manifests = dest / "kind" / "manifests"
    manifests.mkdir(parents=True)
    (dest / "kind" / "version").write_text(f"v{versions.KUBERNETES}\n")
    shutil.copyfile(NODE_RECIPES / "default-cni.yaml", manifests / "default-cni.yaml")
    storage = versions.storage_images()
    (manifests / "default-storage.yaml").write_text(
        storage_manifest(kind_dir, storage["local-path-provisioner"], storage["local-path-helper"])
    )
    return dest


IMPORT_SCRIPT = r"""
set -eu
containerd >/tmp/containerd.log 2>&1 &
pid=$!
for i in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
ctr version >/dev/null
ctr -n k8s.io images import --all-platforms --no-unpack --digests /kind/images.tar
ctr -n k8s.io images ls -q
kill $pid; wait $pid || true
rm -f /kind/images.tar /tmp/containerd.log
"""


def stage2_preload(stage1_tag: str, archive: Path, tag: str, key: str, log: Path) -> list[str]:
    """Import ``archive`` into containerd inside a stage-1 container; commit it as ``tag``.

    Returns the image references containerd now holds, for the build report.
    """
    cid = run(
        ["docker", "run", "-d", "--entrypoint=sleep", "--security-opt", "seccomp=unconfined", stage1_tag, "infinity"],
        what="start the node build container",
        log=log,
    ).strip()
    try:
        run(
            ["docker", "cp", str(archive), f"{cid}:/kind/images.tar"],
            what="copy images into the node",
            log=log,
            timeout=900,
        )
        listed = run(
            ["docker", "exec", cid, "bash", "-c", IMPORT_SCRIPT],
            what="preload images into containerd",
            log=log,
            timeout=1200,
        )
        run(
            [
                "docker",
                "commit",
                "--change",
                f"ENTRYPOINT {ENTRYPOINT}",
                "--change",
                "CMD []",
                "--change",
                f"LABEL swarmconf.key={key}",
                cid,
                tag,
            ],
            what="commit the node image",
            log=log,
            timeout=900,
        )
    finally:
        run(["docker", "rm", "-f", cid], what="remove the node build container", log=log)
    return [line for line in listed.splitlines() if line and not line.startswith("sha256:")]
