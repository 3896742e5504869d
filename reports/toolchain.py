"""The report tools that do not come from PyPI: the Allure 3 CLI (npm, pure Node: no Java) and Chromium.

``python -m swarmconf.reports.toolchain`` installs both (``.ci/run`` calls it); :func:`ensure_allure` and
:func:`ensure_chromium` are also called lazily by ``swarmconf run`` / ``swarmconf report`` and by the browser
test. The Allure CLI goes into a project-local npm prefix (``reports/.node/``, git-ignored); Chromium comes
from Debian's ``chromium`` package, installed with apt-get when we are root on Debian.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

#: The pinned Allure 3 CLI (npm package ``allure``).
ALLURE_VERSION = "3.18.0"
#: Project-local npm prefix; ``reports/.node`` in a source checkout.
NODE_PREFIX = Path(__file__).resolve().parent / ".node"
CHROMIUM_NAMES = ("chromium", "chromium-browser")

Log = Callable[[str], None]


class ToolMissing(RuntimeError):
    """A report tool is missing and cannot be installed here; the message says what to install."""

    infrastructure = True


def allure_cli(prefix: Path = NODE_PREFIX) -> Path | None:
    """The installed Allure CLI script at the pinned version, or None."""
    package = prefix / "node_modules" / "allure" / "package.json"
    try:
        version = json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    cli = package.parent / "cli.js"
    return cli if version == ALLURE_VERSION and cli.is_file() else None


def ensure_allure(prefix: Path = NODE_PREFIX, *, log: Log = print) -> Path:
    """Install the Allure CLI into ``prefix`` with npm unless it is there; return its ``cli.js``."""
    found = allure_cli(prefix)
    if found:
        return found
    npm = shutil.which("npm")
    node = shutil.which("node")
    if not npm or not node:
        raise ToolMissing(
            "the Allure HTML report needs Node.js 18+ and npm, which were not found on PATH "
            "(Debian: apt-get install -y nodejs npm). summary.md/json, JUnit XML and the pytest-html report "
            "are written without them; run `swarmconf report` once npm is installed."
        )
    log(f"installing allure@{ALLURE_VERSION} (npm, pure Node) into {prefix} ...")
    prefix.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error"]
    done = subprocess.run([*cmd, f"allure@{ALLURE_VERSION}"], capture_output=True, text=True)
    found = allure_cli(prefix)
    if done.returncode != 0 or not found:
        raise ToolMissing(f"npm install allure@{ALLURE_VERSION} failed ({done.returncode}): {done.stderr[-2000:]}")
    return found


def chromium() -> Path | None:
    """Debian's Chromium on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return Path(path)
    return None


def ensure_chromium(*, log: Log = print) -> Path:
    """Chromium, installed from Debian's packages when missing and we are root on Debian."""
    found = chromium()
    if found:
        return found
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        raise ToolMissing(
            "Chromium is needed for the report browser test: install Debian's `chromium` package "
            "(as root: apt-get install -y chromium) or put a chromium binary on PATH"
        )
    log("installing Debian's chromium with apt-get ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise ToolMissing(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    found = chromium()
    if not found:
        raise ToolMissing("apt-get installed chromium but no chromium binary is on PATH")
    return found


def main(argv: list[str] | None = None) -> int:
    """Install every report tool; print what and how long. ``--allure-only`` skips Chromium."""
    argv = sys.argv[1:] if argv is None else argv
    steps: list[tuple[str, Callable[[], Path]]] = [("allure", ensure_allure)]
    if "--allure-only" not in argv:
        steps.append(("chromium", ensure_chromium))
    for name, step in steps:
        start = time.monotonic()
        try:
            path = step()
        except ToolMissing as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 3
        print(f"{name}: {path} ({time.monotonic() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
