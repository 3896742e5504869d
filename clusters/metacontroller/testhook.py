"""A programmable hook server for testing Metacontroller, run in-cluster from the app image.

``python -m swarmconf.clusters.metacontroller.testhook [--port 8080]``. Many tests share one server; each uses
its own hook id. Tests reach it only through the API server's service proxy
(``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``): :func:`deploy` runs it, :func:`control` talks to it,
:func:`webhook` is the stanza a CompositeController names it by.

Hook endpoints (what Metacontroller calls)::

    POST /hooks/<id>/<kind>            kind is "sync" or "finalize"; every request is recorded

Control endpoints (what tests call)::

    PUT    /control/<id>/<kind>        set the behaviour (JSON, see Behaviour) of that hook
    GET    /control/<id>/requests      recorded requests [{seq, receivedAt, kind, body}]; ?kind=, ?after=<seq>,
                                       ?summary=1 (parent name/uid/resourceVersion, finalizing, child keys only)
    DELETE /control/<id>               forget behaviour and records of <id>
    GET    /healthz

Behaviour::

    {"mode": "respond" | "fail" | "status" | "hang",   # default "respond"
     "response": {...},                                 # the JSON body for respond/hang
     "perParent": {"<parent name>": {...}},             # per-parent response override
     "statusCode": 503,                                 # for mode "status"
     "hangSeconds": 30}                                 # for mode "hang": sleep, then respond
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from swarmconf.kube import Kube

MAX_RECORDS_PER_HOOK = 5000
NAMESPACE = "mce2e-testhook"
NAME = "testhook"
PORT = 80


@dataclass
class HookState:
    """Behaviours and recorded requests of one hook id."""

    behaviour: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)


class TestHookServer:
    """The in-memory state behind the Starlette app (one event loop: no locking needed)."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.hooks: dict[str, HookState] = {}
        self._seq = itertools.count(1)

    def state(self, hook_id: str) -> HookState:
        """The state of ``hook_id`` (created on first use)."""
        return self.hooks.setdefault(hook_id, HookState())

    async def hook(self, request: Request) -> Response:
        """A Metacontroller hook call: record it, then behave as programmed."""
        hook_id, kind = request.path_params["hook_id"], request.path_params["kind"]
        received = time.time()
        body = await request.json()
        state = self.state(hook_id)
        state.records.append({"seq": next(self._seq), "receivedAt": received, "kind": kind, "body": body})
        del state.records[:-MAX_RECORDS_PER_HOOK]
        behaviour = state.behaviour.get(kind, {})
        mode = behaviour.get("mode", "respond")
        if mode == "fail":
            return PlainTextResponse("programmed failure", status_code=500)
        if mode == "status":
            return PlainTextResponse("programmed status", status_code=int(behaviour.get("statusCode", 503)))
        if mode == "hang":
            await asyncio.sleep(float(behaviour.get("hangSeconds", 30)))
        parent = ((body.get("parent") or {}).get("metadata") or {}).get("name")
        response = (behaviour.get("perParent") or {}).get(parent, behaviour.get("response", {}))
        return JSONResponse(response)

    async def program(self, request: Request) -> Response:
        """Set one hook's behaviour."""
        self.state(request.path_params["hook_id"]).behaviour[request.path_params["kind"]] = await request.json()
        return JSONResponse({"ok": True})

    async def requests(self, request: Request) -> Response:
        """The recorded requests, optionally filtered and summarised."""
        records = self.state(request.path_params["hook_id"]).records
        kind = request.query_params.get("kind")
        after = int(request.query_params.get("after", "0"))
        chosen = [r for r in records if r["seq"] > after and (not kind or r["kind"] == kind)]
        if request.query_params.get("summary"):
            chosen = [summarize(r) for r in chosen]
        return JSONResponse(chosen)

    async def forget(self, request: Request) -> Response:
        """Drop a hook's behaviour and records."""
        self.hooks.pop(request.path_params["hook_id"], None)
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/hooks/{hook_id}/{kind}", self.hook, methods=["POST"]),
                Route("/control/{hook_id}/requests", self.requests, methods=["GET"]),
                Route("/control/{hook_id}/{kind}", self.program, methods=["PUT"]),
                Route("/control/{hook_id}", self.forget, methods=["DELETE"]),
                Route("/healthz", lambda request: PlainTextResponse("ok"), methods=["GET"]),
            ]
        )


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """A small view of one recorded request."""
    body = record["body"]
    meta = (body.get("parent") or {}).get("metadata") or {}
    return {
        "seq": record["seq"],
        "receivedAt": record["receivedAt"],
        "kind": record["kind"],
        "parent": meta.get("name"),
        "parentUid": meta.get("uid"),
        "parentResourceVersion": meta.get("resourceVersion"),
        "finalizing": body.get("finalizing"),
        "children": {group: sorted(items) for group, items in (body.get("children") or {}).items()},
    }


def manifests(image: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """Namespace, Deployment and Service of the in-cluster test hook, from the app image (never pulled)."""
    labels = {"app.kubernetes.io/name": "mce2e-testhook"}
    container = {
        "name": NAME,
        "image": image,
        "imagePullPolicy": "Never",
        "command": ["python", "-m", "swarmconf.clusters.metacontroller.testhook"],
        "args": ["--port", "8080"],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2},
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": namespace},
            "spec": {"selector": labels, "ports": [{"port": PORT, "targetPort": 8080}]},
        },
    ]


def parent_crd(group: str, kind: str, plural: str) -> dict[str, Any]:
    """A cluster-scoped parent CRD (``v1``, with ``/status``, any fields) for a test's own CompositeController."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Cluster",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


def deploy(kube: Kube, image: str, namespace: str = NAMESPACE, *, timeout: float = 180) -> None:
    """Run the test hook in ``namespace`` and wait until it answers through the API server's service proxy."""
    from swarmconf.kube import KubeError
    from swarmconf.waits import wait_for

    wait_for(  # an earlier session's teardown may still be deleting it
        lambda: kube.get("v1", "Namespace", namespace),
        until=lambda ns: ns is None or (ns.get("status") or {}).get("phase") != "Terminating",
        description=f"namespace {namespace} is not terminating",
        timeout=timeout,
        interval=1.0,
        transient=(KubeError,),
    )
    kube.apply(manifests(image, namespace))
    wait_for(
        lambda: control(kube, "GET", "/control/ready-probe/requests", namespace=namespace),
        until=lambda records: records == [],
        description=f"the test hook in {namespace} answers through the service proxy",
        timeout=timeout,
        interval=1.0,
        transient=(KubeError,),
    )


def control(kube: Kube, method: str, path: str, body: Any = None, *, namespace: str = NAMESPACE) -> Any:
    """Call a control endpoint (``/control/...``) of the in-cluster test hook."""
    return kube.request(method, f"/api/v1/namespaces/{namespace}/services/{NAME}:{PORT}/proxy{path}", body)


def webhook(path: str, namespace: str = NAMESPACE, **extra: Any) -> dict[str, Any]:
    """A CompositeController ``webhook`` stanza that reaches ``path`` on the test hook by Service reference."""
    return {"service": {"name": NAME, "namespace": namespace, "port": PORT}, "path": path, **extra}


def main(argv: list[str] | None = None) -> None:
    """Serve until killed."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    uvicorn.run(TestHookServer().app(), host="0.0.0.0", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
