"""Root filesystems the images start from, made locally: no base image can be pulled here.

* the **Debian base** -- ``debootstrap --variant=minbase`` of the pinned suite, imported into Docker; the
  node image and kube-proxy build on it (``apt-get`` works inside ``docker build``);
* the **static base** -- a hand-made filesystem with just ``/etc/passwd``, ``/etc/group``, ``/tmp`` and a
  CA bundle, standing in for distroless-static under the control-plane binaries, etcd and CoreDNS.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from .. import versions
from ..engine import images
from ..proc import run

PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def debian_base(tag: str, key: str, cache: Path, log: Path) -> None:
    """debootstrap the pinned Debian suite (tarball kept in ``cache``) and import it as ``tag``."""
    tarball = cache / f"debian-{versions.DEBIAN_SUITE}-minbase-{key}.tar"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="swarmconf-rootfs-", dir=cache) as tmp:
            root = Path(tmp) / "rootfs"
            run(
                ["debootstrap", "--variant=minbase", versions.DEBIAN_SUITE, str(root), versions.DEBIAN_MIRROR],
                what="debootstrap the Debian base",
                log=log,
                timeout=1800,
            )
            # apt inside later builds must not try to reach anything but the Debian mirror
            (root / "etc/apt/sources.list").write_text(
                f"deb {versions.DEBIAN_MIRROR} {versions.DEBIAN_SUITE} main\n"
                f"deb {versions.DEBIAN_MIRROR} {versions.DEBIAN_SUITE}-updates main\n"
                f"deb {versions.DEBIAN_MIRROR.replace('/debian', '/debian-security')} "
                f"{versions.DEBIAN_SUITE}-security main\n"
            )
            partial = tarball.with_suffix(".partial")
            run(
                ["tar", "-C", str(root), "--numeric-owner", "-cf", str(partial), "."],
                what="pack the Debian base",
                log=log,
                timeout=900,
            )
            partial.rename(tarball)
    images.import_tar(tarball, tag, key, log)


def static_base_tar() -> bytes:
    """A tiny root filesystem as a tar archive: passwd, group, nsswitch, /tmp and the CA bundle."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, mode in (("etc", 0o755), ("tmp", 0o1777), ("home/nonroot", 0o755), ("etc/ssl/certs", 0o755)):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        files = {
            "etc/passwd": PASSWD.encode(),
            "etc/group": GROUP.encode(),
            "etc/nsswitch.conf": b"hosts: files dns\n",
            "etc/ssl/certs/ca-certificates.crt": HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else b"",
        }
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def static_base(tag: str, key: str, cache: Path, log: Path) -> None:
    """Import the static base filesystem as ``tag``."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"static-base-{key}.tar"
    tarball.write_bytes(static_base_tar())
    images.import_tar(tarball, tag, key, log)


def copy_binary(src: Path, dest_dir: Path, name: str | None = None) -> Path:
    """Copy an executable into a build context, mode 0755."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / (name or src.name)
    shutil.copyfile(src, dest)
    dest.chmod(0o755)
    return dest
