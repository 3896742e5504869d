"""``swarmconf selftest``: the defect matrix — proof that the harness catches what it claims to catch.

For the correct reference (baseline) and then for each defect of the profile's switch, it runs the tests of
the clauses concerned on one cluster (acquired and prepared once, see :mod:`swarmconf.selftest.target`) and
judges the outcome (:mod:`swarmconf.reports.matrix`). It writes ``matrix.json``, ``matrix.md``, Allure results
and the Allure HTML to ``<reports-dir>/<matrix-id>/`` (default ``reports/out/selftest/``, with ``latest``), the
inner runs' own reports under ``runs/``.

On a shared cluster, ``--own-install`` installs the platform again under namespaces of this self-test, so its
defect switch reaches no one else's runs; ``--lanes N`` runs rows side by side on N such installs (a block of a
test that takes Metacontroller down waits for the other lanes' running tests). The installs are removed at the end.

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

from swarmconf.cli import EXIT_INFRA, add_metacontroller_source

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
        "--baseline-from",
        type=Path,
        metavar="RUN_DIR",
        help="judge the baseline row from this finished run of the whole suite on the correct platform (for "
        "example reports/out/latest after `swarmconf run`) instead of running it again",
    )
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
        help="run even while other harness runs are live (on a shared install, theirs and ours may then be wrong)",
    )
    parser.add_argument(
        "--lanes",
        type=int,
        default=5,
        help="run rows side by side on this many private installs (more than 1 implies --own-install; a block "
        "that takes Metacontroller down waits for the other lanes' running tests; default: 5)",
    )
    parser.add_argument("--no-html", action="store_true", help="do not generate the Allure HTML")
    parser.add_argument(
        "--rejudge",
        type=Path,
        metavar="DIR",
        help="run nothing: judge a finished self-test folder's runs again (after a change to the judging) and "
        "rewrite its matrix files and reports",
    )
    parser.set_defaults(handler=handle)


def add_target_options(parser: argparse.ArgumentParser, *, default_dir: Path) -> None:
    """Cluster, profile and report options shared by ``selftest`` and ``stability``."""
    parser.add_argument("--profile", default="reference", help="platform profile (default: reference)")
    parser.add_argument("--cluster", choices=("kind", "existing"), default="kind", help="provider (default: kind)")
    parser.add_argument(
        "--kubeconfig", type=Path, help="kubeconfig for --cluster existing (default: $KUBECONFIG, else ~/.kube/config)"
    )
    parser.add_argument("--context", help="kubeconfig context for --cluster existing")
    parser.add_argument("--image-source", choices=("auto", "offline", "online"), default="auto")
    add_metacontroller_source(parser)
    parser.add_argument("--reuse-cluster", action="store_true", help="reuse a healthy kind cluster of an earlier run")
    parser.add_argument("--keep-cluster", action="store_true", help="keep the cluster and the installed platform")
    parser.add_argument("--level", choices=("baseline", "strict"), default="baseline")
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every wait (default: 1.0)")
    parser.add_argument(
        "--own-install",
        action="store_true",
        help="install the platform again under namespaces of this run (removed at the end), so nothing it "
        "switches reaches other runs on a shared cluster and theirs do not reach it",
    )
    parser.add_argument("--run-id", help="ID of this run (default: UTC time + random)")
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


def runner_for(
    args: argparse.Namespace, handle: Any, profile: str | None = None, *, run_lock: Path | None = None
) -> Any:
    """The inner-run runner pointed at the prepared cluster (and at ``profile``, default ``--profile``), its runs
    taking ``run_lock`` when given (see :class:`~swarmconf.selftest.runner.Target`)."""
    from swarmconf.selftest.runner import PytestRunner, Target

    extra = tuple(a for a in (args.pytest_args or []) if a != "--")
    target = Target(
        kubeconfig=Path(handle.kubeconfig),
        context=handle.context,
        profile=profile or args.profile,
        level=args.level,
        timeout_scale=args.timeout_scale,
        pytest_args=extra,
        run_lock=run_lock,
    )
    return PytestRunner(target)


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def handle(args: argparse.Namespace) -> int:
    from swarmconf.fixtures import private_install
    from swarmconf.fixtures.profiles import ProfileError, load_profile
    from swarmconf.reports import rundir
    from swarmconf.selftest.expectations import NoDefects, expectations

    if args.rejudge:
        return rejudge(args, args.rejudge.resolve())
    if args.lanes < 1:
        print("swarmconf selftest: --lanes must be at least 1", file=sys.stderr)
        return 2
    if args.baseline_from and not (args.baseline_from / "summary.json").is_file():
        print(f"swarmconf selftest: --baseline-from {args.baseline_from}: no summary.json there", file=sys.stderr)
        return 2
    run = rundir.RunDir(args.reports_dir.resolve(), args.run_id or rundir.new_run_id()).create()
    try:
        paths = [args.profile]
        if args.own_install or args.lanes > 1:
            base = run.run_id[-4:]
            paths = [
                str(private_install.derive(args.profile, suffix=f"st{base}{i}", folder=run.path / f"lane{i}"))
                for i in range(args.lanes)
            ]
            args.own_install = args.ignore_other_runs = True
        profiles = [load_profile(p) for p in paths]
        exps = expectations(profiles[0], only=args.defect)
    except (ProfileError, NoDefects) as exc:
        print(f"swarmconf selftest: {exc}", file=sys.stderr)
        return 2
    return _run(args, list(zip(paths, profiles, strict=True)), exps, run)


def _run(args: argparse.Namespace, lanes: list[tuple[str, Any]], exps: list[Any], run: Any) -> int:
    from swarmconf.fixtures import parallel
    from swarmconf.selftest.driver import Plan, run_matrix
    from swarmconf.selftest.target import prepared

    plan = Plan(
        matrix_id=run.run_id,
        runs_dir=run.path / "runs",
        expectations=exps,
        baseline=not args.no_baseline,
        allow_co_named=args.allow_co_named,
        wait_idle=args.wait_idle,
        ignore_other_runs=args.ignore_other_runs,
        baseline_shards=len(lanes),
        baseline_from=args.baseline_from.resolve() if args.baseline_from else None,
    )
    say(f"self-test {run.run_id}: {len(plan.rows())} runs ({len(exps)} defects) on {len(lanes)} lane(s)")
    say(f"reports in {run.path}")
    started_ms, started = int(time.time() * 1000), time.monotonic()
    profiles = [p for _, p in lanes]
    # Side by side, the lanes' runs share one lock: a block that takes Metacontroller down runs alone.
    lock = parallel.lock_path(run.run_id) if len(lanes) > 1 else None
    matrix = None
    try:
        with prepared(cluster_choice(args), profiles, run_id=run.run_id, log=say) as prep:
            say(f"cluster {prep.handle.name} ready; preparation took " + _secs(prep.seconds))
            steps = [_lane(args, prep, i, path, lock) for i, (path, _) in enumerate(lanes)]
            try:
                matrix = run_matrix(plan, steps)
                matrix.meta.update(_meta(args, prep, profiles[0]))
            finally:
                _all_off(prep)
                if lock is not None:
                    parallel.remove_lock_files(lock)
    except KeyboardInterrupt:
        say("interrupted before the matrix could be judged; every defect is switched off")
        return EXIT_INTERRUPTED
    except Exception as exc:  # the cluster layer's errors (kubernetes, urllib3, docker, kind) are all infra
        say(f"infrastructure error: {type(exc).__name__}: {exc}")
        if matrix is None:
            return EXIT_INFRA
        matrix.meta["infrastructure_error"] = f"{type(exc).__name__}: {exc}"[:2000]
    matrix.duration = time.monotonic() - started
    _write(args, matrix, run, started_ms)
    if matrix.meta.get("interrupted"):
        return EXIT_INTERRUPTED
    if matrix.meta.get("aborted") or matrix.meta.get("infrastructure_error"):
        return EXIT_INFRA
    return 0 if matrix.ok else EXIT_MATRIX_FAILED


def _all_off(prep: Any) -> None:
    """Belt and braces: switch every lane's defect off; say loudly where that was impossible."""
    for platform in prep.platforms:
        try:
            platform.set_defect(None)
        except Exception as exc:
            ns = platform.profile.platform_namespace
            say(
                f"COULD NOT SWITCH THE DEFECT OFF in {ns} ({type(exc).__name__}: {exc}); if the cluster is "
                f'still there: kubectl -n {ns} patch configmap reference-defects -p \'{{"data":{{"defect":""}}}}\''
            )


def _lane(args: argparse.Namespace, prep: Any, index: int, profile_path: str, lock: Path | None) -> Any:
    from swarmconf.selftest import leftovers
    from swarmconf.selftest.driver import Steps

    platform = prep.platforms[index]
    return Steps(
        runner=runner_for(args, prep.handle, profile_path, run_lock=lock),
        switch_off=lambda: platform.set_defect(None),
        clean=lambda rid: leftovers.remove(platform, rid),
        other_runs=prep.other_runs,
        log=say,
        name=f"lane {index}",
    )


def rejudge(args: argparse.Namespace, folder: Path) -> int:
    """Judge the runs of a finished self-test again, from its ``matrix.json`` and its runs' summaries."""
    from swarmconf.reports import rundir
    from swarmconf.reports.matrix import Expectation, Matrix, judge_row
    from swarmconf.selftest.runner import read_summary

    try:
        old = json.loads((folder / "matrix.json").read_text())
    except (OSError, ValueError) as exc:
        print(f"swarmconf selftest --rejudge: no readable matrix.json in {folder}: {exc}", file=sys.stderr)
        return 2
    allow = bool(args.allow_co_named or old.get("allow_co_named"))
    rows = []
    for r in old["rows"]:
        breaks = frozenset(r["breaks"])
        select = () if breaks else tuple(r["selected_clauses"])
        exp = Expectation(r["defect"], breaks, frozenset(r["may_break"]), r.get("note", ""), select)
        summary = read_summary(folder / "runs" / r["run_id"]) if r["run_id"] else None
        row = judge_row(
            exp,
            summary,
            allow_co_named=allow,
            run_id=r["run_id"],
            exit_code=r["exit_code"],
            duration=float(r["duration_seconds"]),
        )
        row.notes, row.info = list(r.get("notes", [])), list(r.get("info", []))
        rows.append(row)
    matrix = Matrix(rows, allow_co_named=allow, duration=float(old["duration_seconds"]), meta=dict(old["meta"]))
    matrix.meta["rejudged"] = datetime.now(UTC).isoformat(timespec="seconds")
    run = rundir.RunDir(folder.parent, folder.name)
    for stale in run.allure_results.glob("*-*"):
        stale.unlink()
    _write(args, matrix, run, int((time.time() - matrix.duration) * 1000))
    return 0 if matrix.ok else EXIT_MATRIX_FAILED


def _meta(args: argparse.Namespace, prep: Any, profile: Any) -> dict[str, Any]:
    return {
        "cluster": prep.handle.name,
        "provider": prep.handle.provider,
        "profile": profile.name,
        "own_install": bool(args.own_install),
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
