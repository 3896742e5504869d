"""Measure the Metacontroller in the dev cluster: sync latency, resyncAfterSeconds, CPU and memory.

    .venv/bin/python benchmarks/metacontroller_latency.py [--parents 50] [--json out.json]

Needs the cluster (``SWARMCONF_KUBECONFIG``, default /work/dev-cluster/kubeconfig) with Metacontroller installed
and the e2e test hook deployable (it uses the e2e building blocks in tests/cluster/metacontroller/mce2e.py, and
the image of the running StatefulSet for the hook). Everything it creates lives in its own CRD/namespace and is
removed at the end.

What is measured:

* **sync latency**, per parent: parent created (host clock) → first hook call for it (hook's clock; same kernel)
  → its ConfigMap child ADDED (seen by a watch on the host). Sequential: one parent at a time (idle latency).
  Burst: all parents created at once (latency under load).
* **resyncAfterSeconds 0.1**: the gaps between hook calls for one parent that asks for it.
* **CPU and memory** of the controller process (``/proc/1/stat`` and ``/proc/1/status`` via exec): idle over
  10 s, and during the burst.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "cluster" / "metacontroller"))

from mce2e import CONFIGMAPS, ClusterHookServer, Scenario, configmap, deploy_testhook  # noqa: E402

from swarmconf.clusters.metacontroller.controller.kube import KubeApi  # noqa: E402
from swarmconf.kube import Kube, connect  # noqa: E402
from swarmconf.waits import wait_for  # noqa: E402

CLK_TCK = 100  # Linux USER_HZ


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    """p50/p95/max in milliseconds."""
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


class ChildWatch:
    """Record when each ConfigMap in a namespace is first seen (host-side watch)."""

    def __init__(self, api: KubeApi, namespace: str) -> None:
        self.api = api
        self.namespace = namespace
        self.seen: dict[str, float] = {}
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        _, version = self.api.list_objects(CONFIGMAPS, self.namespace)
        self._stream = self.api.watch(CONFIGMAPS, version, 600)
        self._ready.set()
        try:
            for event in self._stream:
                obj = event["object"]
                if event["type"] == "ADDED" and obj["metadata"].get("namespace") == self.namespace:
                    self.seen.setdefault(obj["metadata"]["name"], time.time())
        except Exception:  # stopped
            return

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()


def process_sample(kube: Kube) -> tuple[float, int]:
    """(CPU seconds used so far, RSS bytes) of the controller process."""
    out = kube.exec(
        "metacontroller-0",
        "metacontroller",
        ["python", "-c", "print(open('/proc/1/stat').read());print(open('/proc/1/status').read())"],
    ).stdout
    stat = out.split("\n", 1)[0]
    fields = stat.rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    rss = next(int(line.split()[1]) * 1024 for line in out.splitlines() if line.startswith("VmRSS:"))
    return cpu, rss


def cpu_over(kube: Kube, seconds: float, during: Any = None) -> dict[str, float]:
    """CPU% (of one core) and peak RSS over ``seconds`` (or over the run of ``during``)."""
    cpu0, rss0 = process_sample(kube)
    start = time.monotonic()
    if during is not None:
        during()
    else:
        time.sleep(seconds)
    cpu1, rss1 = process_sample(kube)
    elapsed = time.monotonic() - start
    return {
        "seconds": round(elapsed, 1),
        "cpu_percent": round((cpu1 - cpu0) / elapsed * 100, 1),
        "rss_mib": round(max(rss0, rss1) / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    kube = connect(os.environ.get("SWARMCONF_KUBECONFIG", "/work/dev-cluster/kubeconfig"))
    api = KubeApi(kube.api_client)
    sts = api.request("GET", "/apis/apps/v1/namespaces/metacontroller/statefulsets/metacontroller")
    image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    deploy_testhook(api, image)
    server = ClusterHookServer(api)
    wait_for(
        lambda: server.control("GET", "/control/probe/requests"),
        until=lambda r: r == [],
        description="test hook reachable",
        timeout=120,
        interval=1.0,
        transient=(Exception,),
    )
    scenario = Scenario(api, server)
    results: dict[str, Any] = {"image": image, "parents": args.parents}
    try:
        ns = scenario.namespace()
        scenario.parent_crd()
        names = [f"seq-{i}" for i in range(args.parents)] + [f"burst-{i}" for i in range(args.parents)]
        per_parent: dict[str, dict[str, Any]] = {
            n: {"children": [configmap(f"cm-{n}", ns)], "status": {"ok": True}} for n in names
        }
        per_parent["resync"] = {"status": {"ok": True}, "resyncAfterSeconds": 0.1}
        scenario.hook.program("sync", perParent=per_parent, response={})
        scenario.controller(
            [{"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}],
            generateSelector=True,
        )
        watch = ChildWatch(api, ns)
        watch.start()
        per_parent["warmup"] = {"children": [configmap("cm-warmup", ns)]}
        scenario.hook.program("sync", perParent=per_parent, response={})
        scenario.create_parent("warmup")  # the controller has started once this child appears
        wait_for(lambda: watch.seen.get("cm-warmup"), description="warm-up child", timeout=60, interval=0.05)
        results["idle"] = cpu_over(kube, 10)

        created: dict[str, float] = {}
        for i in range(args.parents):
            name = f"seq-{i}"
            created[name] = time.time()
            scenario.create_parent(name)
            child = f"cm-{name}"
            wait_for(
                lambda: watch.seen.get(child),  # noqa: B023  (called before the loop moves on)
                description=f"child of {name}",
                timeout=60,
                interval=0.01,
            )

        def burst() -> None:
            for i in range(args.parents):
                created[f"burst-{i}"] = time.time()
                scenario.create_parent(f"burst-{i}")
            wait_for(
                lambda: all(f"cm-burst-{i}" in watch.seen for i in range(args.parents)),
                description="all burst children",
                timeout=300,
                interval=0.05,
            )

        results["load"] = cpu_over(kube, 0, during=burst)
        calls = scenario.hook.requests("sync", summary=True)
        first_call: dict[str, float] = {}
        for call in calls:
            first_call.setdefault(call["parent"], call["receivedAt"])
        for phase in ("seq", "burst"):
            group = [n for n in names if n.startswith(phase)]
            results[f"{phase}_create_to_hook"] = summary([first_call[n] - created[n] for n in group])
            results[f"{phase}_create_to_child"] = summary([watch.seen[f"cm-{n}"] - created[n] for n in group])
            results[f"{phase}_hook_to_child"] = summary([watch.seen[f"cm-{n}"] - first_call[n] for n in group])
        watch.stop()

        seq = scenario.hook.last_seq()
        scenario.create_parent("resync")
        resync_calls = wait_for(
            lambda: [
                c["receivedAt"]
                for c in scenario.hook.requests("sync", after=seq, summary=True)
                if c["parent"] == "resync"
            ],
            until=lambda calls: len(calls) >= 40,
            description="40 resyncAfterSeconds-driven calls",
            timeout=60,
            interval=0.5,
        )
        gaps = [b - a for a, b in itertools.pairwise(resync_calls[3:])]
        results["resync_after_0.1s"] = {**summary(gaps), "all_under_1s": all(g < 1.0 for g in gaps)}
        results["one_parent_resyncing_every_100ms"] = cpu_over(kube, 10)
    finally:
        scenario.cleanup()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
