"""Generate the Allure HTML report of a run with the Allure 3 CLI (Node, no Java), keeping the trend.

History: Allure 3 keeps it in a JSON-lines file (``historyPath``). Each run folder gets a copy of the
previous run's ``allure-history.jsonl``, which Allure extends with this run, so trends survive across runs
and a run folder stays self-contained (CI can restore the last one and keep going). If the previous report
was made by Allure 2 and has a ``history/`` folder, that folder is copied into the results as Allure 2 did.

The report is one self-contained ``allure-report/index.html`` (``singleFile``), so it opens from disk and
from a CI artifact without a web server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from swarmconf.reports import allure_meta, rundir, toolchain

AWESOME_OPTIONS: dict[str, Any] = {
    "singleFile": True,
    "groupBy": [allure_meta.OUTCOME_LABEL, "epic"],
    "defaultSortBy": "status,asc",
}
"""Allure 3's report: one file; the tree by outcome (failures first), then area; each leaf's title starts with
its primary clause (a level per clause would push the failures off the first screen)."""


class AllureFailed(RuntimeError):
    """The Allure CLI ran and failed."""


def generate(run: rundir.RunDir, *, cli: Path | None = None, log: toolchain.Log = print) -> Path:
    """Write ``<run>/allure-report/index.html``; return its path."""
    cli = cli or toolchain.ensure_allure(log=log)
    seed_history(run)
    name = _report_name(run)
    config: dict[str, Any] = {
        "name": name,
        "output": str(run.allure_report),
        "historyPath": str(run.allure_history),
        "categories": allure_meta.allure3_categories(),
        "plugins": {
            "awesome": {"options": {**AWESOME_OPTIONS, "reportName": name}},
        },
    }
    run.allure_config.write_text(json.dumps(config, indent=2) + "\n")
    if run.allure_report.exists():
        shutil.rmtree(run.allure_report)
    cmd = ["node", str(cli), "generate", "--config", str(run.allure_config), str(run.allure_results)]
    done = subprocess.run(cmd, cwd=run.path, capture_output=True, text=True, env=_node_env())
    index = run.allure_report / "index.html"
    if done.returncode != 0 or not index.is_file():
        raise AllureFailed(f"allure generate failed ({done.returncode}): {(done.stderr or done.stdout)[-3000:]}")
    return index


def seed_history(run: rundir.RunDir) -> None:
    """Start this run's history from the previous run's (or from nothing)."""
    run.allure_history.unlink(missing_ok=True)
    prev = rundir.previous(run)
    if prev is None:
        return
    if prev.allure_history.is_file():
        shutil.copyfile(prev.allure_history, run.allure_history)
    legacy = prev.allure_report / "history"
    if legacy.is_dir():
        shutil.copytree(legacy, run.allure_results / "history", dirs_exist_ok=True)


def _report_name(run: rundir.RunDir) -> str:
    manifest, summary = _json(run.manifest, {"run_id": run.run_id}), _json(run.summary_json, {})
    return report_name(manifest, verdict=str(summary.get("exit_meaning", "")), exit_code=summary.get("exit_code"))


def _json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return default
    return data if isinstance(data, dict) else default


def report_name(manifest: dict[str, Any], *, verdict: str = "", exit_code: int | None = None) -> str:
    """The report's title for a person: the verdict first, then the profile's name and the run ID.

    The manifest's ``profile`` is the fixtures plugin's ``{"name", "source"}`` (or the ``--profile`` as given,
    or nothing); only its name goes in the title: the file it came from is in the environment section.
    """
    profile = manifest.get("profile")
    name = profile.get("name") if isinstance(profile, dict) else profile
    word = verdict.split(":", 1)[0].strip() or "NO VERDICT"
    code = "" if exit_code is None else f" (exit {exit_code})"
    return f"{word}{code} — UserSwarm conformance of {name or 'reference'} — run {manifest.get('run_id', '')}"


def _node_env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLURE_")}
    env["NO_COLOR"] = "1"
    return env
