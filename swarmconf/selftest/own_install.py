"""A private install of the platform for a self-test on a shared cluster: the same profile, other namespaces.

The defect switch lives in the platform namespace and every component of the reference reads only its own
install's switch and handles only its own install's UserSwarms (the CompositeController and the reaper select
on ``crawbl.ai/platform=<platform namespace>``). So a self-test that installs the platform again under its own
namespaces can switch defects without touching anyone else's runs on the same cluster. :func:`derive` writes
that profile (the variables ``PLATFORM_NAMESPACE`` and ``RUNTIME_NAMESPACE`` renamed, manifest paths made
absolute) next to the self-test's reports; the self-test installs it and removes it at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from swarmconf.fixtures.profiles import ProfileError, resolve_profile_path

RENAMED = ("PLATFORM_NAMESPACE", "RUNTIME_NAMESPACE")


def derive(profile: str, *, suffix: str, folder: Path) -> Path:
    """Write ``<folder>/profile.yaml``: ``profile`` with its namespaces suffixed; return its path."""
    source = resolve_profile_path(profile)
    doc: dict[str, Any] = yaml.safe_load(source.read_text())
    variables = (doc.get("install") or {}).get("variables") or {}
    missing = [v for v in RENAMED if v not in variables]
    if missing:
        raise ProfileError(f"profile {source}: --own-install needs install.variables {', '.join(missing)}")
    for var in RENAMED:
        variables[var] = f"{variables[var]}-{suffix}"[:63].rstrip("-")
    install = doc["install"]
    install["manifests"] = [str((source.parent / m).resolve()) for m in install.get("manifests") or []]
    doc["name"] = f"{doc.get('name', source.stem)}-{suffix}"
    doc["description"] = f"{doc.get('description', '')} (private install of a self-test)".strip()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "profile.yaml"
    target.write_text(f"# derived from {source} by swarmconf selftest --own-install\n" + yaml.safe_dump(doc))
    return target
