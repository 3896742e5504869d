"""Running external commands (docker, go, kind, debootstrap) with captured logs and clear failures.

Every command the cluster layer runs goes through :func:`run`, so that a failure always says which step
failed, with the tail of what the command printed, and a hung command is bounded by a timeout.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class CommandError(RuntimeError):
    """A command failed, was not found, or timed out. ``tail`` holds the end of its output."""

    def __init__(self, what: str, cmd: Sequence[str], returncode: int | None, tail: str, log: Path | None = None):
        self.what = what
        self.cmd = list(cmd)
        self.returncode = returncode
        self.tail = tail
        self.log = log
        status = "timed out" if returncode is None else f"exited {returncode}"
        where = f" (full log: {log})" if log else ""
        super().__init__(f"{what} failed: `{' '.join(self.cmd)[:300]}` {status}{where}\n--- last lines ---\n{tail}")


def tail_of(text: str, lines: int = 30) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    cmd: Sequence[str],
    *,
    what: str,
    log: Path | None = None,
    timeout: float | None = 600,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
) -> str:
    """Run ``cmd``; return its stdout (text). Raise :class:`CommandError` on any failure.

    With ``log``, stdout and stderr are appended to that file (and the error's tail is read from it);
    otherwise both are captured in memory.
    """
    full_env = {**os.environ, **(env or {})}
    try:
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as sink:
                sink.write(f"\n$ {' '.join(cmd)}\n".encode())
                sink.flush()
                proc = subprocess.run(
                    cmd, stdout=subprocess.PIPE, stderr=sink, env=full_env, cwd=cwd, timeout=timeout, input=input
                )
                sink.write(proc.stdout)
            out = proc.stdout.decode(errors="replace")
            if proc.returncode != 0:
                raise CommandError(what, cmd, proc.returncode, tail_of(log.read_text(errors="replace")), log)
            return out
        proc = subprocess.run(cmd, capture_output=True, env=full_env, cwd=cwd, timeout=timeout, input=input)
    except FileNotFoundError as exc:
        raise CommandError(what, cmd, 127, f"{cmd[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        if log is not None:
            text = log.read_text(errors="replace")
        raise CommandError(what, cmd, None, tail_of(text), log) from exc
    if proc.returncode != 0:
        text = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        raise CommandError(what, cmd, proc.returncode, tail_of(text))
    return proc.stdout.decode(errors="replace")
