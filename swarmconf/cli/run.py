"""``swarmconf run`` (the conformance suite with every report) and ``swarmconf report`` (regenerate HTML).

``run`` starts pytest on ``suites/`` in a child process with ``--reports`` (see
:mod:`swarmconf.reports.plugin`), then generates the Allure HTML, prints where every report is and the
verdict, and returns the gating exit code (:mod:`swarmconf.reports.exitcodes`). A missing npm only costs
the Allure HTML: the summary, JUnit XML and pytest-html report are written by pytest itself.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from swarmconf.cli import EXIT_INFRA, add_metacontroller_source

if TYPE_CHECKING:
    from swarmconf.reports.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"
REPORTS_DIR = ROOT / "reports" / "out"


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the conformance suites and write every report",
        description="Run the conformance suites (pytest on suites/) and write summary, JUnit, pytest-html and "
        "Allure reports to reports/out/<run-id>/. Arguments after `--` go to pytest unchanged.",
    )
    run.add_argument("--profile", help="platform profile: a bundled name or a path to a YAML file")
    run.add_argument("--cluster", help="cluster provider: kind (default) or existing")
    run.add_argument(
        "--kubeconfig", help="kubeconfig for --cluster existing (default: $KUBECONFIG, else ~/.kube/config)"
    )
    run.add_argument("--context", help="kubeconfig context for --cluster existing")
    run.add_argument("--level", choices=("baseline", "strict"), help="which clauses gate (default baseline)")
    run.add_argument(
        "--workers",
        type=workers_option,
        default=None,
        help="pytest-xdist workers: auto (default: 5 where the machine has 2 or more CPUs, else serial), "
        "0 for serial, or a number; a -n given after -- wins",
    )
    add_metacontroller_source(run)
    _common(run)
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments (after --)")
    run.set_defaults(handler=run_command)

    report = subparsers.add_parser("report", help="(re)generate the HTML reports of a run")
    _common(report)
    report.set_defaults(handler=report_command)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-id", help="run ID (run: default new; report: default the latest run)")
    parser.add_argument("--reports-dir", type=Path, default=REPORTS_DIR, help="parent of run folders")


def pytest_command(args: argparse.Namespace, run_id: str) -> list[str]:
    """The pytest command line ``swarmconf run`` starts."""
    extra = [a for a in (args.pytest_args or []) if a != "--"]
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--reports",
        "--reports-dir",
        str(args.reports_dir),
        "--reports-run-id",
        run_id,
    ]
    for flag in ("profile", "cluster", "kubeconfig", "context", "level"):
        value = getattr(args, flag, None)
        if value:
            cmd += [f"--{flag}", str(value)]
    cmd += worker_args(getattr(args, "workers", None), extra)
    if not any(not a.startswith("-") and (Path(a.split("::")[0]).exists()) for a in extra):
        cmd.append(str(SUITES))
    return cmd + extra


AUTO_WORKERS = 5
"""Measured on a 2-core machine, whole suite on one kept cluster: 2026-12-05, 4 workers took 607 s and 618 s,
2 workers 821 s, serially about 14 min; 2026-12-07 (shared outages, volumes without helper pods), 4 workers 245 s,
5 workers 211 s. The tests mostly wait on the cluster, not on their own processes, so more workers than cores pay
off; and with 5 workers the suites' five ``cluster_wide`` tests all start at once and share one Metacontroller
outage (with 4, the fifth drains the run again on its own)."""

AUTO_MIN_CPUS = 2
"""Below this many CPUs ``auto`` runs serially (one core cannot serve the controller and the workers)."""

DISTRIBUTION = ("--dist", "load", "--maxschedchunk", "1")
"""How ``swarmconf run`` hands tests to its workers."""

# pytest arguments that choose the distribution themselves, or that do not work under xdist.
_CHOOSES_WORKERS = ("-n", "--numprocesses", "--dist", "--pdb", "--trace", "no:xdist", "-pno:xdist")


def workers_option(text: str) -> int | None:
    """``--workers``: ``auto`` → None, else a count (0 or 1: serial)."""
    if text == "auto":
        return None
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"auto or a number, not {text!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"a count of workers cannot be negative ({count})")
    return count


def worker_args(workers: int | None, extra: list[str]) -> list[str]:
    """The ``-n`` that ``--workers`` asks for (None: auto); nothing when serial or the pytest arguments choose."""
    if any(a.startswith(_CHOOSES_WORKERS) for a in extra):
        return []
    if workers is None:
        workers = AUTO_WORKERS if (os.cpu_count() or 1) >= AUTO_MIN_CPUS else 0
    # load, one test at a time: a free worker takes the next test of the collection, which the workers sort
    # longest first (swarmconf.fixtures.ordering), so the two-minute tests start early and the short ones fill in.
    return ["-n", str(workers), *DISTRIBUTION] if workers >= 2 else []


def run_command(args: argparse.Namespace) -> int:
    from swarmconf.reports import rundir

    run_id = args.run_id or rundir.new_run_id()
    cmd = pytest_command(args, run_id)
    print("swarmconf run:", " ".join(cmd), flush=True)
    code = run_pytest(cmd)
    run = rundir.RunDir(args.reports_dir.resolve(), run_id)
    if not run.summary_json.is_file():
        print(f"swarmconf run: pytest exited {code} before writing a summary (see its output above)")
        return code or EXIT_INFRA
    _generate_html(run)
    _print_where(run)
    return code


def run_pytest(cmd: list[str]) -> int:
    """Run pytest as a child in a session of its own and return its exit code.

    On Ctrl-C or SIGTERM (which :func:`swarmconf.cli.main` turns into KeyboardInterrupt) pytest gets one
    SIGINT and up to ``TEARDOWN_GRACE`` seconds to tear down what it made (cluster, install, namespaces,
    lease); ``subprocess.run`` would kill it a quarter of a second after the interrupt, mid-teardown. A
    second Ctrl-C during that wait kills it at once.
    """
    from swarmconf.selftest.runner import TEARDOWN_GRACE, interruptible, stop

    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, preexec_fn=interruptible)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        print(
            f"swarmconf run: interrupted; pytest is tearing down what it made (up to {TEARDOWN_GRACE:.0f} s, "
            "Ctrl-C again to kill it)",
            file=sys.stderr,
            flush=True,
        )
        stop(proc, grace=TEARDOWN_GRACE)
        raise


def report_command(args: argparse.Namespace) -> int:
    from swarmconf.reports import rundir

    try:
        run = rundir.resolve(args.reports_dir.resolve(), args.run_id)
    except FileNotFoundError as exc:
        print(f"swarmconf report: {exc}", file=sys.stderr)
        return EXIT_INFRA
    ok = _generate_html(run)
    _print_where(run)
    return 0 if ok else EXIT_INFRA


def _generate_html(run: RunDir) -> bool:
    from swarmconf.reports import allure_html, toolchain

    try:
        allure_html.generate(run, log=lambda m: print(m, flush=True))
    except toolchain.ToolMissing as exc:
        print(f"swarmconf: no Allure HTML: {exc}")
        return False
    except allure_html.AllureFailed as exc:
        print(f"swarmconf: {exc}")
        return False
    return True


def _print_where(run: RunDir) -> None:
    from swarmconf.reports.exitcodes import describe

    allure_index = run.allure_report / "index.html"
    print(f"\nreports of run {run.run_id} in {run.path}")
    for label, path in (
        ("summary", run.summary_md),
        ("allure", allure_index),
        ("pytest-html", run.html),
        ("junit", run.junit),
        ("manifest", run.manifest),
    ):
        state = "" if path.exists() else "  (missing)"
        print(f"  {label:<12} {path}{state}")
    try:
        data = json.loads(run.summary_json.read_text())
    except (OSError, ValueError):
        return
    meaning = data.get("exit_meaning") or describe(data["exit_code"])  # the verdict line, partial runs said so
    print(f"verdict: {meaning} (exit code {data['exit_code']}, level {data['level']})")
