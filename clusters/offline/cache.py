"""Where build results live, and the content keys that say whether a result is still good.

A key is a short SHA-256 over the pinned versions and the recipe files a result is made from, so a warm
run can tell, without rebuilding, that nothing changed; any edit to a pin or a recipe changes the key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

RECIPES = Path(__file__).parent / "recipes"


def cache_root() -> Path:
    """``$SWARMCONF_CACHE``, else ``$XDG_CACHE_HOME/swarm-conformance``, else ``~/.cache/swarm-conformance``."""
    if explicit := os.environ.get("SWARMCONF_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "swarm-conformance"


def content_key(*parts: str, files: Iterable[Path] = ()) -> str:
    """A 16-hex-digit key over ``parts`` and the bytes (and relative names) of ``files``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in sorted(files):
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(str(file.relative_to(RECIPES) if file.is_relative_to(RECIPES) else file.name).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def directory_size(path: Path) -> int:
    """Bytes used by the files under ``path`` (0 if it does not exist)."""
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
