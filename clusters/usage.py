"""What a kind cluster's node containers use while something runs: the peak CPU and memory, summed over nodes.

:class:`NodeUsage` reads ``docker stats`` in a thread every ``interval`` seconds while its ``with`` block runs.
The benchmarks (``benchmarks/suite_wall.py``) and ``swarmconf stability`` report its peaks beside their wall
times, so that a run that got faster by using more of the machine shows it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "cpu_percent": round(self.cpu_percent, 1),
            "memory_bytes": round(self.memory_bytes),
            "samples": self.samples,
        }

    def describe(self) -> str:
        """One line for a report."""
        if not self.samples:
            return "not measured (no sample of the cluster's node containers)"
        return (
            f"CPU {self.cpu_percent:.0f} % (100 % = one core), memory {self.memory_bytes / 2**30:.2f} GiB "
            f"({self.samples} samples)"
        )


def totals(rows: list[dict[str, Any]], cluster: str) -> tuple[float, float] | None:
    """The summed CPU % and memory (bytes) of ``cluster``'s node containers in ``docker stats`` JSON rows;
    None when no row is one of its nodes (the cluster is gone, or not a kind cluster)."""
    mine = [r for r in rows if str(r.get("Name", "")).startswith(f"{cluster}-")]
    if not mine:
        return None
    cpu = sum(float(str(r["CPUPerc"]).rstrip("%")) for r in mine)
    memory = sum(docker_bytes(str(r["MemUsage"]).split("/")[0].strip()) for r in mine)
    return cpu, memory


class NodeUsage:
    """``docker stats`` of kind cluster ``cluster``'s node containers, read in a thread while the ``with`` block
    runs; :attr:`peak` holds the highest readings. Without a ``docker`` command it reads nothing (peak of 0
    samples): a measurement that could not be made is reported as such, never as zero use."""

    def __init__(self, cluster: str, interval: float = 2.0):
        self.cluster, self.interval = cluster, interval
        self._cpu = self._memory = 0.0
        self._samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"usage-{cluster}", daemon=True)

    @property
    def peak(self) -> Peak:
        return Peak(self._cpu, self._memory, self._samples)

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
        try:
            done = subprocess.run(
                ["docker", "stats", "--no-stream", "--format", "{{json .}}"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None  # a slow or vanished daemon: this sample is missing, the next may not be
        rows = []
        for line in done.stdout.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return totals(rows, self.cluster)
