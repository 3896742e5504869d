"""What a kind cluster's node containers use while something runs: the peak CPU and memory, summed over nodes.

:class:`NodeUsage` reads ``docker stats`` in a thread every ``interval`` seconds while its ``with`` block runs.
The benchmarks (``benchmarks/suite_wall.py``) and ``swarmconf stability`` report its peaks beside their wall
times, so that a run that got faster by using more of the machine shows it.

CPU comes from the node containers' cgroups where this machine shows them (the CPU time they used between two
samples over the wall time between them), and only otherwise from ``docker stats``: its ``CPUPerc`` compares
two readings taken a moment apart and, on a loaded machine, can read more than the machine has (359 % on 2
cores in session 15's stability runs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "kB": 1e3, "MB": 1e6, "GB": 1e9}
"""``docker stats``'s size units."""


def docker_bytes(text: str) -> float:
    """``1.09GiB`` → bytes (``docker stats``' units)."""
    for unit in sorted(UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * UNITS[unit]
    return float(text)


@dataclass(frozen=True)
class Peak:
    """The highest CPU (100 % = one core) and memory of the cluster's nodes over ``samples`` readings."""

    cpu_percent: float
    memory_bytes: float
    samples: int
    cpu_from: str = "docker stats"
    """Where the CPU figure comes from: ``cgroup`` (the nodes' CPU time over wall time) or ``docker stats``."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "cpu_percent": round(self.cpu_percent, 1),
            "cpu_from": self.cpu_from,
            "memory_bytes": round(self.memory_bytes),
            "samples": self.samples,
        }

    def describe(self) -> str:
        """One line for a report."""
        if not self.samples:
            return "not measured (no sample of the cluster's node containers)"
        return (
            f"CPU {self.cpu_percent:.0f} % (100 % = one core; from {self.cpu_from}), "
            f"memory {self.memory_bytes / 2**30:.2f} GiB ({self.samples} samples)"
        )


CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_FILES = (
    # cgroup v1 (the cgroupfs driver, then systemd's): cumulative CPU time in nanoseconds
    ("cpuacct/docker/{id}*/cpuacct.usage", 1e-9),
    ("cpu,cpuacct/docker/{id}*/cpuacct.usage", 1e-9),
    ("cpuacct/system.slice/docker-{id}*.scope/cpuacct.usage", 1e-9),
    # cgroup v2: cpu.stat's usage_usec, in microseconds
    ("docker/{id}*/cpu.stat", 1e-6),
    ("system.slice/docker-{id}*.scope/cpu.stat", 1e-6),
)
"""Where a container's cumulative CPU time is, relative to :data:`CGROUP_ROOT` (``{id}``: its ID or a prefix)."""


def cgroup_cpu_seconds(container_id: str, root: Path = CGROUP_ROOT) -> float | None:
    """The CPU seconds a container has used so far, from its cgroup; None if this machine does not show it."""
    for pattern, unit in CPU_FILES:
        for path in sorted(root.glob(pattern.format(id=container_id))):
            try:
                text = path.read_text()
            except OSError:
                continue
            if path.name == "cpu.stat":
                fields = dict(line.split(maxsplit=1) for line in text.splitlines() if " " in line)
                if "usage_usec" in fields:
                    return int(fields["usage_usec"]) * unit
                continue
            return int(text.strip()) * unit
    return None


def nodes(rows: list[dict[str, Any]], cluster: str) -> list[dict[str, Any]]:
    """The ``docker stats`` JSON rows of ``cluster``'s node containers."""
    return [r for r in rows if str(r.get("Name", "")).startswith(f"{cluster}-")]


def totals(rows: list[dict[str, Any]], cluster: str) -> tuple[float, float] | None:
    """The summed CPU % and memory (bytes) of ``cluster``'s node containers in ``docker stats`` JSON rows;
    None when no row is one of its nodes (the cluster is gone, or not a kind cluster)."""
    mine = nodes(rows, cluster)
    if not mine:
        return None
    cpu = sum(float(str(r["CPUPerc"]).rstrip("%")) for r in mine)
    memory = sum(docker_bytes(str(r["MemUsage"]).split("/")[0].strip()) for r in mine)
    return cpu, memory


class NodeUsage:
    """``docker stats`` (and the cgroups, for CPU) of kind cluster ``cluster``'s node containers, read in a thread
    while the ``with`` block runs; :attr:`peak` holds the highest readings. Without a ``docker`` command it reads
    nothing (peak of 0 samples): a measurement that could not be made is reported as such, never as zero use."""

    def __init__(
        self,
        cluster: str,
        interval: float = 2.0,
        *,
        cgroup_root: Path = CGROUP_ROOT,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.cluster, self.interval, self.cgroup_root, self._clock = cluster, interval, cgroup_root, clock
        self._cpu = self._memory = 0.0
        self._samples = 0
        self._cpu_from = "docker stats"
        self._last: tuple[float, float, frozenset[str]] | None = None  # (wall, CPU seconds, node IDs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"usage-{cluster}", daemon=True)

    @property
    def peak(self) -> Peak:
        """The highest readings so far."""
        return Peak(self._cpu, self._memory, self._samples, self._cpu_from)

    def __enter__(self) -> NodeUsage:
        if shutil.which("docker"):
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=70)

    def _loop(self) -> None:
        while not self._stop.is_set():
            reading = self._read()
            if reading is not None:
                self._samples += 1
                self._cpu, self._memory = max(self._cpu, reading[0]), max(self._memory, reading[1])
            self._stop.wait(self.interval)

    def _read(self) -> tuple[float, float] | None:
        """One sample: the nodes' CPU % (cgroup, else ``docker stats``) and memory; None without nodes."""
        rows = self._stats()
        reading = totals(rows, self.cluster)
        if reading is None:
            return None
        cpu = self._cgroup_cpu(nodes(rows, self.cluster))
        if cpu is None and self._cpu_from == "cgroup":
            cpu = 0.0  # a cgroup read missed once: no figure of the other kind is mixed into the peak
        if cpu is None:
            return reading
        if self._cpu_from != "cgroup":  # from now on CPU is the cgroups' alone
            self._cpu_from, self._cpu = "cgroup", 0.0
        return cpu, reading[1]

    def _cgroup_cpu(self, rows: list[dict[str, Any]]) -> float | None:
        """The nodes' CPU % since the previous sample, from their cgroups (0 at the first sample of these nodes:
        no rate yet); None when this machine does not show them."""
        ids = frozenset(str(r.get("ID", "")) for r in rows if r.get("ID"))
        used = [cgroup_cpu_seconds(i, self.cgroup_root) for i in ids]
        if not used or any(u is None for u in used):
            return None
        now, seconds = self._clock(), sum(u for u in used if u is not None)
        last, self._last = self._last, (now, seconds, ids)
        if last is None or last[2] != ids or now <= last[0]:
            return 0.0
        return max(0.0, (seconds - last[1]) / (now - last[0]) * 100)

    def _stats(self) -> list[dict[str, Any]]:
        try:
            done = subprocess.run(
                ["docker", "stats", "--no-stream", "--format", "{{json .}}"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return []  # a slow or vanished daemon: this sample is missing, the next may not be
        rows = []
        for line in done.stdout.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return rows
