"""swarmconf.clusters.usage: docker stats' units, a cluster's totals, and the sampler's peak (a fake ``docker``)."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from swarmconf.clusters.usage import NodeUsage, Peak, cgroup_cpu_seconds, docker_bytes, totals


def test_docker_units() -> None:
    assert docker_bytes("1.5GiB") == 1.5 * 2**30
    assert docker_bytes("512MiB") == 512 * 2**20
    assert docker_bytes("10kB") == 10_000
    assert docker_bytes("7B") == 7


def _row(name: str, cpu: str, memory: str) -> dict[str, str]:
    return {"Name": name, "CPUPerc": cpu, "MemUsage": f"{memory} / 23.4GiB"}


def test_totals_sum_only_the_clusters_nodes() -> None:
    rows = [
        _row("dev-control-plane", "150.5%", "1GiB"),
        _row("dev-worker", "20%", "512MiB"),
        _row("other-control-plane", "99%", "4GiB"),
    ]
    assert totals(rows, "dev") == (170.5, 1.5 * 2**30)
    assert totals(rows, "missing") is None


def test_a_peak_never_measured_says_so() -> None:
    assert "not measured" in Peak(0.0, 0.0, 0).describe()
    line = Peak(190.0, 2.5 * 2**30, 3, "cgroup").describe()
    assert line.startswith("CPU 190 % (100 % = one core; from cgroup), memory 2.50 GiB")


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``docker`` on PATH whose ``stats`` prints the next line of ``readings`` (the last one once used up)."""
    readings = tmp_path / "readings"
    script = tmp_path / "bin" / "docker"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{tmp_path}/n" 2>/dev/null || echo 1)\n'
        f'total=$(wc -l < "{readings}")\n'
        '[ "$n" -gt "$total" ] && n=$total\n'
        f'sed -n "${{n}}p" "{readings}"\n'
        f'echo $((n + 1)) > "{tmp_path}/n"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return readings


def test_the_sampler_keeps_the_highest_cpu_and_memory(fake_docker: Path) -> None:
    rows = [
        _row("dev-control-plane", "50%", "1GiB"),
        _row("dev-control-plane", "180%", "1GiB"),
        _row("dev-control-plane", "10%", "2GiB"),
    ]
    fake_docker.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with NodeUsage("dev", interval=0.01) as usage:
        deadline = time.monotonic() + 10
        while usage.peak.samples < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert usage.peak.cpu_percent == 180.0
    assert usage.peak.memory_bytes == 2 * 2**30
    assert usage.peak.samples >= 4


def test_no_docker_means_no_samples(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with NodeUsage("dev", interval=0.01) as usage:
        time.sleep(0.05)
    assert usage.peak.samples == 0


# --- CPU from the nodes' cgroups ------------------------------------------------------------------------

NODE_ID = "b8b084d595a2"
FULL_ID = NODE_ID + "2ffec152b7cc8280248cbba2e9d501735558ec3a45fffa318517"


def test_cgroup_cpu_seconds_reads_v1_and_v2(tmp_path: Path) -> None:
    v1 = tmp_path / "v1" / "cpuacct" / "docker" / FULL_ID / "cpuacct.usage"
    v1.parent.mkdir(parents=True)
    v1.write_text("2500000000\n")
    assert cgroup_cpu_seconds(NODE_ID, tmp_path / "v1") == 2.5
    v2 = tmp_path / "v2" / "system.slice" / f"docker-{FULL_ID}.scope" / "cpu.stat"
    v2.parent.mkdir(parents=True)
    v2.write_text("usage_usec 4000000\nuser_usec 3000000\nsystem_usec 1000000\n")
    assert cgroup_cpu_seconds(NODE_ID, tmp_path / "v2") == 4.0
    assert cgroup_cpu_seconds("0123456789ab", tmp_path / "v1") is None


def test_cpu_is_the_nodes_cgroup_time_over_wall_time_not_docker_stats(fake_docker: Path, tmp_path: Path) -> None:
    """Session 15's stability runs read 359 % on 2 cores from ``docker stats``; the cgroup's CPU time over the
    wall time between two samples cannot exceed what the node used."""
    row = {**_row("dev-control-plane", "359%", "3GiB"), "ID": NODE_ID}
    fake_docker.write_text(json.dumps(row) + "\n")
    usage_file = tmp_path / "cg" / "cpuacct" / "docker" / FULL_ID / "cpuacct.usage"
    usage_file.parent.mkdir(parents=True)
    now = [100.0]
    sampler = NodeUsage("dev", cgroup_root=tmp_path / "cg", clock=lambda: now[0])
    readings = []
    for used_ns, at in ((10e9, 100.0), (11.5e9, 101.0), (13.5e9, 103.0)):
        usage_file.write_text(f"{int(used_ns)}\n")
        now[0] = at
        readings.append(sampler._read())
    assert readings == [(0.0, 3 * 2**30), (150.0, 3 * 2**30), (100.0, 3 * 2**30)]
    assert sampler.peak.cpu_from == "cgroup"


def test_without_cgroups_cpu_is_docker_stats(fake_docker: Path, tmp_path: Path) -> None:
    fake_docker.write_text(json.dumps({**_row("dev-control-plane", "42%", "1GiB"), "ID": NODE_ID}) + "\n")
    sampler = NodeUsage("dev", cgroup_root=tmp_path / "none")
    assert sampler._read() == (42.0, 2**30)
    assert sampler.peak.cpu_from == "docker stats"
