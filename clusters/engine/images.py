"""Docker image operations the build and the cluster layer share: inspect, build, import, save, remove.

Builds use Docker's classic builder (``DOCKER_BUILDKIT=0``): BuildKit would need a frontend image from a
registry. Every image we build carries the label ``swarmconf.key`` with the content key it was built from,
which is how a warm run knows it can reuse it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..proc import CommandError, run

KEY_LABEL = "swarmconf.key"
CLASSIC_BUILDER = {"DOCKER_BUILDKIT": "0"}


def image_key(tag: str) -> str | None:
    """The ``swarmconf.key`` label of a local image, ``""`` if unlabelled, ``None`` if absent."""
    try:
        out = run(["docker", "image", "inspect", tag], what=f"inspect image {tag}", timeout=60)
    except CommandError:
        return None
    labels = (json.loads(out)[0].get("Config") or {}).get("Labels") or {}
    return labels.get(KEY_LABEL, "")


def image_id(tag: str) -> str | None:
    """The local image ID of ``tag``, or None."""
    try:
        return run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], what="inspect", timeout=60).strip()
    except CommandError:
        return None


def build(context: Path, tag: str, key: str, log: Path, *, build_args: dict[str, str] | None = None) -> None:
    """``docker build`` the ``Dockerfile`` in ``context`` as ``tag``, labelled with ``key``."""
    cmd = ["docker", "build", "--label", f"{KEY_LABEL}={key}", "-t", tag]
    for name, value in (build_args or {}).items():
        cmd += ["--build-arg", f"{name}={value}"]
    run([*cmd, str(context)], what=f"build image {tag}", log=log, env=CLASSIC_BUILDER, timeout=1800)


def import_tar(tarball: Path, tag: str, key: str, log: Path) -> None:
    """``docker import`` a root filesystem tarball as ``tag``, labelled with ``key``."""
    run(
        ["docker", "import", "--change", f"LABEL {KEY_LABEL}={key}", str(tarball), tag],
        what=f"import root filesystem as {tag}",
        log=log,
        timeout=900,
    )


def save(tags: list[str], dest: Path, log: Path) -> None:
    """``docker save`` several images into one archive."""
    run(["docker", "save", "-o", str(dest), *tags], what="save images", log=log, timeout=900)


def remove(tag: str) -> None:
    """Remove a local image if it exists (used to drop intermediate images)."""
    with contextlib.suppress(CommandError):
        run(["docker", "image", "rm", "-f", tag], what=f"remove image {tag}", timeout=120)
