"""Wall time of the whole conformance suite, N runs on one kept cluster, and what the cluster peaked at meanwhile.

    .venv/bin/python benchmarks/suite_wall.py --kubeconfig ~/.cache/swarm-conformance/clusters/NAME/kubeconfig \\
        [--runs 5] [--workers auto] [--label after] [-- extra pytest arguments]

Each run is ``swarmconf run --cluster existing --kubeconfig K`` exactly as a developer types it (a child process;
its reports land in ``reports/out/<run-id>/`` as usual). Measured per run: the wall time of the command, its exit
code, and from the run's ``summary.json`` the tests' own time per area and per test. While the runs go on, the kind
node containers of the cluster (``docker stats``, every ``--interval`` seconds) give the CPU (100 % = one core) and
memory the cluster peaked at.

Written to ``reports/out/bench/suite-<label>-<time>.json`` and ``.md``: the median wall time (and every run's),
the median of each area's time, the ten slowest tests (each test's median over the runs, as in ``swarmconf
stability``), and the peaks. A run that fails is reported as such and still counts in the table: a fast suite
that fails is no result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmconf.clusters.usage import NodeUsage
from swarmconf.fixtures.session import kind_cluster_of
from swarmconf.kube import KubeconfigError, connect
from swarmconf.reports.stability import slowest_by_median

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "reports" / "out"
SWARMCONF = Path(sys.executable).with_name("swarmconf")


def one_run(kubeconfig: Path, workers: str, extra: list[str]) -> dict[str, Any]:
    """One ``swarmconf run``: wall time, exit code, and the summary's timings."""
    run_id = f"bench-{datetime.now(UTC):%H%M%S}"
    cmd = [str(SWARMCONF), "run", "--cluster", "existing", "--kubeconfig", str(kubeconfig), "--workers", workers]
    cmd += ["--run-id", run_id, "--", *extra]
    started = time.monotonic()
    with (OUT / "bench" / f"{run_id}.log").open("w") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.monotonic() - started
    summary_path = OUT / run_id / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    timings = summary.get("timings") or {}
    return {
        "run_id": run_id,
        "exit_code": code,
        "verdict": summary.get("verdict"),
        "wall_seconds": round(wall, 1),
        "test_seconds": timings.get("total_seconds"),
        "areas": timings.get("areas") or {},
        "tests": timings.get("tests") or [],
    }


def report(runs: list[dict[str, Any]], usage: NodeUsage | None, args: argparse.Namespace) -> dict[str, Any]:
    """The benchmark's result: medians, the slowest tests (each test's median over the runs), the peaks."""
    median_wall = statistics.median(r["wall_seconds"] for r in runs)
    seconds: dict[str, list[float]] = {}
    for r in runs:
        for t in r["tests"]:
            seconds.setdefault(t["nodeid"], []).append(float(t.get("seconds") or 0.0))
    areas = sorted({a for r in runs for a in r["areas"]})
    peak = usage.peak.as_dict() if usage else None
    return {
        "label": args.label,
        "workers": args.workers,
        "extra": args.extra,
        "runs": [{k: v for k, v in r.items() if k != "tests"} for r in runs],
        "failed_runs": [r["run_id"] for r in runs if r["exit_code"] != 0],
        "median_wall_seconds": median_wall,
        "median_area_seconds": {a: statistics.median(r["areas"].get(a, 0.0) for r in runs) for a in areas},
        "slowest_tests": [
            {"nodeid": nodeid, "median_seconds": round(median, 1), "runs": len(seconds[nodeid])}
            for nodeid, median in slowest_by_median(seconds)
        ],
        "peak_cpu_percent": peak["cpu_percent"] if peak else None,
        "peak_cpu_from": peak.get("cpu_from", "docker stats") if peak else None,
        "peak_memory_bytes": peak["memory_bytes"] if peak else None,
        "samples": peak["samples"] if peak else 0,
    }


def markdown(data: dict[str, Any]) -> str:
    """The result as Markdown."""
    lines = [
        f"# Suite wall time: {data['label']} (workers {data['workers']})",
        "",
        f"- median wall: **{data['median_wall_seconds']:.0f} s** over {len(data['runs'])} runs; "
        f"failed runs: {', '.join(data['failed_runs']) or 'none'}",
    ]
    if data["peak_cpu_percent"] is not None:
        lines.append(
            f"- cluster peak: CPU {data['peak_cpu_percent']:.0f} % (100 % = one core; from "
            f"{data.get('peak_cpu_from') or 'docker stats'}), memory "
            f"{data['peak_memory_bytes'] / 2**30:.2f} GiB ({data['samples']} samples)"
        )
    lines += ["", "| run | exit | wall s | tests s |", "|---|---|---|---|"]
    lines += [f"| {r['run_id']} | {r['exit_code']} | {r['wall_seconds']} | {r['test_seconds']} |" for r in data["runs"]]
    lines += ["", "| area | median s |", "|---|---|"]
    lines += [f"| {a} | {s:.1f} |" for a, s in data["median_area_seconds"].items()]
    lines += [
        "",
        "Ten slowest tests (each test's median over the runs):",
        "",
        "| test | median s | runs |",
        "|---|---|---|",
    ]
    lines += [f"| {t['nodeid']} | {t['median_seconds']} | {t['runs']} |" for t in data["slowest_tests"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True, help="a kept cluster's kubeconfig")
    parser.add_argument("--runs", type=int, default=5, help="how many runs (default 5: the median of 5)")
    parser.add_argument("--workers", default="auto", help="swarmconf run --workers (default auto)")
    parser.add_argument("--label", default="suite", help="a name for this measurement (before, after, ...)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between docker stats samples")
    parser.add_argument("extra", nargs="*", help="pytest arguments for every run (after --)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    (OUT / "bench").mkdir(parents=True, exist_ok=True)
    try:
        cluster = kind_cluster_of(connect(args.kubeconfig))
    except KubeconfigError as exc:
        parser.error(str(exc))
    use_docker = cluster is not None and shutil.which("docker") is not None
    runs: list[dict[str, Any]] = []
    usage = NodeUsage(cluster, args.interval) if use_docker and cluster else None
    with usage if usage else contextlib.nullcontext():
        for index in range(args.runs):
            runs.append(one_run(args.kubeconfig.expanduser(), args.workers, args.extra))
            last = runs[-1]
            print(f"run {index + 1}/{args.runs}: {last['run_id']} exit {last['exit_code']} {last['wall_seconds']} s")
    data = report(runs, usage, args)
    stem = OUT / "bench" / f"suite-{args.label}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    stem.with_suffix(".json").write_text(json.dumps(data, indent=2))
    stem.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    print(f"written: {stem}.json, {stem}.md")
    return 0 if not data["failed_runs"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
