"""The Docker daemon we start must not be a child of ours: later runs adopt it, and a running ``Popen``
collected by the garbage collector raises ``ResourceWarning`` (an error in these tests)."""

from __future__ import annotations

import gc
import os
import signal
from pathlib import Path

from swarmconf.clusters.engine.daemon import spawn_detached
from swarmconf.processes import pid_alive
from swarmconf.waits import wait_for


def test_spawned_process_is_detached_and_logs(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    pid = spawn_detached(["sh", "-c", "echo started; exec sleep 30"], log)
    try:
        assert pid_alive(pid)

        def parent_and_session() -> tuple[int, int]:
            stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            return int(stat[1]), int(stat[3])

        # setsid runs just after the shell printed the pid, so the new session shows up a moment later
        parent, _session = wait_for(
            parent_and_session, until=lambda ps: ps[1] == pid, description="own session", timeout=5
        )
        assert parent != os.getpid(), "the daemon must not be our child"
        gc.collect()  # nothing of ours refers to it, so nothing can warn
        wait_for(lambda: log.read_text(), until=lambda text: "started" in text, description="log written", timeout=5)
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: pid_alive(pid), until=lambda alive: not alive, description="process gone", timeout=5)


def test_pid_alive_false_for_a_missing_pid() -> None:
    assert not pid_alive(2**22 + 12345)  # above the kernel's pid_max ceiling
