"""Build contexts for the component images, tagged exactly as kubeadm and the storage add-on expect.

Each image is one recipe from ``recipes/component/`` plus the binaries it ships; :func:`context_for`
lays the context out in a directory, and the build step (``build.py``) runs ``docker build`` on it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .cache import RECIPES
from .rootfs import copy_binary

RECIPE_DIR = RECIPES / "component"


@dataclass(frozen=True)
class Component:
    """One image: its tag, its recipe, the base it builds on, and the binaries it ships."""

    name: str
    tag: str
    recipe: str
    base: str | None  # "debian", "static" or None (FROM scratch)
    binaries: tuple[tuple[str, str], ...]  # (binary source key, file name)
    extra_files: tuple[str, ...] = ()

    @property
    def recipe_files(self) -> list[Path]:
        return [RECIPE_DIR / self.recipe, *(RECIPE_DIR / f for f in self.extra_files)]


def context_for(component: Component, binaries: dict[str, Path], dest: Path) -> Path:
    """Lay out ``component``'s build context in ``dest`` (emptied first); return ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "bin").mkdir(parents=True)
    for source_key, name in component.binaries:
        copy_binary(binaries[source_key], dest / "bin", name)
    shutil.copyfile(RECIPE_DIR / component.recipe, dest / "Dockerfile")
    for extra in component.extra_files:
        shutil.copyfile(RECIPE_DIR / extra, dest / extra)
    return dest
