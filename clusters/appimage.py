"""The project's one app image (reference platform, test helpers), built here, and loading images into kind.

Two layers keyed separately, so editing the code rebuilds seconds' worth, not the Python runtime:

* ``swarmconf.local/python-base:<key>`` -- Debian's python3 with a venv holding :data:`REQUIREMENTS`,
  installed from wheels that the host's pip builds (``pip wheel``) at the versions installed in the
  harness's own environment;
* ``swarmconf.local/apps:<key>`` -- the ``swarmconf`` packages laid out under ``/app`` as they are
  imported (``clusters/`` as ``swarmconf/clusters`` …), keyed by the content of those files.

:func:`ensure_app_image` builds what is missing and loads the image into a kind cluster once.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from pathlib import Path

from .engine import images
from .offline.build import DEBIAN_BASE, ensure_offline_build
from .offline.cache import RECIPES, cache_root, content_key
from .proc import CommandError, run

REPO = Path(__file__).resolve().parent.parent
#: Distributions the in-cluster components import (their dependencies follow).
REQUIREMENTS = ("starlette", "uvicorn", "httpx", "kubernetes", "pydantic", "PyYAML", "PyJWT", "cryptography")
#: Repository folder -> import path inside the image.
PACKAGES = {
    "swarmconf": "swarmconf",
    "clusters": "swarmconf/clusters",
    "reference": "swarmconf/reference",
    "fixtures": "swarmconf/fixtures",
    "reports": "swarmconf/reports",
}
SOURCE_SUFFIXES = (".py", ".yaml", ".json")


def pinned_requirements() -> list[str]:
    """:data:`REQUIREMENTS` pinned to the versions installed where the harness runs."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in REQUIREMENTS]


#: Folders that hold run outputs or tools, never code: skipped (their files change while runs write reports).
EXCLUDED_PARTS = frozenset({"__pycache__", "out", ".node", "node_modules"})


def source_files() -> list[Path]:
    """The files that go into the app image (code and manifests; no run outputs)."""
    files = []
    for folder in PACKAGES:
        for path in sorted((REPO / folder).rglob("*")):
            parts = set(path.relative_to(REPO).parts)
            if path.suffix in SOURCE_SUFFIXES and not parts & EXCLUDED_PARTS and path.is_file():
                files.append(path)
    return files


def _build_base(tag: str, key: str, log: Path) -> None:
    ctx = cache_root() / "work" / "ctx" / "python-base"
    shutil.rmtree(ctx, ignore_errors=True)
    wheels = ctx / "wheels"
    wheels.mkdir(parents=True)
    requirements = pinned_requirements()
    (wheels / "requirements.txt").write_text("\n".join(requirements) + "\n")
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), *requirements],
        what="build wheels for the app image",
        log=log,
        timeout=900,
    )
    shutil.copyfile(RECIPES / "app" / "base.Dockerfile", ctx / "Dockerfile")
    images.build(ctx, tag, key, log, build_args={"BASE": DEBIAN_BASE})


def _build_app(tag: str, key: str, base: str, log: Path) -> None:
    ctx = cache_root() / "work" / "ctx" / "app"
    shutil.rmtree(ctx, ignore_errors=True)
    for path in source_files():
        folder = path.relative_to(REPO).parts[0]
        dest = ctx / "app" / PACKAGES[folder] / path.relative_to(REPO / folder)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    shutil.copyfile(RECIPES / "app" / "app.Dockerfile", ctx / "Dockerfile")
    images.build(ctx, tag, key, log, build_args={"BASE": base})


def build_app_image() -> str:
    """Build (or reuse) the app image; return its tag."""
    ensure_offline_build()  # the Debian base image (and a Docker daemon)
    log = cache_root() / "logs" / "app-image.log"
    base_key = content_key("python-base", *pinned_requirements(), files=[RECIPES / "app" / "base.Dockerfile"])
    base_tag = f"swarmconf.local/python-base:{base_key}"
    if images.image_key(base_tag) != base_key:
        _build_base(base_tag, base_key, log)
    app_key = content_key(
        base_key,
        *(str(p.relative_to(REPO)) for p in source_files()),
        files=[*source_files(), RECIPES / "app" / "app.Dockerfile"],
    )
    tag = f"swarmconf.local/apps:{app_key}"
    if images.image_key(tag) != app_key:
        _build_app(tag, app_key, base_tag, log)
    return tag


def loaded_in_node(node: str, tag: str) -> bool:
    """Whether containerd in a kind node already holds ``tag``."""
    try:
        out = run(
            ["docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q"], what="list node images", timeout=60
        )
    except CommandError:
        return False
    return any(line.strip() in (tag, f"docker.io/{tag}") for line in out.splitlines())


def load_image(cluster_name: str, tag: str) -> None:
    """Load a local Docker image into kind cluster ``cluster_name`` unless its node already holds it."""
    node = f"{cluster_name}-control-plane"
    if loaded_in_node(node, tag):
        return
    kind = ensure_offline_build().kind
    run(
        [str(kind), "load", "docker-image", "--name", cluster_name, tag],
        what=f"load {tag} into {cluster_name}",
        log=cache_root() / "logs" / "load-image.log",
        timeout=600,
    )


def ensure_app_image(cluster_name: str) -> str:
    """Build the app image if needed and load it into kind cluster ``cluster_name``; return its tag."""
    tag = build_app_image()
    load_image(cluster_name, tag)
    return tag
