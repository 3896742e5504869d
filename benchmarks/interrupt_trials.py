"""Interrupt trials: ``swarmconf run`` stopped at random points, then what it left behind, and the next run.

    .venv/bin/python benchmarks/interrupt_trials.py --kubeconfig ~/.cache/swarm-conformance/clusters/NAME/kubeconfig \\
        [--trials 20] [--seed S] [--earliest 5] [--latest 240] [-- extra pytest arguments]

Each trial starts ``swarmconf run --cluster existing --kubeconfig K`` as a developer types it (its own process
group, as a shell gives it), waits a random time, and stops it one of three ways, in turn:

- ``SIGTERM`` to the ``swarmconf`` process (a CI job cancelled, ``kill PID``);
- ``SIGINT`` to its process group (Ctrl-C in the terminal);
- ``SIGKILL`` to every process of the run, by process ID (the runner killed: nothing gets to clean up).

After a ``SIGTERM`` or ``SIGINT`` the run must exit by itself and leave nothing: no process, no object labelled
with its run ID, no UserSwarm or child of its users, no lock file, no probe network namespace. After a ``SIGKILL``
the leftovers are expected; the runs that follow must sweep them (each run sweeps what dead runs left once their
lease has lapsed). After the last trial one full run must pass, and then no trial may have left anything.

Written to ``reports/out/bench/interrupts-<time>.json`` and ``.md``: per trial the signal, when it came, how long
the run took to exit, its exit code and its leftovers (right after it, and at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "reports" / "out"
SWARMCONF = Path(sys.executable).with_name("swarmconf")
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)
EXIT_GRACE = 420
"""Seconds a signalled run gets to exit (``swarmconf run`` gives pytest 300 s to tear down)."""


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from ``/proc``: parent links), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop(0)
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def processes_of(run_id: str) -> list[str]:
    """Live processes whose command line names the run (only ours carry its ID)."""
    mine = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if run_id in cmdline:
                mine.append(f"{entry.name}: {cmdline[:120]}")
    return mine


def leftovers(kube: Any, run_id: str) -> list[str]:
    """What the run left: processes, run-labelled objects, its users' UserSwarms and children, lock files,
    probe network namespaces."""
    from swarmconf.fixtures.cleanup import RUN_LABEL, SWEPT_KINDS, own_swarms, user_prefix
    from swarmconf.fixtures.profiles import dig, load_profile
    from swarmconf.fixtures.reachability import list_netns, run_of_netns, run_token

    found = processes_of(run_id)
    profile = load_profile("reference")
    for api_version, kind in SWEPT_KINDS:
        for obj in kube.list(api_version, kind, label_selector=f"{RUN_LABEL}={run_id}"):
            found.append(f"{kind} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}")
    swarm_kind = (profile.crd.api_version, profile.crd.kind)
    for obj in own_swarms(kube, run_id, swarm_kind, user_of=lambda s: dig(s, profile.swarm.user)):
        found.append(f"{profile.crd.kind} /{obj['metadata']['name']}")
    prefix = user_prefix(run_id)
    for api_version, kind in (("apps/v1", "StatefulSet"), ("v1", "PersistentVolumeClaim"), ("v1", "ConfigMap")):
        for obj in kube.list(api_version, kind):
            labels = obj["metadata"].get("labels") or {}
            if str(labels.get(profile.children.user_label, "")).startswith(prefix):
                found.append(f"{kind} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}")
    lock = Path(tempfile.gettempdir()) / f"swarmconf-{run_id}.lock"
    found += [str(p) for p in lock.parent.glob(f"{lock.name}.*")]
    token = run_token(run_id)
    found += [f"netns {n}" for n in list_netns() if run_of_netns(n) == token]
    return found


def one_trial(index: int, kubeconfig: Path, extra: list[str], delay: float) -> dict[str, Any]:
    """Start a run, signal it after ``delay`` seconds, wait for it to end."""
    sig = SIGNALS[index % len(SIGNALS)]
    run_id = f"trial-{datetime.now(UTC):%H%M%S}-{index:02d}"
    cmd = [str(SWARMCONF), "run", "--cluster", "existing", "--kubeconfig", str(kubeconfig), "--run-id", run_id]
    log = (OUT / "bench" / f"{run_id}.log").open("w")
    child = subprocess.Popen([*cmd, "--", *extra], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        child.wait(timeout=delay)
        finished_first = True
    except subprocess.TimeoutExpired:
        finished_first = False
    signalled = time.monotonic()
    if not finished_first:
        if sig == signal.SIGTERM:
            os.kill(child.pid, sig)
        elif sig == signal.SIGINT:
            os.killpg(child.pid, sig)
        else:
            for pid in descendants(child.pid):  # every process of the run, by its ID
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
    try:
        code = child.wait(timeout=EXIT_GRACE)
    except subprocess.TimeoutExpired:
        code = None
    log.close()
    return {
        "trial": index + 1,
        "run_id": run_id,
        "signal": sig.name,
        "after_seconds": round(delay, 1),
        "finished_before_signal": finished_first,
        "exit_seconds": round(time.monotonic() - signalled, 1),
        "exit_code": code,
    }


def final_run(kubeconfig: Path, extra: list[str]) -> dict[str, Any]:
    """One full run after the trials: it must pass (and its start sweeps what killed runs left)."""
    run_id = f"trial-{datetime.now(UTC):%H%M%S}-final"
    cmd = [str(SWARMCONF), "run", "--cluster", "existing", "--kubeconfig", str(kubeconfig), "--run-id", run_id]
    started = time.monotonic()
    with (OUT / "bench" / f"{run_id}.log").open("w") as log:
        code = subprocess.run([*cmd, "--", *extra], stdout=log, stderr=subprocess.STDOUT, check=False).returncode
    return {"run_id": run_id, "exit_code": code, "wall_seconds": round(time.monotonic() - started, 1)}


def markdown(data: dict[str, Any]) -> str:
    """The result as Markdown."""
    final = data["final"]
    lines = [
        f"# Interrupt trials ({len(data['trials'])}, seed {data['seed']})",
        "",
        f"- final run {final['run_id']}: exit {final['exit_code']} in {final['wall_seconds']} s",
        f"- trials with leftovers at the end: {sum(1 for t in data['trials'] if t['left_at_end'])}",
        "",
        "| # | signal | after s | exit s | exit code | left right after | left at the end |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in data["trials"]:
        lines.append(
            f"| {t['trial']} | {t['signal']} | {t['after_seconds']} | {t['exit_seconds']} | {t['exit_code']} | "
            f"{len(t['left_after'])} | {'; '.join(t['left_at_end']) or 'nothing'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from swarmconf.kube import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True, help="a kept cluster's kubeconfig")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    parser.add_argument("--earliest", type=float, default=5.0, help="earliest signal, seconds after the start")
    parser.add_argument("--latest", type=float, default=240.0, help="latest signal, seconds after the start")
    parser.add_argument("extra", nargs="*", help="pytest arguments for every run (after --)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    kubeconfig = args.kubeconfig.expanduser()
    kube = connect(kubeconfig)
    (OUT / "bench").mkdir(parents=True, exist_ok=True)
    trials = []
    for index in range(args.trials):
        trial = one_trial(index, kubeconfig, args.extra, rng.uniform(args.earliest, args.latest))
        trial["left_after"] = leftovers(kube, trial["run_id"])
        trials.append(trial)
        print(
            f"trial {index + 1}/{args.trials}: {trial['signal']} after {trial['after_seconds']} s, exit "
            f"{trial['exit_code']} in {trial['exit_seconds']} s, left {len(trial['left_after'])}",
            flush=True,
        )
    final = final_run(kubeconfig, args.extra)
    for trial in trials:
        trial["left_at_end"] = leftovers(kube, trial["run_id"])
    data = {"seed": seed, "trials": trials, "final": final}
    stem = OUT / "bench" / f"interrupts-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    stem.with_suffix(".json").write_text(json.dumps(data, indent=2))
    stem.with_suffix(".md").write_text(markdown(data))
    print(markdown(data))
    print(f"written: {stem}.json, {stem}.md")
    clean = final["exit_code"] == 0 and not any(t["left_at_end"] for t in trials)
    clean = clean and all(t["left_after"] == [] for t in trials if t["signal"] != "SIGKILL")
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
