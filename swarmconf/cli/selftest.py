"""``swarmconf selftest``: the defect matrix — proof that the harness catches what it claims to catch.

For the correct reference (baseline) and then for each defect of the profile's switch, it runs the tests of
the clauses concerned on one cluster (acquired and prepared once, see :mod:`swarmconf.selftest.target`) and
judges the outcome (:mod:`swarmconf.reports.matrix`). It writes ``matrix.json``, ``matrix.md``, Allure results
and the Allure HTML to ``<reports-dir>/<matrix-id>/`` (default ``reports/out/selftest/``, with ``latest``), the
inner runs' own reports under ``runs/``.

Exit codes: 0 every defect caught and the baseline green; 1 a defect missed, a collateral failure, or an
inconclusive row; 3 infrastructure (no cluster, install failed, the defect switch did not answer); 130
interrupted (the defect is switched off first).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from swarmconf.cli import EXIT_INFRA

ROOT = Path(__file__).resolve().parents[2]
SELFTEST_DIR = ROOT / "reports" / "out" / "selftest"
EXIT_MATRIX_FAILED = 1
EXIT_INTERRUPTED = 130


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="the defect matrix: each reference defect must fail exactly its clause(s)",
        description="Run the suites once on the correct reference and once per defect (switched on live), "
        "on one cluster, and check that each defect fails exactly the clauses it breaks.",
    )
    add_target_options(parser, default_dir=SELFTEST_DIR)
    parser.add_argument(
        "--defect", action="append", default=[], metavar="NAME", help="only this defect (repeatable; default: all)"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline run on the correct reference")
    parser.add_argument(
        "--allow-co-named",
        action="store_true",
        help="do not count a clause that failed only through a test that also names an expected clause",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=600.0,
        help="seconds to wait for other harness runs on the cluster to end before each run (default: 600)",
    )
    parser.add_argument(
        "--ignore-other-runs",
        action="store_true",
        help="run even while other harness runs are live (the defect switch is cluster-wide: both may be wrong)",
    )
    parser.add_argument("--no-html", action="store_true", help="do not generate the Allure HTML")
    parser.set_defaults(handler=handle)


def add_target_options(parser: argparse.ArgumentParser, *, default_dir: Path) -> None:
    """Cluster, profile and report options shared by ``selftest`` and ``stability``."""
    parser.add_argument("--profile", default="reference", help="platform profile (default: reference)")
    parser.add_argument("--cluster", choices=("kind", "existing"), default="kind", help="provider (default: kind)")
    parser.add_argument("--kubeconfig", type=Path, help="kubeconfig for --cluster existing")
    parser.add_argument("--context", help="kubeconfig context for --cluster existing")
    parser.add_argument("--image-source", choices=("auto", "offline", "online"), default="auto")
    parser.add_argument("--reuse-cluster", action="store_true", help="reuse a healthy kind cluster of an earlier run")
    parser.add_argument("--keep-cluster", action="store_true", help="keep the cluster and the installed platform")
    parser.add_argument("--level", choices=("baseline", "strict"), default="baseline")
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every wait (default: 1.0)")
    parser.add_argument("--run-id", help="ID of this self-test (default: UTC time + random)")
    parser.add_argument("--reports-dir", type=Path, default=default_dir, help=f"parent folder (default: {default_dir})")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments for every run (after --)")


def cluster_choice(args: argparse.Namespace) -> Any:
    from swarmconf.selftest.target import ClusterChoice

    return ClusterChoice(
        provider=args.cluster,
        kubeconfig=args.kubeconfig,
        context=args.context,
        image_source=args.image_source,
        reuse=args.reuse_cluster,
        keep=args.keep_cluster,
    )


def runner_for(args: argparse.Namespace, handle: Any) -> Any:
    """The inner-run runner pointed at the prepared cluster."""
    from swarmconf.selftest.runner import PytestRunner, Target

    extra = tuple(a for a in (args.pytest_args or []) if a != "--")
    target = Target(
        kubeconfig=Path(handle.kubeconfig),
        context=handle.context,
        profile=args.profile,
        level=args.level,
        timeout_scale=args.timeout_scale,
        pytest_args=extra,
    )
    return PytestRunner(target)


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def handle(args: argparse.Namespace) -> int:
    from swarmconf.fixtures.profiles import ProfileError, load_profile
    from swarmconf.reports import rundir
    from swarmconf.selftest.expectations import NoDefects, expectations

    try:
        profile = load_profile(args.profile)
        exps = expectations(profile, only=args.defect)
    except (ProfileError, NoDefects) as exc:
        print(f"swarmconf selftest: {exc}", file=sys.stderr)
        return 2
    run = rundir.RunDir(args.reports_dir.resolve(), args.run_id or rundir.new_run_id()).create()
    return _run(args, profile, exps, run)


def _run(args: argparse.Namespace, profile: Any, exps: list[Any], run: Any) -> int:
    from swarmconf.kube import KubeError
    from swarmconf.selftest import leftovers
    from swarmconf.selftest.driver import Plan, Steps, run_matrix
    from swarmconf.selftest.target import prepared

    plan = Plan(
        matrix_id=run.run_id,
        runs_dir=run.path / "runs",
        expectations=exps,
        baseline=not args.no_baseline,
        allow_co_named=args.allow_co_named,
        wait_idle=args.wait_idle,
        ignore_other_runs=args.ignore_other_runs,
    )
    say(f"self-test {run.run_id}: {len(plan.rows())} runs ({len(exps)} defects), reports in {run.path}")
    started_ms, started = int(time.time() * 1000), time.monotonic()
    try:
        with prepared(cluster_choice(args), profile, run_id=run.run_id, log=say) as prep:
            say(f"cluster {prep.handle.name} ready; preparation took " + _secs(prep.seconds))
            steps = Steps(
                runner=runner_for(args, prep.handle),
                switch_off=lambda: prep.platform.set_defect(None),
                clean=lambda rid: leftovers.remove(prep.platform, rid),
                other_runs=prep.other_runs,
                log=say,
            )
            try:
                matrix = run_matrix(plan, steps)
            finally:
                prep.platform.set_defect(None)  # belt and braces: never leave a defect on
            matrix.meta.update(_meta(args, prep, profile))
    except KeyboardInterrupt:
        say("interrupted before the matrix could be judged; every defect is switched off")
        return EXIT_INTERRUPTED
    except (KubeError, TimeoutError, RuntimeError, OSError) as exc:
        say(f"infrastructure error: {exc!r}")
        return EXIT_INFRA
    matrix.duration = time.monotonic() - started
    _write(args, matrix, run, started_ms)
    if matrix.meta.get("interrupted"):
        return EXIT_INTERRUPTED
    return 0 if matrix.ok else EXIT_MATRIX_FAILED


def _meta(args: argparse.Namespace, prep: Any, profile: Any) -> dict[str, Any]:
    return {
        "cluster": prep.handle.name,
        "provider": prep.handle.provider,
        "profile": profile.name,
        "level": args.level,
        "preparation": _secs(prep.seconds),
    }


def _secs(seconds: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())


def _write(args: argparse.Namespace, matrix: Any, run: Any, started_ms: int) -> None:
    from swarmconf.reports import matrix_report, rundir

    matrix_report.write(matrix, run.path)
    matrix_report.write_allure(matrix, run.allure_results, started_ms=started_ms, run_id=run.run_id)
    run.manifest.write_text(json.dumps({"run_id": run.run_id, "profile": f"self-test of {matrix.meta.get('profile')}"}))
    rundir.point_latest(run)
    if not args.no_html:
        _html(run)
    say(f"matrix: {run.path / 'matrix.md'}")
    for label, count in matrix.counts().items():
        if count:
            say(f"  {label:<13} {count}")
    say(f"self-test {'PASSED' if matrix.ok else 'FAILED'} in {matrix.duration / 60:.1f} min")


def _html(run: Any) -> None:
    from swarmconf.reports import allure_html, toolchain

    try:
        index = allure_html.generate(run, log=say)
        say(f"allure: {index}")
    except (toolchain.ToolMissing, allure_html.AllureFailed) as exc:
        say(f"no Allure HTML: {exc}")
