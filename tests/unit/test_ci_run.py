"""`.ci/run` interrupted: its cleanup waits for the run's processes to finish their teardown, then deletes.

The real script runs against stand-ins for what it calls (the venv's python, ``swarmconf`` and ``tox``). The
stand-in ``swarmconf`` lists the cluster both as running and as recorded, as the real one does (the cleanup once
deleted it twice). The stand-in ``tox`` starts a child that needs two seconds to tear down after SIGTERM and,
like tox on a signal to the process group, ends at once, leaving that child orphaned. Before, `.ci/run` then
deleted the cluster under it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swarmconf.clusters.engine.daemon import CI_RUN_MARK, spawn_detached

ROOT = Path(__file__).resolve().parents[2]

_PYTHON = """#!/bin/sh
[ "$1 $2" = "-m pip" ] && exit 0
exec {real} "$@"
"""

_SWARMCONF = """#!/bin/sh
if [ "$1 $2" = "cluster status" ]; then
    if [ -e "$FAKE/made" ]; then echo '{{"clusters": [{{"name": "swarmconf-made"}}], "recorded": ["swarmconf-made"]}}'
    else echo '{{"clusters": [], "recorded": []}}'; fi
elif [ "$1 $2" = "cluster down" ]; then
    echo "down $3" >> "$FAKE/events"
fi
"""

_TEARDOWN_CHILD = """
import os, signal, sys, time
def stop(*_):
    time.sleep(2)
    with open(os.path.join(os.environ["FAKE"], "events"), "a") as f:
        f.write("child torn down\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(os.path.join(os.environ["FAKE"], "child-ready"), "w").close()
time.sleep(120)
"""

_TOX = """#!/bin/sh
touch "$FAKE/made"
{real} -c '{child}' &
trap 'exit 143' TERM
wait
"""


def _fake_checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", repo / ".ci" / "run")
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    scripts = {
        "python": _PYTHON.format(real=sys.executable),
        "swarmconf": _SWARMCONF.format(),
        "tox": _TOX.format(real=sys.executable, child=_TEARDOWN_CHILD.replace("'", '"')),
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return repo


def test_an_interrupted_ci_run_deletes_its_cluster_only_after_its_children_tore_down(tmp_path: Path) -> None:
    repo = _fake_checkout(tmp_path)
    fake = tmp_path / "fake"
    fake.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "FAKE": str(fake),
        "PYTHON": "true",
        "SWARMCONF_METACONTROLLER_SOURCE": str(tmp_path),
        "SWARMCONF_CI_CHILD_GRACE": "30",
    }
    run = subprocess.Popen(
        ["bash", str(repo / ".ci" / "run")],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (fake / "child-ready").exists():
            assert run.poll() is None and time.monotonic() < deadline, "the stand-in tests never started"
            time.sleep(0.05)
        os.killpg(run.pid, signal.SIGTERM)  # as a CI runner or a terminal's Ctrl-C reaches the whole group
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 130, output
    assert (fake / "events").read_text().splitlines() == ["child torn down", "down swarmconf-made"], output
    assert "waiting up to 30s for this run's processes" in output


def test_the_docker_daemon_a_run_starts_does_not_carry_the_runs_mark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It outlives the run on purpose; with the mark, `.ci/run` would wait for it until its grace ran out."""
    out = tmp_path / "env"
    monkeypatch.setenv(CI_RUN_MARK, "ci-1-2")
    pid = spawn_detached(["sh", "-c", f"env > {out}.tmp && mv {out}.tmp {out}"], tmp_path / "log")
    deadline = time.monotonic() + 10
    while not out.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pid > 0
    assert CI_RUN_MARK not in out.read_text()
    assert "HOME=" in out.read_text()
