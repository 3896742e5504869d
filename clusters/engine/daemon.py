"""Make sure a Docker daemon answers: use the one there is, or install and start Debian's.

Policy (DESIGN.md, "Docker engine"): if ``docker info`` answers, use it and touch nothing. Otherwise, as
root on Debian, install ``docker.io`` (and debootstrap, which the offline build needs) and start ``dockerd``
ourselves -- registering ``runc-capfix`` as its default runtime only when this host's capability bounding
set lacks capabilities Docker gives privileged containers (kind's nodes are privileged). Anywhere else,
fail with a message that says what to install. A daemon we started is recorded in a pid file so that only
it, never any other process, is stopped later.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ...processes import pid_alive
from ...waits import WaitTimeout, wait_for
from ..proc import CommandError, run

CAPFIX_SOURCE = Path(__file__).with_name("runc-capfix")
CAPFIX_INSTALLED = Path("/usr/local/libexec/swarmconf/runc-capfix")
PID_FILE = Path("/run/swarmconf-dockerd.pid")
LOG_FILE = Path("/var/log/swarmconf-dockerd.log")
HOST_PACKAGES = ("docker.io", "debootstrap", "catatonit", "busybox-static", "iproute2", "patch")
# Docker gives a privileged container every capability up to CAP_CHECKPOINT_RESTORE (40).
ALL_CAPS_MASK = (1 << 41) - 1


class DockerUnavailable(RuntimeError):
    """No Docker daemon answers and none can be started here; the message says what to do."""


@dataclass
class DockerEngine:
    """The daemon in use. ``started`` is True only when this harness started it."""

    started: bool
    pid: int | None = None
    capfix: bool = False


def daemon_answers() -> bool:
    """Whether ``docker info`` gets an answer from a daemon."""
    try:
        run(["docker", "info", "--format", "{{.ServerVersion}}"], what="docker info", timeout=20)
    except CommandError:
        return False
    return True


def bounding_set_lacks_caps() -> bool:
    """Whether this process's capability bounding set lacks any capability Docker grants a privileged container."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return (int(line.split()[1], 16) & ALL_CAPS_MASK) != ALL_CAPS_MASK
    return False


def is_debian() -> bool:
    """Whether this is a Debian (or derivative) machine with apt-get."""
    return Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def install_host_packages(log: Path) -> None:
    """``apt-get install`` what the offline build and the daemon need (root on Debian only)."""
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], what="apt-get update", log=log, env=env, timeout=900)
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *HOST_PACKAGES],
        what="install Docker and build tools",
        log=log,
        env=env,
        timeout=1800,
    )


def host_packages_missing() -> list[str]:
    """Host tools the offline build needs that are not installed."""
    needed = {
        "dockerd": "docker.io",
        "debootstrap": "debootstrap",
        "catatonit": "catatonit",
        "busybox": "busybox-static",
        "ip": "iproute2",
        "patch": "patch",  # applies recipes/patches/ to a module's source
    }
    found = {tool for tool in needed if shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()}
    missing = {pkg for tool, pkg in needed.items() if tool not in found}
    if not Path("/bin/busybox").exists():
        missing.add("busybox-static")
    return sorted(missing)


def ensure_host_tools(log: Path) -> None:
    """Install the host packages the offline build needs, or say which are missing and how to get them."""
    missing = host_packages_missing()
    if not missing:
        return
    if os.geteuid() != 0 or not is_debian():
        raise DockerUnavailable(
            f"missing host packages: {', '.join(missing)}. Install them (Debian/Ubuntu: "
            f"`sudo apt-get install {' '.join(missing)}`) and run again."
        )
    install_host_packages(log)


def prepare_host() -> None:
    """Host settings kind needs: a /lib/modules to bind-mount, and inotify limits high enough for a node."""
    Path("/lib/modules").mkdir(parents=True, exist_ok=True)
    for key, value in (("fs.inotify.max_user_watches", 524288), ("fs.inotify.max_user_instances", 512)):
        path = Path("/proc/sys") / key.replace(".", "/")
        try:
            if int(path.read_text()) < value:
                path.write_text(str(value))
        except OSError:
            pass  # not fatal: kind only warns about low limits


def start_dockerd(log: Path) -> DockerEngine:
    """Start ``dockerd`` in its own session, with the capability fix if this host needs it."""
    cmd = ["dockerd"]
    capfix = bounding_set_lacks_caps()
    if capfix:
        CAPFIX_INSTALLED.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CAPFIX_SOURCE, CAPFIX_INSTALLED)
        CAPFIX_INSTALLED.chmod(0o755)
        cmd += [f"--add-runtime=capfix={CAPFIX_INSTALLED}", "--default-runtime=capfix"]
    pid = spawn_detached(cmd, LOG_FILE)
    PID_FILE.write_text(str(pid))
    try:
        wait_for(lambda: pid_alive(pid) and daemon_answers(), description="dockerd answers", timeout=60, interval=1)
    except WaitTimeout as exc:
        stop_engine(DockerEngine(started=True, pid=pid))
        tail = "\n".join(LOG_FILE.read_text(errors="replace").splitlines()[-20:])
        raise DockerUnavailable(f"dockerd did not come up ({exc}); last lines of {LOG_FILE}:\n{tail}") from exc
    return DockerEngine(started=True, pid=pid, capfix=capfix)


#: The environment variable `.ci/run` marks each of its processes with.
CI_RUN_MARK = "SWARMCONF_CI_RUN"


def spawn_detached(cmd: list[str], log: Path) -> int:
    """Start ``cmd`` in a new session that is *not* our child, and return its pid.

    The daemon outlives this process on purpose (later runs adopt it), so it must not be a ``Popen`` of ours:
    a ``Popen`` still running when collected raises ``ResourceWarning``, which the harness's own tests treat
    as an error. A shell starts it in the background and exits at once, so the daemon is reparented.
    """
    script = 'log=$1; shift; setsid "$@" </dev/null >>"$log" 2>&1 & echo $!'
    # Nor does it carry the mark of the CI run that started it: `.ci/run` waits for its marked processes to
    # end before deleting its clusters, and would wait for the daemon in vain.
    env = {k: v for k, v in os.environ.items() if k != CI_RUN_MARK}
    result = subprocess.run(
        ["sh", "-c", script, "sh", str(log), *cmd], capture_output=True, text=True, check=True, timeout=30, env=env
    )
    return int(result.stdout.strip())


def ensure_docker(log: Path) -> DockerEngine:
    """Return a usable Docker daemon, starting one only when none answers and this machine allows it."""
    if os.geteuid() == 0:
        prepare_host()
    if daemon_answers():
        return DockerEngine(started=False)
    if os.geteuid() != 0 or not is_debian():
        raise DockerUnavailable(
            "no Docker daemon answers (`docker info` failed). Start Docker, or install it "
            "(Debian/Ubuntu: `sudo apt-get install docker.io`; elsewhere see https://docs.docker.com/engine/install/), "
            "then run again. swarm-conformance installs and starts Docker by itself only as root on Debian."
        )
    ensure_host_tools(log)
    if adopted := adopt_recorded_daemon():
        return adopted
    return start_dockerd(log)


def adopt_recorded_daemon() -> DockerEngine | None:
    """A daemon an earlier run started and recorded, if it is still alive (it may be coming up)."""
    pid = recorded_pid()
    if pid is None:
        return None
    try:
        wait_for(daemon_answers, description="recorded dockerd answers", timeout=15, interval=1)
    except WaitTimeout:
        return None
    return DockerEngine(started=True, pid=pid)


def recorded_pid() -> int | None:
    """The pid of a dockerd we started, if its pid file names a live dockerd process."""
    try:
        pid = int(PID_FILE.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except (OSError, ValueError):
        return None
    return pid if cmdline.endswith(b"dockerd") else None


def stop_engine(engine: DockerEngine, timeout: float = 30) -> None:
    """Stop the daemon only if we started it; by its pid, never by name."""
    pid = engine.pid
    if not engine.started or pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(WaitTimeout):  # a daemon that ignores SIGTERM is left for the user to see
        wait_for(
            lambda: pid_alive(pid),
            until=lambda alive: not alive,
            description=f"dockerd (pid {pid}) exits",
            timeout=timeout,
            interval=0.2,
        )
    PID_FILE.unlink(missing_ok=True)
