"""Sync latency, CPU and memory of whatever Metacontroller runs in a cluster (upstream, or any other).

    .venv/bin/python benchmarks/metacontroller_latency.py --kubeconfig KC [--parents 50] [--json out.json]

Needs a kind cluster on this machine with a Metacontroller as StatefulSet ``metacontroller/metacontroller`` (when
there is none, upstream's is installed the harness's way). The test hook runs from the app image (built and
loaded as needed). Everything the benchmark creates lives in its own CRD, CompositeController and namespaces and
is removed at the end.

Measured, from outside the controller (it needs no shell or tool in the controller's image):

* **sync latency**, parent change → child applied: a parent is created (host clock) and its ConfigMap child is
  seen ADDED by a watch on the host. *Sequential*: one parent at a time, ``--parents`` of them. *Burst*: as many
  created at once. Also the share of that time before the hook was first called (hook clock, same kernel).
* **CPU and memory** of the controller's container, from its cgroup on the kind node (``docker exec`` on the node
  container): *idle* over ``--idle`` seconds with nothing to do, and *loaded* over the sequential and burst phases.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import watch
from node_cgroups import sample_container

from swarmconf.clusters.metacontroller import testhook
from swarmconf.kube import Kube, KubeError, connect
from swarmconf.waits import wait_for

NAMESPACE, WORKLOAD = "metacontroller", "metacontroller"
GROUP = "synclat.bench.swarmconf.io"
CC_NAME = "bench-synclat"
CHILD_NS = "bench-synclat"
HOOK_ID = "synclat"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    """n, p50, p95 and max in milliseconds."""
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


class ChildWatch:
    """When each ConfigMap in the child namespace was first seen (a watch on the host)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.seen: dict[str, float] = {}
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        listed = self.kube.core.list_namespaced_config_map(CHILD_NS)
        version = listed.metadata.resource_version if listed.metadata else None
        self._ready.set()
        for event in self._watch.stream(
            self.kube.core.list_namespaced_config_map, CHILD_NS, resource_version=version, timeout_seconds=900
        ):
            if event["type"] == "ADDED":
                self.seen.setdefault(event["object"].metadata.name, time.time())

    def stop(self) -> None:
        self._watch.stop()


class ControllerCgroup:
    """The controller's container's cgroup readings (from its kind node, see ``node_cgroups``)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        pod = kube.core.read_namespaced_pod(f"{WORKLOAD}-0", NAMESPACE)
        statuses = (pod.status and pod.status.container_statuses) or []
        if not statuses:
            raise RuntimeError(f"pod {NAMESPACE}/{WORKLOAD}-0 has no container status yet")
        self.image_id = statuses[0].image_id

    def sample(self) -> dict[str, float]:
        """``cpu_s`` so far, ``working_set`` and ``max_usage`` bytes."""
        return sample_container(self.kube, f"{WORKLOAD}-0", NAMESPACE)


def cpu_over(cgroup: ControllerCgroup, during: Callable[[], None]) -> dict[str, float]:
    """Mean cores and the largest working set (sampled each second) while ``during`` runs."""
    samples = [cgroup.sample()]
    done = threading.Event()

    def sampler() -> None:
        while not done.wait(1.0):
            samples.append(cgroup.sample())

    thread = threading.Thread(target=sampler, daemon=True)
    start = time.monotonic()
    thread.start()
    try:
        during()
    finally:
        done.set()
        thread.join(10)
    samples.append(cgroup.sample())
    wall = time.monotonic() - start
    cpu = samples[-1]["cpu_s"] - samples[0]["cpu_s"]
    return {
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 2),
        "mean_cores": round(cpu / wall, 3),
        "working_set_mib_max": round(max(s.get("working_set", 0.0) for s in samples) / 2**20, 1),
        "peak_mib": round(samples[-1].get("max_usage", 0.0) / 2**20, 1),
    }


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": CHILD_NS}, "data": {}}


def setup(kube: Kube, image: str) -> None:
    """The test hook, the child namespace, the parent CRD and the CompositeController over it."""
    testhook.deploy(kube, image)
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CHILD_NS}}])
    kube.apply([testhook.parent_crd(GROUP, "Gadget", "gadgets")])
    wait_for(
        lambda: kube.request("GET", f"/apis/{GROUP}/v1"),
        description=f"{GROUP}/v1 is served",
        timeout=60,
        interval=0.5,
        transient=(KubeError,),
    )


def controller() -> dict[str, Any]:
    return {
        "apiVersion": "metacontroller.k8s.io/v1alpha1",
        "kind": "CompositeController",
        "metadata": {"name": CC_NAME},
        "spec": {
            "generateSelector": True,
            "parentResource": {"apiVersion": f"{GROUP}/v1", "resource": "gadgets"},
            "childResources": [{"apiVersion": "v1", "resource": "configmaps", "updateStrategy": {"method": "InPlace"}}],
            "hooks": {"sync": {"webhook": testhook.webhook(f"/hooks/{HOOK_ID}/sync", timeout="5s")}},
        },
    }


def create_parent(kube: Kube, name: str) -> float:
    """Create a parent; return the host time just before the call."""
    t = time.time()
    kube.request(
        "POST",
        f"/apis/{GROUP}/v1/gadgets",
        {"apiVersion": f"{GROUP}/v1", "kind": "Gadget", "metadata": {"name": name}, "spec": {"n": name}},
    )
    return t


def teardown(kube: Kube) -> None:
    for api_version, kind, name in (
        ("metacontroller.k8s.io/v1alpha1", "CompositeController", CC_NAME),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gadgets.{GROUP}"),
        ("v1", "Namespace", CHILD_NS),
        ("v1", "Namespace", testhook.NAMESPACE),
    ):
        try:
            kube.delete(api_version, kind, name)
        except KubeError as exc:
            print(f"cleanup: {kind}/{name}: {exc}", file=sys.stderr)


def app_image_in(kube: Kube) -> str:
    """Build the app image (for the test hook) and load it into the kind cluster behind ``kube``."""
    from swarmconf.clusters.appimage import ensure_app_image
    from swarmconf.fixtures.session import kind_cluster_of

    name = kind_cluster_of(kube)
    if name is None:
        raise SystemExit("not a kind cluster on this machine: pass --app-image with an image its nodes hold")
    return ensure_app_image(name)


def run(kube: Kube, image: str, parents: int, idle_seconds: float) -> dict[str, Any]:
    """The measurements (see the module docstring)."""
    from swarmconf.clusters.metacontroller.install import describe_metacontroller, install_metacontroller

    if kube.get("apps/v1", "StatefulSet", WORKLOAD, NAMESPACE) is None:
        install_metacontroller(kube.api_client, timeout=300)
    results: dict[str, Any] = {"metacontroller": describe_metacontroller(kube), "parents": parents}
    setup(kube, image)
    names = [f"seq-{i}" for i in range(parents)] + [f"burst-{i}" for i in range(parents)] + ["warmup"]
    per_parent = {n: {"children": [configmap(f"cm-{n}")], "status": {"ok": True}} for n in names}
    testhook.control(kube, "PUT", f"/control/{HOOK_ID}/sync", {"perParent": per_parent, "response": {}})
    kube.apply([controller()])
    cgroup = ControllerCgroup(kube)
    results["metacontroller"]["running_image_id"] = cgroup.image_id
    children = ChildWatch(kube)
    children.start()
    try:
        create_parent(kube, "warmup")  # the controller serves the new CompositeController once this child exists
        wait_for(lambda: children.seen.get("cm-warmup"), description="warm-up child", timeout=120, interval=0.05)
        results["idle"] = cpu_over(cgroup, lambda: time.sleep(idle_seconds))
        created: dict[str, float] = {}

        def sequential() -> None:
            for i in range(parents):
                name = f"seq-{i}"
                created[name] = create_parent(kube, name)
                wait_for(
                    lambda name=name: children.seen.get(f"cm-{name}"),  # type: ignore[misc]
                    description=f"child of {name}",
                    timeout=60,
                    interval=0.005,
                )

        def burst() -> None:
            for i in range(parents):
                created[f"burst-{i}"] = create_parent(kube, f"burst-{i}")
            wait_for(
                lambda: all(f"cm-burst-{i}" in children.seen for i in range(parents)),
                description="every burst child",
                timeout=300,
                interval=0.05,
            )

        results["loaded_sequential"] = cpu_over(cgroup, sequential)
        results["loaded_burst"] = cpu_over(cgroup, burst)
        calls = testhook.control(kube, "GET", f"/control/{HOOK_ID}/requests?kind=sync&summary=1")
        first_call: dict[str, float] = {}
        for call in calls:
            first_call.setdefault(call["parent"], call["receivedAt"])
        for phase in ("seq", "burst"):
            group = [n for n in names if n.startswith(phase)]
            results[f"{phase}_change_to_child"] = summary([children.seen[f"cm-{n}"] - created[n] for n in group])
            results[f"{phase}_change_to_hook"] = summary([first_call[n] - created[n] for n in group])
    finally:
        children.stop()
        teardown(kube)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--context")
    parser.add_argument("--parents", type=int, default=50)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle sampling")
    parser.add_argument("--app-image", help="image for the test hook (default: build and load the app image)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    kube = connect(args.kubeconfig, args.context)
    results = run(kube, args.app_image or app_image_in(kube), args.parents, args.idle)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
