"""Where one run's outputs live: ``reports/out/<run-id>/``, with ``reports/out/latest`` pointing at the newest.

Layout of a run folder::

    <run-id>/
      summary.json, summary.md   verdict per clause and level, exit code (the release gate)
      CONTRACT.md, CONTRACT.html the contract the run checked; every report links a clause to CONTRACT.html#ID
      run-manifest.json          versions, image IDs, profile, cluster, git SHA
      junit.xml                  classname = contract area, name = clause IDs + test
      report.html                self-contained pytest-html report
      allure-results/            raw Allure results + environment.properties, categories.json, executor.json
      allure-report/index.html   Allure HTML (single file), made by ``swarmconf run`` / ``swarmconf report``
      allure-history.jsonl       Allure trend history: the previous run's, plus this run
      allurerc.json              the Allure config used to generate the HTML

Run IDs start with the UTC time, so sorting them sorts runs by age.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LATEST = "latest"


def new_run_id() -> str:
    """A fresh, sortable run ID: ``YYYYmmdd-HHMMSS-xxxx``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunDir:
    """The folder of one run and the names of everything in it."""

    root: Path
    run_id: str

    @property
    def path(self) -> Path:
        return self.root / self.run_id

    @property
    def allure_results(self) -> Path:
        return self.path / "allure-results"

    @property
    def allure_report(self) -> Path:
        return self.path / "allure-report"

    @property
    def allure_history(self) -> Path:
        return self.path / "allure-history.jsonl"

    @property
    def allure_config(self) -> Path:
        return self.path / "allurerc.json"

    @property
    def junit(self) -> Path:
        return self.path / "junit.xml"

    @property
    def html(self) -> Path:
        return self.path / "report.html"

    @property
    def summary_json(self) -> Path:
        return self.path / "summary.json"

    @property
    def summary_md(self) -> Path:
        return self.path / "summary.md"

    @property
    def manifest(self) -> Path:
        return self.path / "run-manifest.json"

    def create(self) -> RunDir:
        self.allure_results.mkdir(parents=True, exist_ok=True)
        return self


def resolve(root: Path, run_id: str | None = None) -> RunDir:
    """The run folder for ``run_id``, or the one ``latest`` points at; ``FileNotFoundError`` if none."""
    if run_id in (None, LATEST):
        link = root / LATEST
        if not link.exists():
            raise FileNotFoundError(f"no runs under {root} yet (no {LATEST!r} pointer)")
        run_id = link.resolve().name
    run = RunDir(root, run_id)
    if not run.path.is_dir():
        raise FileNotFoundError(f"no run {run_id!r} under {root}")
    return run


def point_latest(run: RunDir) -> None:
    """Make ``<root>/latest`` a relative symlink to this run (replaced atomically)."""
    link = run.root / LATEST
    tmp = run.root / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run.run_id, target_is_directory=True)
    tmp.replace(link)


def previous(run: RunDir) -> RunDir | None:
    """The newest earlier run that left Allure history behind, for the trend."""
    if not run.root.is_dir():
        return None
    earlier = sorted(
        p.name
        for p in run.root.iterdir()
        if p.is_dir() and not p.is_symlink() and p.name < run.run_id and not p.name.startswith(".")
    )
    for name in reversed(earlier):
        candidate = RunDir(run.root, name)
        if candidate.allure_history.is_file() or (candidate.allure_report / "history").is_dir():
            return candidate
    return None
