"""Facts about this machine's processes, read from ``/proc`` (the one place that asks whether a pid runs)."""

from __future__ import annotations

from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process; a zombie (exited, not yet reaped by its parent) counts as gone.

    Read from ``/proc/<pid>/stat`` rather than probed with ``kill(pid, 0)``: that one answers "alive" for a
    zombie, and for a process of another user only through a ``PermissionError``.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")
