"""``swarmconf stability -n N``: the full suite N times on one cluster; failures per test as a table and JSON.

No retries: every run is a plain ``pytest suites/`` (no ``--clause``, no defect) in a child process on the
same prepared cluster (see :mod:`swarmconf.selftest.target`); :mod:`swarmconf.reports.stability` judges each
test stable, flaky or broken, and reports the median wall time, each area's and the ten slowest tests' times,
and (on a kind cluster) the CPU and memory its nodes peaked at over the runs. Writes ``stability.json`` and
``stability.md`` to ``<reports-dir>/<id>/`` (default ``reports/out/stability/``), each run's own reports under
``runs/``.
Exit codes: 0 stable, 1 some test failed or errored in some run, 3 infrastructure, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
from pathlib import Path

from swarmconf.cli import EXIT_INFRA
from swarmconf.cli.run import worker_args, workers_option
from swarmconf.cli.selftest import add_target_options, cluster_choice, runner_for, say

ROOT = Path(__file__).resolve().parents[2]
STABILITY_DIR = ROOT / "reports" / "out" / "stability"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stability",
        help="run the full suite N times on one cluster and report failures per test",
        description="Run the full conformance suite N times (no retries) on one cluster and report, per test, "
        "how often it failed and why.",
    )
    parser.add_argument("-n", "--runs", type=int, default=3, help="number of full runs (default: 3)")
    parser.add_argument(
        "--workers",
        type=workers_option,
        default=None,
        help="pytest-xdist workers of each run, as for `swarmconf run` (default auto: what `swarmconf run` uses)",
    )
    add_target_options(parser, default_dir=STABILITY_DIR)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from swarmconf.clusters.usage import NodeUsage
    from swarmconf.fixtures import private_install
    from swarmconf.fixtures.profiles import ProfileError, load_profile
    from swarmconf.fixtures.session import kind_name
    from swarmconf.kube import KubeError
    from swarmconf.reports import rundir, stability
    from swarmconf.selftest import leftovers
    from swarmconf.selftest.runner import InnerRun, Interrupted
    from swarmconf.selftest.target import prepared

    if args.runs < 1:
        print("swarmconf stability: -n must be at least 1")
        return 2
    run = rundir.RunDir(args.reports_dir.resolve(), args.run_id or rundir.new_run_id()).create()
    try:
        if args.own_install:
            args.profile = str(private_install.derive(args.profile, suffix=f"sb{run.run_id[-4:]}", folder=run.path))
        profile = load_profile(args.profile)
    except ProfileError as exc:
        print(f"swarmconf stability: {exc}")
        return 2
    results: list[stability.RunOutcome] = []
    usage: NodeUsage | None = None
    interrupted = False
    try:
        # Each run is what `swarmconf run` would run: the same workers.
        args.pytest_args = [*(args.pytest_args or []), *worker_args(args.workers, list(args.pytest_args or []))]
        with prepared(cluster_choice(args), [profile], run_id=run.run_id, log=say) as prep:
            runner = runner_for(args, prep.handle)
            kind = kind_name(prep.handle, prep.kube)
            # The cluster's peak CPU and memory over the runs, beside their wall times (kind clusters only).
            usage = NodeUsage(kind, interval=2.0) if kind else None
            with usage or contextlib.nullcontext():
                for i in range(args.runs):
                    inner = InnerRun(f"{run.run_id}-{i + 1:02d}{secrets.token_hex(2)}", (), None, run.path / "runs")
                    try:
                        res = runner(inner)
                    except Interrupted as exc:
                        res, interrupted = exc.result, True
                    left = tuple(leftovers.remove(prep.platform, inner.run_id))
                    results.append(stability.RunOutcome(inner.run_id, res.summary, res.exit_code, res.duration, left))
                    say(f"run {i + 1}/{args.runs}: exit {res.exit_code} in {res.duration:.0f} s (log: {inner.log})")
                    if interrupted:
                        break
    except KeyboardInterrupt:
        interrupted = True
    except (KubeError, TimeoutError, RuntimeError, OSError) as exc:
        say(f"infrastructure error: {exc!r}")
        if not results:
            return EXIT_INFRA
    stab = stability.aggregate(results, usage.peak if usage else None)
    stability.write(stab, run.path)
    rundir.point_latest(run)
    say(f"stability: {run.path / 'stability.md'}  ({'stable' if stab.ok else 'NOT stable'})")
    if interrupted:
        return 130
    return 0 if stab.ok else 1
