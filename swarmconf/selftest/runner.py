"""One inner run of the conformance suites: ``pytest suites/`` in a child process, against an existing cluster.

Every inner run gets ``--cluster existing --kubeconfig ... --keep-cluster`` (the cluster and the platform
belong to the self-test, not to the run), ``--clause`` for each selected clause, ``--run-lock`` when lanes run
side by side, ``--defect`` when one is switched on (the plugin switches it on once the platform is ready and
off again at session end), and its own run folder under the self-test's ``runs/``. Its output goes
to ``runs/<run-id>.log``.

Interrupts: the child runs in its own session, so a Ctrl-C in the terminal reaches only the parent; the
parent then sends the child exactly one SIGINT (pytest tears down, the plugin switches the defect off) and
waits for it, bounded; a second interrupt, or the bound, kills it. The caller switches the defect off again
in any case.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
TEARDOWN_GRACE = 300.0
"""How long an interrupted child gets to tear down (delete its workspaces, switch the defect off)."""


@dataclass(frozen=True)
class Target:
    """Where inner runs point: the cluster, the profile, and the settings every run shares."""

    kubeconfig: Path
    context: str | None = None
    profile: str = "reference"
    level: str = "baseline"
    timeout_scale: float = 1.0
    pytest_args: tuple[str, ...] = ()
    run_lock: Path | None = None
    """The lock the lanes' runs share (``--run-lock``): blocks that take Metacontroller down run alone."""


@dataclass(frozen=True)
class InnerRun:
    """One inner run: its ID, what it selects, the defect it switches on, where its reports go."""

    run_id: str
    clauses: tuple[str, ...]
    defect: str | None
    reports_dir: Path
    keyword: str = ""
    """``-k`` for the run (empty: every test of its clauses)."""

    @property
    def folder(self) -> Path:
        return self.reports_dir / self.run_id

    @property
    def log(self) -> Path:
        return self.reports_dir / f"{self.run_id}.log"


@dataclass
class RunResult:
    """What an inner run left: its exit code, its ``summary.json`` (None if it wrote none), its wall time."""

    run: InnerRun
    exit_code: int
    summary: dict[str, Any] | None
    duration: float
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def test_time(self) -> float:
        """Seconds spent in the tests themselves (setup, call, teardown), from the summary."""
        tests = {t["nodeid"]: t["duration"] for c in (self.summary or {}).get("clauses", []) for t in c["tests"]}
        return float(sum(tests.values()))


class Runner(Protocol):
    """Runs one inner run to its end and reports what it left."""

    def __call__(self, run: InnerRun) -> RunResult: ...


def read_summary(folder: Path) -> dict[str, Any] | None:
    """A run folder's ``summary.json``, or None when it is missing or unreadable."""
    try:
        data = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class PytestRunner:
    """Runs the suites with pytest in a child process (see the module docstring).

    Safe to call from several threads (one child each); :meth:`interrupt` stops every running child.
    """

    target: Target
    python: str = sys.executable
    cwd: Path = ROOT
    _live: set[subprocess.Popen[bytes]] = field(default_factory=set, repr=False)
    _stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def interrupt(self) -> None:
        """Stop every running child (one SIGINT each, then by force after the grace period), from any thread."""
        self._stopping.set()
        for proc in list(self._live):
            threading.Thread(target=stop, args=(proc,), kwargs={"grace": TEARDOWN_GRACE}, daemon=True).start()

    def command(self, run: InnerRun) -> list[str]:
        """The child's command line."""
        t = self.target
        cmd = [self.python, "-m", "pytest", str(SUITES), "-p", "no:cacheprovider", "--cluster", "existing"]
        cmd += ["--kubeconfig", str(t.kubeconfig), "--keep-cluster", "--profile", t.profile, "--level", t.level]
        cmd += ["--timeout-scale", str(t.timeout_scale), "--run-id", run.run_id]
        cmd += ["--reports", "--reports-dir", str(run.reports_dir)]
        if t.context:
            cmd += ["--context", t.context]
        for cid in run.clauses:
            cmd += ["--clause", cid]
        if t.run_lock is not None:
            cmd += ["--run-lock", str(t.run_lock)]
        if run.defect:
            cmd += ["--defect", run.defect]
        if run.keyword:
            cmd += ["-k", run.keyword]
        return cmd + list(t.pytest_args)

    def __call__(self, run: InnerRun) -> RunResult:
        run.reports_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with run.log.open("w") as log:
            log.write("$ " + " ".join(self.command(run)) + "\n")
            log.flush()
            proc = subprocess.Popen(
                self.command(run),
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=interruptible,
            )
            self._live.add(proc)
            try:
                code, interrupted = _wait(proc)
            finally:
                self._live.discard(proc)
        interrupted = interrupted or self._stopping.is_set()
        result = RunResult(run, code, read_summary(run.folder), time.monotonic() - started, interrupted)
        if interrupted:
            raise Interrupted(result)
        return result


class Interrupted(KeyboardInterrupt):
    """The parent was interrupted during an inner run; the child was stopped. Carries its result."""

    def __init__(self, result: RunResult):
        super().__init__(f"interrupted during run {result.run.run_id}")
        self.result = result


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """Wait for the child; on an interrupt, stop it gracefully (one SIGINT), then by force."""
    try:
        return proc.wait(), False
    except KeyboardInterrupt:
        pass
    stop(proc, grace=TEARDOWN_GRACE)
    return proc.returncode if proc.returncode is not None else -9, True


def interruptible() -> None:
    """In a child, before exec: undo an inherited "ignore SIGINT".

    A shell without job control starts background jobs (a CI step run with ``&``) with SIGINT ignored, and
    children inherit that; Python then never raises KeyboardInterrupt, so :func:`stop`'s SIGINT could not
    make an inner pytest tear down. With the default disposition restored, Python installs its handler.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(proc: subprocess.Popen[bytes], *, grace: float, signals: Sequence[int] = (signal.SIGINT,)) -> None:
    """Send the child ``signals`` once, wait ``grace`` seconds, then kill its process group."""
    for sig in signals:
        if proc.poll() is None:
            proc.send_signal(sig)
    try:
        proc.wait(timeout=grace)
        return
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
