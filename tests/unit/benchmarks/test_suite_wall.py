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


def test_report_takes_medians_and_each_tests_median_for_the_slowest(bench: ModuleType) -> None:
    def run(rid: str, wall: float, code: int = 0) -> dict:
        tests = [{"nodeid": f"suites/test_x.py::t{i:02d}", "seconds": float(i), "status": "passed"} for i in range(12)]
        if rid == "r2":  # t00 is slow in one run only: its median keeps it out of the ten slowest
            tests[0]["seconds"] = 99.0
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
    assert data["median_wall_seconds"] == 200
    assert data["median_area_seconds"] == {"a": 100}
    assert [t["median_seconds"] for t in data["slowest_tests"]] == [11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0]
    assert data["slowest_tests"][0] == {"nodeid": "suites/test_x.py::t11", "median_seconds": 11.0, "runs": 3}
    assert "| suites/test_x.py::t11 | 11.0 | 3 |" in bench.markdown(data)
    assert data["failed_runs"] == ["r2"]
    assert "median wall: **200 s**" in bench.markdown(data) and "failed runs: r2" in bench.markdown(data)
