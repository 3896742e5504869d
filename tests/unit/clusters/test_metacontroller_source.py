"""Upstream Metacontroller's source and deploy files: found where the user says, checked against the pin, cached,
and read the way upstream's kustomization reads them; the offline build plans its binary and image.

The archives here are small stand-ins made by the test (the real one is 1.6 MB): the pin is patched to their
checksum, so every branch of the lookup runs without the network or ``../shared``.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import httpx
import pytest

from swarmconf.clusters import versions
from swarmconf.clusters.metacontroller import install
from swarmconf.clusters.offline import gobuild, sources
from swarmconf.clusters.offline.build import Plan

TOP = sources.TOP_FOLDER
KUSTOMIZATION = """commonLabels:
  app.kubernetes.io/name: metacontroller
resources:
- metacontroller-namespace.yaml
- metacontroller.yaml
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: metacontroller\n"
STATEFULSET = f"""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: metacontroller
  namespace: metacontroller
spec:
  selector: {{matchLabels: {{app.kubernetes.io/name: metacontroller}}}}
  template:
    spec:
      containers:
      - name: metacontroller
        image: {versions.METACONTROLLER_IMAGE}
"""


def make_archive(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{TOP}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A pinned stand-in archive (go.mod and upstream's production manifests), with no user setting."""
    (tmp_path / "given").mkdir()
    made = make_archive(
        tmp_path / "given" / sources.ARCHIVE_NAME,
        {
            "go.mod": "module metacontroller\n",
            "manifests/production/kustomization.yaml": KUSTOMIZATION,
            "manifests/production/metacontroller-namespace.yaml": NAMESPACE,
            "manifests/production/metacontroller.yaml": STATEFULSET,
        },
    )
    monkeypatch.setattr(versions, "METACONTROLLER_SOURCE_SHA256", sources.sha256_of(made))
    monkeypatch.delenv(sources.SOURCE_ENV, raising=False)
    return made


def no_network(*args: object, **kwargs: object) -> None:
    raise httpx.ConnectError("no route to GitHub in this test")


def test_a_given_file_is_verified_and_cached(archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sources.SOURCE_ENV, str(archive))
    found = sources.metacontroller_source(tmp_path / "cache")
    assert found == tmp_path / "cache" / "sources" / sources.ARCHIVE_NAME
    assert found.read_bytes() == archive.read_bytes()
    monkeypatch.delenv(sources.SOURCE_ENV)
    monkeypatch.setattr(httpx, "stream", no_network)
    assert sources.metacontroller_source(tmp_path / "cache") == found  # the cache alone serves the next run


def test_a_given_folder_is_searched_for_the_archive_name(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources.use_metacontroller_source(archive.parent)
    try:
        assert sources.metacontroller_source(tmp_path / "cache").name == sources.ARCHIVE_NAME
    finally:
        monkeypatch.delenv(sources.SOURCE_ENV)


def test_a_wrong_archive_is_refused_with_where_to_get_the_right_one(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = make_archive(tmp_path / "wrong.tar.gz", {"go.mod": "module other\n"})
    monkeypatch.setenv(sources.SOURCE_ENV, str(wrong))
    with pytest.raises(sources.SourceError) as error:
        sources.metacontroller_source(tmp_path / "cache")
    message = str(error.value)
    assert sources.sha256_of(wrong) in message and versions.METACONTROLLER_SOURCE_SHA256 in message
    assert "--metacontroller-source" in message and sources.SOURCE_ENV in message
    assert not (tmp_path / "cache" / "sources" / sources.ARCHIVE_NAME).exists()


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(sources.SourceError, match="no such file or folder"):
        sources.use_metacontroller_source(tmp_path / "nowhere.tar.gz")


def test_nothing_given_nothing_cached_and_no_github_is_a_clear_error(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(httpx, "stream", no_network)
    with pytest.raises(sources.SourceError, match="GitHub did not serve it") as error:
        sources.metacontroller_source(tmp_path / "cache")
    assert "--metacontroller-source" in str(error.value)
    assert list((tmp_path / "cache" / "sources").iterdir()) == []  # no partial download left behind


def test_a_damaged_cached_copy_is_replaced_by_a_download(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = tmp_path / "cache" / "sources" / sources.ARCHIVE_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"damaged")

    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def raise_for_status(self) -> None:
            return None

        def iter_bytes(self) -> list[bytes]:
            return [archive.read_bytes()]

    monkeypatch.setattr(httpx, "stream", lambda *a, **k: Response())
    assert sources.metacontroller_source(tmp_path / "cache").read_bytes() == archive.read_bytes()


def test_install_reads_upstreams_production_files_with_common_labels(archive: Path) -> None:
    objects = install.manifests(archive)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Namespace", "metacontroller"),
        ("StatefulSet", "metacontroller"),
    ]
    assert all(o["metadata"]["labels"] == {"app.kubernetes.io/name": "metacontroller"} for o in objects)


def test_install_refuses_deploy_files_that_run_another_image(archive: Path, tmp_path: Path) -> None:
    other = make_archive(
        tmp_path / "other.tar.gz",
        {
            "manifests/production/kustomization.yaml": KUSTOMIZATION,
            "manifests/production/metacontroller-namespace.yaml": NAMESPACE,
            "manifests/production/metacontroller.yaml": STATEFULSET.replace(versions.METACONTROLLER, "v9.9.9"),
        },
    )
    with pytest.raises(install.MetacontrollerInstallError, match=r"v9\.9\.9"):
        install.manifests(other)


def test_the_offline_build_plans_upstreams_binary_and_image(tmp_path: Path) -> None:
    plan = Plan(tmp_path)
    names = [step.name for step in plan.steps]
    assert "go: metacontroller" in names and "image: metacontroller" in names
    assert names.index("image: metacontroller") < names.index("node: preload images")
    image = next(c for c in plan.component_images() if c.name == "metacontroller")
    assert image.tag == versions.METACONTROLLER_IMAGE == "ghcr.io/metacontroller/metacontroller:v4.17.2"
    recipe = image.recipe_files[0].read_text()
    assert "/usr/bin/metacontroller" in recipe and "USER 65532" in recipe


def test_the_binary_is_stamped_like_upstreams_release() -> None:
    flags = gobuild.metacontroller_ldflags()
    assert "-X main.version=4.17.2" in flags
    assert f"-X main.commit={versions.METACONTROLLER_COMMIT}" in flags
