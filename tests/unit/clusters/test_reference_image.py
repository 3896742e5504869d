"""The reference-only image: the reference platform and nothing of the harness.

Coverage matrix:

| area      | cases                                                                                            |
|-----------|--------------------------------------------------------------------------------------------------|
| layout    | every file is under ``swarmconf/reference/`` but the generated package root; manifests included |
| imports   | every module of the layout, imported from a copy of it alone, loads no ``swarmconf`` module     |
|           | outside ``swarmconf.reference`` (and the package root is the image's own)                       |
| keys      | the app and reference images differ in name and key; the app image still holds everything       |
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from swarmconf.clusters import appimage


def _write(layout: dict[str, Path | str], root: Path) -> None:
    for inside, origin in layout.items():
        dest = root / inside
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(origin, Path):
            dest.write_bytes(origin.read_bytes())
        else:
            dest.write_text(origin)


def test_layout_holds_only_the_reference() -> None:
    layout = appimage.image_layout("reference")
    assert "swarmconf/reference/manifests/40-orchestrator.yaml" in layout
    assert "swarmconf/reference/runtime/app.py" in layout
    outside = [p for p in layout if not p.startswith("swarmconf/reference/") and p != "swarmconf/__init__.py"]
    assert outside == []
    assert isinstance(layout["swarmconf/__init__.py"], str)  # generated, not the harness's package root


def test_no_harness_module_is_imported_from_the_reference_image(tmp_path: Path) -> None:
    layout = appimage.image_layout("reference")
    _write(layout, tmp_path)
    modules = sorted(
        p.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for p in layout
        if p.endswith(".py") and p != "swarmconf/__init__.py"
    )
    script = f"""
import importlib, json, sys
sys.path.insert(0, {str(tmp_path)!r})
for name in {modules!r}:
    importlib.import_module(name)
import swarmconf
print(json.dumps({{"root": swarmconf.__file__, "loaded": sorted(m for m in sys.modules if m.startswith("swarmconf"))}}))
"""
    # -I: no current directory or PYTHON* variables on the path, so only the copy can provide swarmconf
    out = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True, cwd="/")
    seen = json.loads(out.stdout)
    assert seen["root"] == str(tmp_path / "swarmconf" / "__init__.py")
    assert len(seen["loaded"]) > 20  # every reference module really came in
    harness = [m for m in seen["loaded"] if m != "swarmconf" and not m.startswith("swarmconf.reference")]
    assert harness == []


def test_the_two_images_are_distinct() -> None:
    app, ref = appimage.image_layout("app"), appimage.image_layout("reference")
    assert appimage.IMAGES["app"].repository != appimage.IMAGES["reference"].repository
    assert {p for p in ref if p.startswith("swarmconf/reference/")} <= set(app)
    assert any(p.startswith("swarmconf/fixtures/") for p in app)
