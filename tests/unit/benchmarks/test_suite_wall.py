"""benchmarks/suite_wall.py: the parts that need no cluster (the kind name, medians, the slowest tests)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("suite_wall", ROOT / "benchmarks" / "suite_wall.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["suite_wall"] = module
    spec.loader.exec_module(module)
    return module


def test_kind_name_from_the_kubeconfig(bench: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "kc"
    path.write_text("current-context: kind-swarmconf-dev\n")
    assert bench.kind_cluster_name(path) == "swarmconf-dev"
    path.write_text("current-context: prod\n")
    assert bench.kind_cluster_name(path) is None


def test_report_takes_medians_and_the_median_runs_slowest_tests(bench: ModuleType) -> None:
    def run(rid: str, wall: float, code: int = 0) -> dict:
        tests = [{"nodeid": f"{rid}::t{i}", "seconds": float(i), "status": "passed"} for i in range(12)]
        areas = {"a": wall / 2}
        return {
            "run_id": rid,
            "exit_code": code,
            "wall_seconds": wall,
            "test_seconds": wall,
            "areas": areas,
            "tests": tests,
        }

    args = argparse.Namespace(label="x", workers="auto", extra=[])
    data = bench.report([run("r1", 300), run("r2", 100, code=1), run("r3", 200)], None, args)
    assert data["median_wall_seconds"] == 200 and data["slowest_from_run"] == "r3"
    assert data["median_area_seconds"] == {"a": 100}
    assert [t["seconds"] for t in data["slowest_tests"]] == [11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0]
    assert data["failed_runs"] == ["r2"]
    assert "median wall: **200 s**" in bench.markdown(data) and "failed runs: r2" in bench.markdown(data)
