"""Source archives no registry serves here: found, checked against their pin, and cached.

Today that is upstream Metacontroller's source at the pinned tag (its ``go.mod`` says ``module metacontroller``,
so the Go module proxy cannot serve it). :func:`metacontroller_source` returns a verified local copy, looking in
this order:

1. the path the user gave: ``--metacontroller-source PATH`` (which sets :data:`SOURCE_ENV`) or the environment
   variable itself: the archive, or a folder that holds it under :data:`ARCHIVE_NAME`;
2. the copy an earlier build cached (``<cache>/sources/``);
3. GitHub's tag tarball, when GitHub answers.

Whatever is found must match the pinned sha256, or the build stops with an error that says what was found,
what was expected and where to get the right file. A good copy is cached, so later runs need none of the above.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import httpx

from .. import versions
from .cache import cache_root

SOURCE_ENV = "SWARMCONF_METACONTROLLER_SOURCE"
ARCHIVE_NAME = f"metacontroller-{versions.METACONTROLLER}.tar.gz"
TOP_FOLDER = f"metacontroller-{versions.METACONTROLLER.removeprefix('v')}"
GITHUB_URL = f"https://github.com/metacontroller/metacontroller/archive/refs/tags/{versions.METACONTROLLER}.tar.gz"
HOW_TO_GET = (
    f"get upstream Metacontroller {versions.METACONTROLLER}'s source archive "
    f"(`git archive --prefix={TOP_FOLDER}/ {versions.METACONTROLLER}` of github.com/metacontroller/metacontroller, "
    f"gzip, sha256 {versions.METACONTROLLER_SOURCE_SHA256}) and pass it with --metacontroller-source PATH "
    f"or ${SOURCE_ENV}=PATH"
)


class SourceError(RuntimeError):
    """The source archive is missing or is not the pinned one; the message says how to fix it."""


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def use_metacontroller_source(path: str | Path | None) -> None:
    """Make ``path`` (an option's value) the first place :func:`metacontroller_source` looks, for this
    process and the processes it starts. ``None`` leaves the environment as it is."""
    if path is None:
        return
    given = Path(path).expanduser().resolve()
    if not given.exists():
        raise SourceError(f"--metacontroller-source {path}: no such file or folder; {HOW_TO_GET}")
    os.environ[SOURCE_ENV] = str(given)


def _given() -> Path | None:
    value = os.environ.get(SOURCE_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_dir():
        path = path / ARCHIVE_NAME
    if not path.is_file():
        raise SourceError(f"${SOURCE_ENV}={value}: {path} does not exist; {HOW_TO_GET}")
    return path


def _verified(path: Path, where: str) -> Path:
    actual = sha256_of(path)
    if actual != versions.METACONTROLLER_SOURCE_SHA256:
        raise SourceError(
            f"{where} ({path}) has sha256 {actual}, not the pinned {versions.METACONTROLLER_SOURCE_SHA256} of "
            f"Metacontroller {versions.METACONTROLLER}: a different version or a damaged file; {HOW_TO_GET}"
        )
    return path


def _download(dest: Path, timeout: float) -> Path:
    """GitHub's tag tarball into ``dest`` (a temp file next to it first, so a cut download leaves nothing)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, suffix=".part", delete=False) as part:
        tmp = Path(part.name)
        try:
            with httpx.stream("GET", GITHUB_URL, follow_redirects=True, timeout=timeout) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    part.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(dest)
    return dest


def metacontroller_source(cache: Path | None = None, *, download_timeout: float = 30.0) -> Path:
    """A verified copy of Metacontroller's pinned source archive in the cache; see the module docstring."""
    cached = (cache or cache_root()) / "sources" / ARCHIVE_NAME
    given = _given()
    if given is not None:
        _verified(given, f"${SOURCE_ENV}")
        if not cached.is_file() or sha256_of(cached) != versions.METACONTROLLER_SOURCE_SHA256:
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(given, cached)
        return cached
    if cached.is_file():
        try:
            return _verified(cached, "the cached archive")
        except SourceError:
            cached.unlink()  # damaged: fetch it again below
    try:
        _download(cached, download_timeout)
    except (httpx.HTTPError, OSError) as exc:
        raise SourceError(
            f"Metacontroller {versions.METACONTROLLER}'s source is not in the cache and GitHub did not serve it "
            f"({type(exc).__name__}: {exc}); {HOW_TO_GET}"
        ) from exc
    try:
        return _verified(cached, f"the archive downloaded from {GITHUB_URL}")
    except SourceError:
        cached.unlink(missing_ok=True)
        raise


def extract(archive: Path, dest: Path) -> Path:
    """Unpack the archive into ``dest`` (emptied first); return the source tree's root folder."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    root = dest / TOP_FOLDER
    if not (root / "go.mod").is_file():
        raise SourceError(f"{archive} does not hold {TOP_FOLDER}/go.mod; {HOW_TO_GET}")
    return root


def read_member(archive: Path, member: str) -> str:
    """One text file of the archive, by its path below the top folder (e.g. ``manifests/production/x.yaml``)."""
    with tarfile.open(archive) as tar:
        f = tar.extractfile(f"{TOP_FOLDER}/{member}")
        if f is None:
            raise SourceError(f"{archive} has no file {TOP_FOLDER}/{member}")
        return f.read().decode()
