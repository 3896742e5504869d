"""The project's images (the app image, the reference-only image), built here, and loading images into kind.

Two layers keyed separately, so editing the code rebuilds seconds' worth, not the Python runtime:

* ``swarmconf.local/python-base:<key>`` -- Debian's python3 with a venv holding :data:`REQUIREMENTS`,
  installed from wheels that the host's pip builds (``pip wheel``) at the versions installed in the
  harness's own environment;
* on it, one code layer per :data:`IMAGES` entry, its packages laid out under ``/app`` as they are imported,
  keyed by the content of those files:

  - ``app`` (``swarmconf.local/apps:<key>``): every ``swarmconf`` package (``clusters/`` as
    ``swarmconf/clusters`` …): the reference and the harness's own in-cluster helpers;
  - ``reference`` (``swarmconf.local/reference:<key>``): the reference platform only
    (``swarmconf/reference``, and a ``swarmconf/__init__.py`` of its own), as a stranger's platform image would
    be: no harness code in it.

:func:`ensure_image` builds what is missing and loads the image into a kind cluster once.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .engine import images
from .offline.build import DEBIAN_BASE, ensure_offline_build
from .offline.cache import RECIPES, cache_root, content_key
from .proc import CommandError, run

REPO = Path(__file__).resolve().parent.parent
#: Distributions the in-cluster components import (their dependencies follow).
REQUIREMENTS = ("starlette", "uvicorn", "httpx", "kubernetes", "pydantic", "PyYAML", "PyJWT", "cryptography")
#: Repository folder -> import path inside the app image.
PACKAGES = {
    "swarmconf": "swarmconf",
    "clusters": "swarmconf/clusters",
    "reference": "swarmconf/reference",
    "fixtures": "swarmconf/fixtures",
    "reports": "swarmconf/reports",
}
SOURCE_SUFFIXES = (".py", ".yaml", ".json")


@dataclass(frozen=True)
class ImageRecipe:
    """One code layer on the Python base: which repository folders go where, and what files are generated."""

    repository: str
    """The image name, ``swarmconf.local/<name>`` (the tag is the content key)."""
    packages: Mapping[str, str]
    """Repository folder -> import path inside the image."""
    generated: Mapping[str, str] = field(default_factory=dict)
    """Path inside ``/app`` -> its text, for files the image needs that no folder above gives."""


#: The images by the name a profile's ``install.images`` gives as ``source``.
IMAGES: dict[str, ImageRecipe] = {
    "app": ImageRecipe("swarmconf.local/apps", PACKAGES),
    "reference": ImageRecipe(
        "swarmconf.local/reference",
        {"reference": "swarmconf/reference"},
        # the package root only, so that ``swarmconf.reference`` imports; nothing of the harness
        {"swarmconf/__init__.py": '"""The reference platform (this image holds nothing of the harness)."""\n'},
    ),
}


def pinned_requirements() -> list[str]:
    """:data:`REQUIREMENTS` pinned to the versions installed where the harness runs."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in REQUIREMENTS]


#: Folders that hold run outputs or tools, never code: skipped (their files change while runs write reports).
EXCLUDED_PARTS = frozenset({"__pycache__", "out", ".node", "node_modules"})


def source_files(source: str = "app") -> list[Path]:
    """The files that go into image ``source`` (code and manifests; no run outputs)."""
    files = []
    for folder in IMAGES[source].packages:
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


def image_layout(source: str) -> dict[str, Path | str]:
    """Image ``source``'s files: path inside ``/app`` -> the repository file, or the text of a generated one."""
    recipe = IMAGES[source]
    layout: dict[str, Path | str] = {}
    for path in source_files(source):
        folder = path.relative_to(REPO).parts[0]
        layout[f"{recipe.packages[folder]}/{path.relative_to(REPO / folder).as_posix()}"] = path
    layout.update(recipe.generated)
    return layout


def _build_code(source: str, tag: str, key: str, base: str, log: Path) -> None:
    # One context folder per key: harnesses of other worktrees share the cache, and a shared folder let one
    # build empty or refill another's context while docker read it (an image then lacked whole packages).
    ctx = cache_root() / "work" / "ctx" / f"{source}-{key}"
    shutil.rmtree(ctx, ignore_errors=True)
    try:
        for inside, origin in image_layout(source).items():
            dest = ctx / "app" / inside
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(origin, Path):
                shutil.copyfile(origin, dest)
            else:
                dest.write_text(origin)
        shutil.copyfile(RECIPES / "app" / "app.Dockerfile", ctx / "Dockerfile")
        images.build(ctx, tag, key, log, build_args={"BASE": base})
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


def build_image(source: str = "app") -> str:
    """Build (or reuse) image ``source`` (a key of :data:`IMAGES`); return its tag."""
    ensure_offline_build()  # the Debian base image (and a Docker daemon)
    log = cache_root() / "logs" / f"{source}-image.log"
    base_key = content_key("python-base", *pinned_requirements(), files=[RECIPES / "app" / "base.Dockerfile"])
    base_tag = f"swarmconf.local/python-base:{base_key}"
    if images.image_key(base_tag) != base_key:
        _build_base(base_tag, base_key, log)
    layout = image_layout(source)
    key = content_key(
        base_key,
        source,
        *layout,
        *(text for text in layout.values() if isinstance(text, str)),
        files=[*(p for p in layout.values() if isinstance(p, Path)), RECIPES / "app" / "app.Dockerfile"],
    )
    tag = f"{IMAGES[source].repository}:{key}"
    if images.image_key(tag) != key:
        _build_code(source, tag, key, base_tag, log)
    return tag


def build_app_image() -> str:
    """Build (or reuse) the app image; return its tag."""
    return build_image("app")


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


def ensure_image(cluster_name: str, source: str = "app") -> str:
    """Build image ``source`` if needed and load it into kind cluster ``cluster_name``; return its tag."""
    tag = build_image(source)
    load_image(cluster_name, tag)
    return tag


def ensure_app_image(cluster_name: str) -> str:
    """Build the app image if needed and load it into kind cluster ``cluster_name``; return its tag."""
    return ensure_image(cluster_name, "app")
