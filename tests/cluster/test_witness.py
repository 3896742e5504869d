"""The harness's traffic witness on a real cluster: it sees what it must, attributes it to the right pod, and
cannot be fooled into a silent pass.

Coverage matrix:

==============================================  ==============================================================
case                                            expectation
==============================================  ==============================================================
the agents start on every node                  ready; the canary (a pod's request to another pod) is seen
a pod's HTTP request straight to a "runtime"    seen with the caller's pod and IP, method and path: traffic
pod, bypassing any orchestrator                 that should not be there is caught
the same through a Service                      seen with the pod's address as target (after DNAT)
a bare TCP connection from a pod                seen as a ``connect`` entry, counted as user traffic
the kubelet's probes of that pod                seen as coming from the node, not user traffic
an agent restarted after a mark                 the mark no longer holds: WitnessGap, never "nothing seen"
==============================================  ==============================================================
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from swarmconf.fixtures import witness as w
from swarmconf.kube import Kube, KubeError
from swarmconf.waits import wait_for

NS = "swarmconf-witnesstest"
PORT = 8080
INTERNAL = ["/healthz"]


def _pod(name: str, image: str, command: list[str], **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "containers": [
                {"name": "c", "image": image, "imagePullPolicy": "IfNotPresent", "command": command, **container}
            ],
        },
    }


def _ready(kube: Kube, name: str) -> dict[str, Any]:
    def ready(pod: dict[str, Any] | None) -> bool:
        conditions = ((pod or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    pod = wait_for(
        lambda: kube.get("v1", "Pod", name, NS),
        until=ready,
        description=f"pod {name} is ready",
        timeout=120,
        interval=1.0,
        transient=(KubeError,),
    )
    assert pod is not None
    return pod


@pytest.fixture(scope="module")
def world(kube: Kube, app_image: str) -> Iterator[dict[str, Any]]:
    """The witness's DaemonSet, a "runtime" server pod behind a Service (with a TCP readiness probe), a client."""
    witness = w.Witness(kube, NS, (PORT,), app_image, budget=180)
    server = _pod(
        "runtime",
        app_image,
        ["python3", "-m", "http.server", str(PORT)],
        readinessProbe={"tcpSocket": {"port": PORT}, "periodSeconds": 1},
    )
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "runtime", "namespace": NS},
        "spec": {"selector": {"app": "runtime"}, "ports": [{"port": 80, "targetPort": PORT}]},
    }
    client = _pod("client", app_image, ["sleep", "3600"])
    kube.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
    kube.apply([*witness.manifests(), server, service, client])
    try:
        yield {
            "witness": witness,
            "server": _ready(kube, "runtime"),
            "client": _ready(kube, "client"),
        }
    finally:
        kube.delete("v1", "Namespace", NS)


def _seen(world: dict[str, Any], kube: Kube, mark: dict[str, tuple[str, int]]) -> list[dict[str, Any]]:
    witness: w.Witness = world["witness"]
    records = witness.records_since(mark)
    return w.entries(
        records,
        targets={world["server"]["status"]["podIP"]},
        pods_by_ip=w.pods_by_ip(kube),
        node_addresses=witness.node_addresses(),
    )


def _run_in_client(kube: Kube, *probe: str) -> dict[str, Any]:
    out = kube.exec("client", NS, ["python3", "-m", "swarmconf.fixtures.netprobe", "--timeout", "5", *probe])
    return dict(json.loads(out.stdout.splitlines()[-1]))


def test_the_witness_runs_on_every_node_and_sees_its_canary(world: dict[str, Any]) -> None:
    world["witness"].prove()  # raises WitnessUnusable (with the reason) otherwise


@pytest.mark.parametrize("via", ["pod", "service"])
def test_a_request_bypassing_the_orchestrator_is_seen_with_its_source_pod(
    world: dict[str, Any], kube: Kube, via: str
) -> None:
    world["witness"].prove()
    server_ip, client_ip = world["server"]["status"]["podIP"], world["client"]["status"]["podIP"]
    mark = world["witness"].mark()
    path = f"/v1/workspaces/{secrets.token_hex(4)}/messages"
    host = f"{server_ip}:{PORT}" if via == "pod" else f"runtime.{NS}.svc:80"
    assert _run_in_client(kube, "url", f"http://{host}{path}")["outcome"] == "answered"
    got = wait_for(
        lambda: [e for e in _seen(world, kube, mark) if e["path"] == path],
        description=f"the witness sees GET {path}",
        timeout=20,
        interval=1.0,
    )
    (entry,) = got
    assert (entry["kind"], entry["method"], entry["target"], entry["port"]) == ("http", "GET", server_ip, PORT)
    assert (entry["caller"], entry["caller_pod"]) == (client_ip, f"{NS}/client")
    assert w.is_user_traffic(entry, INTERNAL)


def test_a_bare_connection_from_a_pod_is_seen_and_counts(world: dict[str, Any], kube: Kube) -> None:
    world["witness"].prove()
    server_ip = world["server"]["status"]["podIP"]
    mark = world["witness"].mark()
    assert _run_in_client(kube, "tcp", server_ip, str(PORT))["outcome"] == "connected"
    got = wait_for(
        lambda: [e for e in _seen(world, kube, mark) if e["caller_pod"] == f"{NS}/client"],
        description="the witness sees the client's bare connection",
        timeout=20,
        interval=1.0,
    )
    assert [(e["kind"], e["method"], e["path"]) for e in got] == [("connect", None, None)]
    assert w.is_user_traffic(got[0], INTERNAL)


def test_the_kubelets_probes_come_from_the_node_and_are_not_user_traffic(world: dict[str, Any], kube: Kube) -> None:
    world["witness"].prove()
    mark = world["witness"].mark()
    probes = wait_for(
        lambda: [e for e in _seen(world, kube, mark) if e["kind"] == "connect"],
        description="the witness sees the kubelet's TCP readiness probes",
        timeout=20,
        interval=1.0,
    )
    assert all(str(e["caller_pod"]).startswith("node:") for e in probes), probes
    assert not any(w.is_user_traffic(e, INTERNAL) for e in probes)


def test_a_restarted_agent_makes_what_happened_unknown(world: dict[str, Any], kube: Kube) -> None:
    witness: w.Witness = world["witness"]
    witness.prove()
    mark = witness.mark()
    victim = next(iter(mark))
    kube.delete("v1", "Pod", victim, NS)
    with pytest.raises(w.WitnessGap):
        wait_for(
            lambda: witness.records_since(mark),
            until=lambda _: False,  # keeps reading until the gap shows (the pod goes, a new one comes)
            description="the witness reports the gap",
            timeout=60,
            interval=1.0,
            transient=(),
        )
    # The DaemonSet brings a new agent: a new mark holds again.
    wait_for(
        lambda: witness.records_since(witness.mark()),
        until=lambda _: True,
        description="a new mark holds",
        timeout=120,
        interval=2.0,
        transient=(w.WitnessGap,),
    )
