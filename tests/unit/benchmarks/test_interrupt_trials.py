"""benchmarks/interrupt_trials.py without a cluster: how each signal reaches a run, and the report.

A stand-in for ``swarmconf run`` starts a child in a session of its own (as ``swarmconf run`` starts pytest)
and records the signals it gets; the trial must deliver SIGTERM to the command, SIGINT to its process group
and SIGKILL to every process of the run, the child in its own session included.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]

STAND_IN = textwrap.dedent(
    """\
    #!{python}
    import os, signal, subprocess, sys, time
    from pathlib import Path
    out = Path({out!r})
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    (out / "child.pid").write_text(str(child.pid))
    def got(signum, frame):
        (out / "signal").write_text(signal.Signals(signum).name)
        child.terminate()
        sys.exit(130)
    signal.signal(signal.SIGTERM, got)
    signal.signal(signal.SIGINT, got)
    time.sleep(60)
    """
)


@pytest.fixture
def trials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("interrupt_trials", ROOT / "benchmarks" / "interrupt_trials.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["interrupt_trials"] = module
    spec.loader.exec_module(module)
    script = tmp_path / "swarmconf"
    script.write_text(STAND_IN.format(python=sys.executable, out=str(tmp_path)))
    script.chmod(0o755)
    monkeypatch.setattr(module, "SWARMCONF", script)
    monkeypatch.setattr(module, "OUT", tmp_path)
    (tmp_path / "bench").mkdir()
    return module


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by its parent, which is gone too) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize(("index", "name"), [(0, "SIGTERM"), (1, "SIGINT")])
def test_term_and_int_reach_the_command_which_cleans_up(
    trials: ModuleType, tmp_path: Path, index: int, name: str
) -> None:
    trial = trials.one_trial(index, tmp_path / "kc", [], delay=1.5)
    assert trial["signal"] == name and not trial["finished_before_signal"]
    assert trial["exit_code"] == 130 and (tmp_path / "signal").read_text() == name


def test_kill_reaches_every_process_of_the_run(trials: ModuleType, tmp_path: Path) -> None:
    trial = trials.one_trial(2, tmp_path / "kc", [], delay=1.5)
    assert trial["signal"] == "SIGKILL" and trial["exit_code"] == -9
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the run's child in its own session survived the kill"
    assert not (tmp_path / "signal").exists(), "SIGKILL cannot be caught: nothing should have cleaned up"


def test_descendants_follow_parent_links(trials: ModuleType) -> None:
    assert trials.descendants(os.getpid())[0] == os.getpid()


def test_markdown_counts_trials_with_leftovers(trials: ModuleType) -> None:
    data = {
        "seed": 7,
        "final": {"run_id": "f", "exit_code": 0, "wall_seconds": 200.0},
        "trials": [
            {
                "trial": 1,
                "signal": "SIGKILL",
                "after_seconds": 9.0,
                "exit_seconds": 0.1,
                "exit_code": -9,
                "left_after": ["Pod a/b"],
                "left_at_end": [],
            },
            {
                "trial": 2,
                "signal": "SIGTERM",
                "after_seconds": 30.0,
                "exit_seconds": 12.0,
                "exit_code": 130,
                "left_after": [],
                "left_at_end": ["netns swc-x-iso"],
            },
        ],
    }
    text = trials.markdown(data)
    assert "trials with leftovers at the end: 1" in text and "netns swc-x-iso" in text
