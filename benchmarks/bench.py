"""Benchmarks of the harness and the reference platform on a real cluster; JSON + Markdown under reports/out/bench.

    .venv/bin/python benchmarks/bench.py --kubeconfig /work/dev-cluster/kubeconfig [--only latency,scale] \\
        [--messages 200] [--deletions 20] [--scale 30] [--warm-cluster] [--suite | --suite-from RUN_DIR]

Phases (``--only`` picks some; default: every phase but ``suite`` and the warm cluster, which are opt-in):

* ``cluster`` — **cold**: read from the offline build's own logs (their first start to their last write; the
  logs carry no clock, so the span of their file times is the measurement — it includes pauses between steps
  and reflects whatever Go build cache the machine had); **warm** (``--warm-cluster``): a new kind cluster from
  the cached build, created and deleted; **reuse**: ``acquire_cluster(reuse=True)`` on a kept healthy cluster.
* ``suite`` — the whole conformance suite once (``--suite``: a child ``pytest suites/`` on this cluster, as
  ``swarmconf stability`` runs it), or read from an earlier run folder (``--suite-from``): wall time, the
  tests' own time, exit code.
* ``latency`` — what the orchestrator adds to a message: ``--messages`` messages through the orchestrator's
  Service and as many straight to the runtime's Service, **both sent from inside the orchestrator pod** (an exec,
  one keep-alive client each, interleaved); p50/p95 of each and of the difference. Also the same messages from
  this machine through the 127.0.0.1 port-forward, for scale.
* ``deletion`` — ``--deletions`` verified workspaces, deleted one at a time through the API: time until nothing
  of the workspace is left (no UserSwarm, child, PVC or bound volume), p50/p95.
* ``reaper`` — RPR-1: the orchestrator forgets a workspace (the profile's crash means), the reaper is run on
  demand (a Job from its CronJob, the CronJob held suspended meanwhile); time to the reaper's end and to full
  convergence.
* ``scale`` — ``--scale`` workspaces created, messaged and deleted concurrently (one thread each, no retries):
  failures (must be 0), time per workspace per step, and the controllers' (Metacontroller, webhook,
  orchestrator) CPU seconds and memory, read from their containers' cgroups (v1: ``cpuacct.usage``,
  ``memory.usage_in_bytes`` minus inactive file, ``memory.max_usage_in_bytes``; v2 equivalents) by exec.

It uses the harness's building blocks: the kube wrapper, the installer (it installs what is missing and
removes it at the end), the orchestrator port-forward, tenants and workspaces with guaranteed cleanup, the
deletion observers, the fault helpers and the bounded waits. It holds a run lease, labels its UserSwarms with
its run ID, and (as ``swarmconf selftest`` does) waits for other harness runs to end before it starts: the
numbers mean nothing on a busy machine, and the RPR-1 phase suspends the reaper's schedule.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from node_cgroups import NotOnThisMachine, sample_container

from swarmconf.fixtures import cleanup, deletion, faults
from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.portforward import ServiceForward
from swarmconf.fixtures.profiles import Profile, WorkloadRef, dig, load_profile
from swarmconf.fixtures.tenants import Authority, Tenant, TenantBook, Workspace, WorkspaceBook
from swarmconf.kube import Kube, KubeError
from swarmconf.reports import rundir
from swarmconf.waits import WaitTimeout, wait_for

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "reports" / "out" / "bench"
PHASES = ("cluster", "latency", "deletion", "reaper", "scale", "suite")
DEFAULT_PHASES = ("cluster", "latency", "deletion", "reaper", "scale")


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- statistics ----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def stats(values: list[float], unit: str = "ms") -> dict[str, float]:
    """n, p50, p95, mean, max; seconds in, ``unit`` out (ms or s)."""
    if not values:
        return {"n": 0}
    k = 1000.0 if unit == "ms" else 1.0
    return {
        "n": len(values),
        f"p50_{unit}": round(percentile(values, 50) * k, 2),
        f"p95_{unit}": round(percentile(values, 95) * k, 2),
        f"mean_{unit}": round(statistics.fmean(values) * k, 2),
        f"max_{unit}": round(max(values) * k, 2),
    }


# --- the environment -------------------------------------------------------------------------------------------


@dataclass
class Env:
    """What every cluster phase uses; built once by :func:`environment`."""

    kube: Kube
    platform: Platform
    profile: Profile
    run_id: str
    base_url: str
    tenants: TenantBook
    books: list[WorkspaceBook] = field(default_factory=list)

    def book(self) -> WorkspaceBook:
        """A workspace book whose workspaces are deleted at the end, whatever happens."""
        book = WorkspaceBook(self.platform, run_id=self.run_id)
        self.books.append(book)
        return book


@contextlib.contextmanager
def environment(args: argparse.Namespace, run_id: str) -> Iterator[Env]:
    """Connect, install what is missing, hold a run lease, forward the orchestrator; undo it all at the end."""
    from swarmconf.selftest.target import ClusterChoice, prepared

    if args.own_install:
        from swarmconf.fixtures.private_install import derive

        args.profile = str(derive(args.profile, suffix=f"bn{run_id[-4:]}", folder=OUT / run_id))
    profile = load_profile(args.profile)
    choice = ClusterChoice(provider="existing", kubeconfig=args.kubeconfig, context=args.context)
    with prepared(choice, [profile], run_id=run_id, log=say) as prep, contextlib.ExitStack() as stack:
        kube, platform = prep.kube, prep.platform
        wait_idle(prep, run_id, args)
        stack.enter_context(cleanup.RunLease(kube, run_id))
        ref = profile.components.orchestrator_service
        fwd = stack.enter_context(ServiceForward(kube, namespace=ref.namespace, service=ref.name, port=ref.port))
        tenants = TenantBook(
            authority=Authority.from_platform(platform),
            base_url=fwd.base_url,
            profile=profile,
            run_id=run_id,
            timeout=profile.budgets.request,
        )
        env = Env(kube, platform, profile, run_id, fwd.base_url, tenants)
        try:
            yield env
        finally:
            for book in env.books:
                problems = book.delete_all()
                if problems:
                    say(f"cleanup problems: {problems}")
            tenants.close()


def wait_idle(prep: Any, run_id: str, args: argparse.Namespace) -> None:
    others = prep.other_runs({run_id})
    if not others:
        return
    if args.ignore_other_runs or args.own_install:
        say(f"other harness runs are live ({sorted(others)}): going ahead anyway (--ignore-other-runs)")
        return
    say(f"waiting up to {args.wait_idle:.0f} s for other harness runs to end: {sorted(others)}")
    wait_for(
        lambda: prep.other_runs({run_id}),
        until=lambda live: not live,
        description="no other harness run is live on the cluster",
        timeout=args.wait_idle,
        interval=5.0,
    )


def verified_workspaces(env: Env, n: int, *, parallel: int = 5) -> list[Workspace]:
    """``n`` verified workspaces of one new user each, created ``parallel`` at a time."""
    book = env.book()
    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda _: book.create(env.tenants.new()), range(n)))


# --- cluster ----------------------------------------------------------------------------------------------------


def bench_cluster(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"cold": cold_from_logs()}
    out["reuse"] = timed_acquire(reuse=True, keep=True)
    if args.warm_cluster:
        out["warm"] = timed_acquire(reuse=False, keep=False)
    else:
        out["warm"] = {"skipped": "pass --warm-cluster to create (and delete) a new kind cluster"}
    return out


def cold_from_logs() -> dict[str, Any]:
    """The offline build's span from its per-step logs (file birth → last write), with each step's span."""
    from swarmconf.clusters.offline.cache import cache_root

    logs = sorted(p for p in (cache_root() / "logs").glob("*.log") if p.name not in ("app-image.log", "docker.log"))
    if not logs:
        return {"source": "none: no offline build logs in the cache (an online image source builds nothing)"}
    steps = {p.stem: (_born(p), p.stat().st_mtime) for p in logs}
    start, end = min(s for s, _ in steps.values()), max(e for _, e in steps.values())
    manifest = cache_root() / "build-manifest.json"
    last = json.loads(manifest.read_text()) if manifest.is_file() else {}
    return {
        "source": f"file times of the build logs in {cache_root() / 'logs'} (not rebuilt here)",
        "span_s": round(end - start, 1),
        "started": datetime.fromtimestamp(start, UTC).isoformat(timespec="seconds"),
        "steps_s": {k: round(e - s, 1) for k, (s, e) in sorted(steps.items(), key=lambda kv: kv[1][0])},
        "busy_s": round(sum(e - s for s, e in steps.values()), 1),
        "last_build_seconds": last.get("build_seconds"),
        "last_build_rebuilt": last.get("rebuilt"),
    }


def _born(path: Path) -> float:
    """A file's birth time where the OS tells it (statx), else its change time."""
    try:
        st = os.stat(path)
        return float(getattr(st, "st_birthtime", None) or _statx_birth(path) or st.st_ctime)
    except OSError:
        return path.stat().st_mtime


def _statx_birth(path: Path) -> float | None:
    import subprocess

    done = subprocess.run(["stat", "-c", "%W", str(path)], capture_output=True, text=True, check=False)
    value = done.stdout.strip()
    return float(value) if value.isdigit() and value != "0" else None


def timed_acquire(*, reuse: bool, keep: bool) -> dict[str, Any]:
    """Time ``acquire_cluster`` (kind); release it again (a new cluster is deleted, a reused one kept)."""
    from swarmconf.clusters.provider import acquire_cluster, release_cluster

    start = time.monotonic()
    handle = acquire_cluster(provider="kind", run_id=f"bench{secrets.token_hex(3)}", reuse=reuse, keep=keep)
    seconds = time.monotonic() - start
    try:
        return {"seconds": round(seconds, 1), "cluster": handle.name, "created": handle.created}
    finally:
        start = time.monotonic()
        release_cluster(handle)
        if handle.created and not keep:
            say(f"deleted {handle.name} in {time.monotonic() - start:.0f} s")


# --- suite ------------------------------------------------------------------------------------------------------


def bench_suite(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    from swarmconf.selftest.runner import InnerRun, PytestRunner, RunResult, Target, read_summary

    if args.suite_from:
        folder = Path(args.suite_from)
        data = read_summary(folder)
        if data is None:
            return {"error": f"no summary.json in {folder}"}
        result = RunResult(InnerRun(folder.name, (), None, folder.parent), int(data["exit_code"]), data, 0.0)
        return {
            "source": str(folder),
            "tests_s": round(result.test_time, 1),
            "exit_code": result.exit_code,
            "wall_s": None,
            "note": "wall time is not in a summary; --suite measures it",
        }
    runner = PytestRunner(Target(kubeconfig=args.kubeconfig, context=args.context, profile=args.profile))
    inner = InnerRun(f"{run_id}-suite", (), None, OUT / run_id / "runs")
    result = runner(inner)
    return {
        "source": f"one full run now: {inner.folder}",
        "wall_s": round(result.duration, 1),
        "tests_s": round(result.test_time, 1),
        "exit_code": result.exit_code,
        "counts": (result.summary or {}).get("tests"),
    }


# --- latency ----------------------------------------------------------------------------------------------------

PROBE = r"""
import json, sys, time, httpx
cfg = json.loads(sys.argv[1])
via = httpx.Client(base_url=cfg["orchestrator"], headers={"Authorization": "Bearer " + cfg["token"]}, timeout=30)
direct = httpx.Client(base_url=cfg["runtime"], headers={"X-Swarm-User": cfg["user"]}, timeout=30)
out = {"via": [], "direct": [], "errors": []}
for i in range(cfg["n"] + 5):
    for name, client, path in (("via", via, cfg["via_path"]), ("direct", direct, cfg["direct_path"])):
        t = time.perf_counter()
        r = client.post(path, json={"text": f"bench {name} {i}"})
        dt = time.perf_counter() - t
        if r.status_code != 200:
            out["errors"].append(f"{name} {i}: HTTP {r.status_code} {r.text[:200]}")
        elif i >= 5:
            out[name].append(dt)
print(json.dumps(out))
"""


def bench_latency(env: Env, n: int) -> dict[str, Any]:
    (ws,) = verified_workspaces(env, 1)
    conv = ws.tenant.new_conversation(ws.id)
    swarm = env.platform.swarm(ws.id) or {}
    service = dig(swarm, env.profile.swarm.service_name)
    port = dig(swarm, env.profile.swarm.service_port, env.profile.children.runtime_port)
    ref = env.profile.components.orchestrator_service
    route = env.profile.routes.send_message.url(workspace_id=ws.id, conversation_id=conv)
    cfg = {
        "n": n,
        "token": ws.tenant.token,
        "user": ws.tenant.user_id,
        "orchestrator": f"http://{ref.name}.{ref.namespace}.svc:{ref.port}",
        "via_path": route,
        "runtime": f"http://{service}.{env.platform.runtime_namespace(swarm)}.svc:{port}",
        "direct_path": f"/v1/conversations/{conv}/messages",
    }
    result = env.platform.exec_in(
        env.profile.components.orchestrator, ["python3", "-c", PROBE, json.dumps(cfg)], timeout=600
    )
    if result.returncode != 0:
        return {"error": f"probe exited {result.returncode}: {result.stderr[-2000:]}"}
    data = json.loads(result.stdout.strip().splitlines()[-1])
    diffs = [a - b for a, b in zip(data["via"], data["direct"], strict=False)]
    host = host_latency(ws.tenant, ws.id, conv, n)
    return {
        "where": "both series sent from inside the orchestrator pod (exec), interleaved, 5 warm-up pairs dropped",
        "via_orchestrator": stats(data["via"]),
        "direct_to_runtime": stats(data["direct"]),
        "added_by_orchestrator": {
            **stats(diffs),
            "p50_of_series_diff_ms": round((percentile(data["via"], 50) - percentile(data["direct"], 50)) * 1000, 2),
        },
        "from_host_via_port_forward": stats(host),
        "errors": data["errors"],
    }


def host_latency(tenant: Tenant, workspace_id: str, conv: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        start = time.perf_counter()
        resp = tenant.send_message(workspace_id, conv, f"bench host {i}")
        if resp.status_code == 200:
            times.append(time.perf_counter() - start)
    return times


# --- deletion ---------------------------------------------------------------------------------------------------


def wait_gone(env: Env, snap: deletion.SwarmSnapshot, *, interval: float = 0.25) -> None:
    wait_for(
        lambda: deletion.observe(env.platform, snap),
        until=lambda s: s.gone,
        description=f"nothing of {snap.name} is left",
        timeout=env.profile.budgets.delete,
        interval=interval,
        transient=(KubeError,),
    )


def bench_deletion(env: Env, n: int) -> dict[str, Any]:
    workspaces = verified_workspaces(env, n)
    times, errors = [], []
    for ws in workspaces:
        snap = deletion.snapshot(env.platform, ws.id)
        start = time.monotonic()
        resp = ws.tenant.delete_workspace(ws.id)
        try:
            assert resp.status_code in (200, 202, 204), f"HTTP {resp.status_code}: {resp.text}"
            wait_gone(env, snap)
            times.append(time.monotonic() - start)
        except (AssertionError, WaitTimeout) as exc:
            errors.append(f"{ws.id}: {exc}")
    return {"api_delete_to_nothing_left": stats(times, "s"), "poll_interval_s": 0.25, "errors": errors}


# --- reaper (RPR-1) ---------------------------------------------------------------------------------------------


def bench_reaper(env: Env) -> dict[str, Any]:
    (ws,) = verified_workspaces(env, 1)
    snap = deletion.snapshot(env.platform, ws.id)
    comp = env.profile.components
    crash = env.profile.orchestrator_crash
    if crash is None:
        return {"error": "the profile has no orchestrator_crash means"}
    schedule = (env.kube.get("batch/v1", "CronJob", comp.reaper.name, comp.reaper.namespace) or {}).get("spec", {})
    with faults.cronjob_suspended(env.kube, comp.reaper):
        faults.orchestrator_crash(
            env.kube, workload=comp.orchestrator, command=crash.command(ws.id), container=comp.orchestrator.container
        )
        start = time.monotonic()
        run = faults.run_reaper(
            env.kube, comp.reaper, labels=cleanup.run_labels(env.run_id), timeout=env.profile.budgets.reaper
        )
        reaped = time.monotonic() - start
    wait_gone(env, snap)
    total = time.monotonic() - start
    return {
        "reaper_job_s": round(reaped, 2),
        "orphan_found_to_nothing_left_s": round(total, 2),
        "reaper_succeeded": run.succeeded,
        "schedule": schedule.get("schedule"),
        "note": "on demand; on schedule add up to one schedule period before the Job starts",
    }


# --- scale ------------------------------------------------------------------------------------------------------


class CgroupSampler:
    """Samples the controllers' containers' cgroup CPU and memory from their kind node, every ``interval`` seconds."""

    def __init__(self, env: Env, workloads: dict[str, WorkloadRef], interval: float = 3.0):
        self.env, self.workloads, self.interval = env, workloads, interval
        self.samples: dict[str, list[dict[str, float]]] = {k: [] for k in workloads}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self, name: str) -> dict[str, float]:
        wl = self.workloads[name]
        pods = [p for p in self.env.platform.pods_of(wl) if (p.get("status") or {}).get("phase") == "Running"]
        if not pods:
            raise KubeError(f"no running pod of {wl.kind} {wl.namespace}/{wl.name}")
        reading = sample_container(self.env.kube, pods[0]["metadata"]["name"], wl.namespace, wl.container)
        return reading | {"t": time.monotonic()}

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for name in self.workloads:
                with contextlib.suppress(KubeError, OSError, ValueError, NotOnThisMachine):
                    self.samples[name].append(self.sample(name))

    def __enter__(self) -> CgroupSampler:
        for name in self.workloads:
            self.samples[name].append(self.sample(name))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        for name in self.workloads:
            with contextlib.suppress(KubeError, OSError, ValueError, NotOnThisMachine):
                self.samples[name].append(self.sample(name))

    def report(self) -> dict[str, Any]:
        out = {}
        for name, samples in self.samples.items():
            first, last = samples[0], samples[-1]
            wall = last["t"] - first["t"]
            cpu = last.get("cpu_s", 0.0) - first.get("cpu_s", 0.0)
            out[name] = {
                "cpu_seconds": round(cpu, 2),
                "mean_cores": round(cpu / wall, 3) if wall > 0 else None,
                "working_set_mib_start": _mib(first.get("working_set")),
                "working_set_mib_peak_sampled": _mib(max(s.get("working_set", 0.0) for s in samples)),
                "memory_mib_max_since_start": _mib(last.get("max_usage")),
                "samples": len(samples),
            }
        return out


def _mib(value: float | None) -> float | None:
    return round(value / 2**20, 1) if value else None


@dataclass
class ScaleResult:
    times: dict[str, float] = field(default_factory=dict)
    error: str = ""


def one_workspace(env: Env, book: WorkspaceBook, board: SwarmBoard) -> ScaleResult:
    """Create, verify, message and delete one workspace; time each step; no retries."""
    res = ScaleResult()
    tenant = env.tenants.new()
    try:
        t0 = time.monotonic()
        resp = tenant.create_workspace()
        assert resp.status_code in (200, 201, 202), f"create: HTTP {resp.status_code}: {resp.text}"
        ws_id = str(dig(resp.json(), env.profile.api.workspace_id))
        book.created.append((tenant, ws_id))
        swarm = board.wait(ws_id, env.platform.is_verified, env.profile.budgets.verify * 2)
        res.times["create_to_verified_s"] = time.monotonic() - t0
        cleanup.label_run(
            env.kube, {**swarm, "apiVersion": env.profile.crd.api_version, "kind": env.profile.crd.kind}, env.run_id
        )
        t1 = time.monotonic()
        conv = tenant.new_conversation(ws_id)
        reply = tenant.send_message(ws_id, conv, "scale")
        assert reply.status_code == 200, f"message: HTTP {reply.status_code}: {reply.text}"
        res.times["conversation_and_message_s"] = time.monotonic() - t1
        snap = deletion.snapshot(env.platform, ws_id)
        t2 = time.monotonic()
        gone = tenant.delete_workspace(ws_id)
        assert gone.status_code in (200, 202, 204), f"delete: HTTP {gone.status_code}: {gone.text}"
        wait_gone(env, snap, interval=1.0)
        res.times["delete_to_nothing_left_s"] = time.monotonic() - t2
        res.times["total_s"] = time.monotonic() - t0
    except (AssertionError, WaitTimeout, KubeError, httpx.HTTPError, ValueError) as exc:
        res.error = f"{tenant.user_id}: {type(exc).__name__}: {str(exc)[:500]}"
    return res


class SwarmBoard:
    """One shared view of every UserSwarm, listed once a second, so N waiting threads cost one list call."""

    def __init__(self, platform: Platform, interval: float = 1.0):
        self.platform, self.interval = platform, interval
        self.by_workspace: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(KubeError):
                field_ = self.platform.profile.swarm.workspace
                self.by_workspace = {str(dig(s, field_)): s for s in self.platform.swarms()}

    def wait(self, workspace_id: str, until: Callable[[Any], bool], timeout: float) -> dict[str, Any]:
        swarm = wait_for(
            lambda: self.by_workspace.get(workspace_id),
            until=until,
            description=f"the UserSwarm of {workspace_id} is verified",
            timeout=timeout,
            interval=0.5,
        )
        assert swarm is not None
        return swarm

    def __enter__(self) -> SwarmBoard:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def bench_scale(env: Env, n: int) -> dict[str, Any]:
    comp = env.profile.components
    workloads = {"metacontroller": comp.metacontroller, "webhook": comp.webhook, "orchestrator": comp.orchestrator}
    book = env.book()
    start = time.monotonic()
    with CgroupSampler(env, workloads) as sampler, SwarmBoard(env.platform) as board, ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: one_workspace(env, book, board), range(n)))
    wall = time.monotonic() - start
    steps = sorted({k for r in results for k in r.times})
    return {
        "workspaces": n,
        "failures": sum(1 for r in results if r.error),
        "errors": [r.error for r in results if r.error],
        "wall_s": round(wall, 1),
        "per_workspace": {k: stats([r.times[k] for r in results if k in r.times], "s") for k in steps},
        "controllers": sampler.report(),
    }


# --- reports ----------------------------------------------------------------------------------------------------


def markdown(data: dict[str, Any]) -> str:
    lines = [
        f"# Benchmarks — `{data['run_id']}`",
        "",
        f"Command: `{data['command']}`",
        "",
        f"Machine: {data['machine']}",
        "",
    ]
    for phase, result in data["phases"].items():
        lines += [f"## {phase}", "", "```json", json.dumps(result, indent=2), "```", ""]
    return "\n".join(lines)


def machine() -> str:
    import platform as pf

    mem = 0
    with contextlib.suppress(OSError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 2**20
    return f"{pf.system()} {pf.machine()}, {os.cpu_count()} CPUs, {mem} GiB RAM, Python {pf.python_version()}"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    phases = [p for p in PHASES if p in args.only] if args.only else list(DEFAULT_PHASES)
    if (args.suite or args.suite_from) and "suite" not in phases:
        phases.append("suite")
    run_id = args.run_id or rundir.new_run_id()
    folder = OUT / run_id
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"run_id": run_id, "command": " ".join(sys.argv), "machine": machine(), "phases": {}}
    try:
        if "cluster" in phases:
            data["phases"]["cluster"] = _guarded("cluster", lambda: bench_cluster(args))
        cluster_phases = [p for p in phases if p in ("latency", "deletion", "reaper", "scale")]
        if cluster_phases:
            with environment(args, run_id) as env:
                jobs = {
                    "latency": lambda: bench_latency(env, args.messages),
                    "deletion": lambda: bench_deletion(env, args.deletions),
                    "reaper": lambda: bench_reaper(env),
                    "scale": lambda: bench_scale(env, args.scale),
                }
                for phase in cluster_phases:
                    data["phases"][phase] = _guarded(phase, jobs[phase])
                    _write(folder, data)
        if "suite" in phases:
            data["phases"]["suite"] = _guarded("suite", lambda: bench_suite(args, run_id))
    finally:
        _write(folder, data)
        (OUT / "latest").unlink(missing_ok=True)
        (OUT / "latest").symlink_to(run_id, target_is_directory=True)
        say(f"results: {folder / 'bench.json'} and bench.md")
    return 0


def _guarded(name: str, job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    say(f"phase {name} …")
    load_before = os.getloadavg()
    start = time.monotonic()
    try:
        result = job()
    except Exception as exc:  # one phase's failure is its result; the other phases still run
        result = {"error": f"{type(exc).__name__}: {exc}"[:3000]}
    result["phase_wall_s"] = round(time.monotonic() - start, 1)
    result["load_avg_1m_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    say(f"phase {name} done in {result['phase_wall_s']:.0f} s")
    return result


def _write(folder: Path, data: dict[str, Any]) -> None:
    (folder / "bench.json").write_text(json.dumps(data, indent=2) + "\n")
    (folder / "bench.md").write_text(markdown(data))


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--kubeconfig", type=Path, default=Path("/work/dev-cluster/kubeconfig"))
    p.add_argument("--context")
    p.add_argument("--profile", default="reference")
    p.add_argument(
        "--only",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        default=[],
        help=f"comma-separated phases of {', '.join(PHASES)}",
    )
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--deletions", type=int, default=20)
    p.add_argument("--scale", type=int, default=30)
    p.add_argument("--warm-cluster", action="store_true", help="also create and delete a new kind cluster")
    p.add_argument("--suite", action="store_true", help="also run the full suite once and time it")
    p.add_argument("--suite-from", help="read the suite's times from this run folder instead")
    p.add_argument("--wait-idle", type=float, default=600.0)
    p.add_argument("--ignore-other-runs", action="store_true")
    p.add_argument(
        "--own-install",
        action="store_true",
        help="measure a private install of the platform (other namespaces, removed at the end): the reaper "
        "phase then suspends only its own CronJob; implies --ignore-other-runs",
    )
    p.add_argument("--run-id")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
