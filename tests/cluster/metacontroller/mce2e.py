"""Building blocks of the Metacontroller end-to-end tests: hook servers, hooks, and a per-test scenario.

* :class:`ClusterHookServer` — the in-cluster test hook (:mod:`swarmconf.clusters.metacontroller.testhook`),
  controlled only through the API server's service proxy; CompositeControllers reach it by Service.
* :class:`LocalHookServer` — the same app on 127.0.0.1 in this process, for a dev loop against a bare API
  server with the controller run by hand (``SWARMCONF_MC_EXTERNAL=1``; see the conftest).
* :class:`Hook` — one test's hook id on a server: program behaviour, read recorded requests.
* :class:`Scenario` — one test's private world: its own parent CRD (unique group), CompositeController and
  namespaces, all removed in teardown (finalizers stripped first, so nothing stays Terminating).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

import uvicorn

from swarmconf.clusters.metacontroller.controller.errors import AlreadyExists, ApiError, NotFound
from swarmconf.clusters.metacontroller.controller.kube import KubeApi, Obj, ResourceInfo
from swarmconf.clusters.metacontroller.testhook import TestHookServer
from swarmconf.waits import wait_for

CONFIGMAPS = ResourceInfo("", "v1", "configmaps", "ConfigMap", True)
SECRETS = ResourceInfo("", "v1", "secrets", "Secret", True)

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
CC_PATH = "/apis/metacontroller.k8s.io/v1alpha1/compositecontrollers"
HOOK_NAMESPACE = "mce2e-testhook"
HOOK_PORT = 80


class HookServer(Protocol):
    """Where hooks are served and how tests talk to the server."""

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint (``/control/...``)."""
        ...

    def webhook(self, path: str) -> Obj:
        """The ``webhook`` stanza of a CompositeController hook for ``path`` (``/hooks/<id>/<kind>``)."""
        ...


class ClusterHookServer:
    """The in-cluster test hook, reached through ``/api/v1/namespaces/NS/services/NAME:PORT/proxy``."""

    def __init__(self, api: KubeApi, namespace: str = HOOK_NAMESPACE, name: str = "testhook") -> None:
        self.api = api
        self.namespace = namespace
        self.name = name

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint through the API server's service proxy."""
        proxy = f"/api/v1/namespaces/{self.namespace}/services/{self.name}:{HOOK_PORT}/proxy{path}"
        return self.api.request(method, proxy, body)

    def webhook(self, path: str) -> Obj:
        """A service reference (exercises upstream's ``<name>.<namespace>:<port><path>`` URL building)."""
        return {"service": {"name": self.name, "namespace": self.namespace, "port": HOOK_PORT}, "path": path}


class LocalHookServer:
    """The test hook app served by uvicorn on 127.0.0.1 in a thread of the test process."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(TestHookServer().app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_for(lambda: self._server.started, description="local test hook is serving", timeout=10, interval=0.05)

    def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        self._thread.join(10)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint over loopback."""
        import httpx

        with httpx.Client(trust_env=False, base_url=f"http://127.0.0.1:{self.port}") as http:
            response = http.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    def webhook(self, path: str) -> Obj:
        """A URL on loopback."""
        return {"url": f"http://127.0.0.1:{self.port}{path}"}


class Hook:
    """One test's hook id on a shared server."""

    def __init__(self, server: HookServer, hook_id: str) -> None:
        self.server = server
        self.id = hook_id

    def webhook(self, kind: str = "sync", **extra: Any) -> Obj:
        """The ``webhook`` stanza for this hook's ``sync`` or ``finalize`` endpoint."""
        return {**self.server.webhook(f"/hooks/{self.id}/{kind}"), **extra}

    def program(self, kind: str = "sync", **behaviour: Any) -> None:
        """Set the behaviour (see the testhook module): ``response=``, ``mode=``, ``perParent=``…"""
        self.server.control("PUT", f"/control/{self.id}/{kind}", behaviour)

    def respond(self, kind: str = "sync", **response: Any) -> None:
        """Answer every call with this JSON body."""
        self.program(kind, response=response)

    def requests(self, kind: str | None = None, *, after: int = 0, summary: bool = False) -> list[Obj]:
        """Recorded requests (oldest first)."""
        query = [f"after={after}"] + ([f"kind={kind}"] if kind else []) + (["summary=1"] if summary else [])
        return list(self.server.control("GET", f"/control/{self.id}/requests?" + "&".join(query)))

    def last_seq(self) -> int:
        """The sequence number of the latest recorded request (0 if none)."""
        records = self.requests(summary=True)
        return int(records[-1]["seq"]) if records else 0

    def wait_request(
        self,
        until: Callable[[Obj], bool],
        *,
        description: str,
        timeout: float = 30,
        after: int = 0,
        kind: str | None = None,
    ) -> Obj:
        """Wait for a recorded request (full body) satisfying ``until``; return the first such."""

        def matching() -> list[Obj]:
            return [r for r in self.requests(kind, after=after) if until(r)]

        found = wait_for(matching, description=description, timeout=timeout, interval=0.25, transient=(ApiError,))
        return found[0]

    def forget(self) -> None:
        """Drop this hook's state on the server."""
        self.server.control("DELETE", f"/control/{self.id}")


class Scenario:
    """A test's own parent CRD, CompositeController, namespaces and parents; :meth:`cleanup` removes them."""

    def __init__(self, api: KubeApi, server: HookServer) -> None:
        self.api = api
        self.id = "t" + secrets.token_hex(4)
        self.hook = Hook(server, self.id)
        self.group = f"{self.id}.mce2e.swarmconf.io"
        self.kind = "Widget"
        self.plural = "widgets"
        self.cc_name = f"mce2e-{self.id}"
        self.parent_res = ResourceInfo(self.group, "v1", self.plural, self.kind, False, frozenset({"status"}))
        self._namespaces: list[str] = []
        self._crd = False
        self._cc = False

    @property
    def api_version(self) -> str:
        """The parent CRD's ``group/version``."""
        return f"{self.group}/v1"

    @property
    def finalizer(self) -> str:
        """Our CompositeController's finalizer name on parents."""
        return f"metacontroller.io/compositecontroller-{self.cc_name}"

    # -- setup -------------------------------------------------------------------------------------------
    def namespace(self, suffix: str = "a") -> str:
        """Create (and remember) a namespace for children."""
        name = f"mce2e-{self.id}-{suffix}"
        self.api.request(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
        self._namespaces.append(name)
        return name

    def parent_crd(self, *, status_subresource: bool = True) -> None:
        """Create the cluster-scoped parent CRD (with or without /status) and wait until it is served."""
        version: Obj = {
            "name": "v1",
            "served": True,
            "storage": True,
            "schema": {
                "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    },
                }
            },
        }
        if status_subresource:
            version["subresources"] = {"status": {}}
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{self.plural}.{self.group}"},
            "spec": {
                "group": self.group,
                "scope": "Cluster",
                "names": {"plural": self.plural, "singular": "widget", "kind": self.kind, "listKind": "WidgetList"},
                "versions": [version],
            },
        }
        self.api.request("POST", CRD_PATH, crd)
        self._crd = True
        wait_for(
            lambda: self.api.request("GET", f"/apis/{self.group}/v1"),
            description=f"{self.group}/v1 is served",
            timeout=30,
            interval=0.25,
            transient=(ApiError,),
        )

    def controller(self, children: list[Obj], *, finalize: bool = False, **spec: Any) -> Obj:
        """Create the CompositeController (sync hook, optionally finalize) over the parent CRD."""
        hooks: Obj = {"sync": {"webhook": self.hook.webhook("sync", timeout="5s")}}
        if finalize:
            hooks["finalize"] = {"webhook": self.hook.webhook("finalize", timeout="5s")}
        body = {
            "apiVersion": "metacontroller.k8s.io/v1alpha1",
            "kind": "CompositeController",
            "metadata": {"name": self.cc_name},
            "spec": {
                "parentResource": {"apiVersion": self.api_version, "resource": self.plural},
                "childResources": children,
                "hooks": hooks,
                "resyncPeriodSeconds": 3600,
                **spec,
            },
        }
        self._cc = True
        return self.api.request("POST", CC_PATH, body)

    def update_controller(self, mutate: Callable[[Obj], None]) -> Obj:
        """GET, mutate and PUT the CompositeController."""
        cc = self.api.request("GET", f"{CC_PATH}/{self.cc_name}")
        mutate(cc)
        return self.api.request("PUT", f"{CC_PATH}/{self.cc_name}", cc)

    # -- parents -----------------------------------------------------------------------------------------
    def create_parent(self, name: str, spec: Obj | None = None, **meta: Any) -> Obj:
        """Create a parent object."""
        body = {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "metadata": {"name": name, **meta},
            "spec": spec or {},
        }
        return self.api.create(self.parent_res, body)

    def parent(self, name: str) -> Obj | None:
        """The live parent, or None."""
        try:
            return self.api.get(self.parent_res, "", name)
        except NotFound:
            return None

    def update_parent(self, name: str, mutate: Callable[[Obj], None]) -> Obj:
        """GET, mutate and PUT a parent (retrying conflicts with the controller's own writes)."""
        return self.update(self.parent_res, "", name, mutate)

    def update(self, res: ResourceInfo, namespace: str, name: str, mutate: Callable[[Obj], None]) -> Obj:
        """GET, mutate and PUT any object, retrying conflicts with the controller's concurrent writes."""
        for _ in range(10):
            obj = self.api.get(res, namespace, name)
            mutate(obj)
            try:
                return self.api.replace(res, obj)
            except ApiError as exc:
                if exc.status != 409:
                    raise
        raise AssertionError(f"could not update {res.kind} {namespace}/{name}: persistent conflicts")

    def poke(self, name: str) -> Obj:
        """Trigger a sync without changing the spec (bump an annotation; works on a Terminating parent too)."""

        def bump(obj: Obj) -> None:
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations["mce2e.swarmconf.io/poke"] = str(int(annotations.get("mce2e.swarmconf.io/poke", "0")) + 1)

        return self.update_parent(name, bump)

    def delete_parent(self, name: str) -> None:
        """Delete a parent (it may linger while finalizers hold it)."""
        self.api.delete(self.parent_res, "", name)

    # -- teardown ----------------------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Delete the CompositeController, unblock and delete parents and the CRD, delete namespaces."""
        if self._cc:
            _ignore_missing(lambda: self.api.request("DELETE", f"{CC_PATH}/{self.cc_name}"))
        if self._crd:
            self._strip_parent_finalizers()
            _ignore_missing(lambda: self.api.request("DELETE", f"{CRD_PATH}/{self.plural}.{self.group}"))
        for namespace in self._namespaces:
            with contextlib.suppress(NotFound):
                self.api.request("DELETE", f"/api/v1/namespaces/{namespace}")
        self.hook.forget()

    def _strip_parent_finalizers(self) -> None:
        try:
            parents, _ = self.api.list_objects(self.parent_res)
        except ApiError:
            return
        for parent in parents:
            if parent["metadata"].get("finalizers"):
                with contextlib.suppress(NotFound):
                    self.update(
                        self.parent_res, "", parent["metadata"]["name"], lambda p: p["metadata"].update(finalizers=[])
                    )


def _ignore_missing(call: Callable[[], Any]) -> None:
    with contextlib.suppress(NotFound):
        call()


def events_for(api: KubeApi, name: str, *, reason: str | None = None, namespace: str = "default") -> list[Obj]:
    """Events in ``namespace`` about an object called ``name`` (cluster-scoped objects' events land in default)."""
    items = api.request("GET", f"/api/v1/namespaces/{namespace}/events").get("items") or []
    return [
        e
        for e in items
        if (e.get("involvedObject") or {}).get("name") == name and (reason is None or e.get("reason") == reason)
    ]


def configmap(name: str, namespace: str, data: dict[str, str] | None = None, **meta: Any) -> Obj:
    """A desired ConfigMap child."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": data or {"k": "v"},
    }


def _namespace_phase(api: KubeApi, name: str) -> str:
    try:
        return str((api.request("GET", f"/api/v1/namespaces/{name}").get("status") or {}).get("phase"))
    except NotFound:
        return "Absent"


def deploy_testhook(api: KubeApi, image: str) -> None:
    """Run the test hook (Deployment + Service ``testhook``) in :data:`HOOK_NAMESPACE` from ``image``."""
    wait_for(  # an earlier session's teardown may still be deleting it
        lambda: _namespace_phase(api, HOOK_NAMESPACE),
        until=lambda phase: phase != "Terminating",
        description=f"namespace {HOOK_NAMESPACE} is not terminating",
        timeout=120,
        interval=1.0,
    )
    labels = {"app.kubernetes.io/name": "mce2e-testhook"}
    objects = [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": HOOK_NAMESPACE}}),
        (
            f"/apis/apps/v1/namespaces/{HOOK_NAMESPACE}/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "testhook", "namespace": HOOK_NAMESPACE, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "testhook",
                                    "image": image,
                                    "imagePullPolicy": "Never",
                                    "command": ["python", "-m", "swarmconf.clusters.metacontroller.testhook"],
                                    "args": ["--port", "8080"],
                                    "ports": [{"containerPort": 8080}],
                                    "readinessProbe": {
                                        "httpGet": {"path": "/healthz", "port": 8080},
                                        "periodSeconds": 2,
                                    },
                                }
                            ]
                        },
                    },
                },
            },
        ),
        (
            f"/api/v1/namespaces/{HOOK_NAMESPACE}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "testhook", "namespace": HOOK_NAMESPACE},
                "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
            },
        ),
    ]
    for path, body in objects:
        try:
            api.request("POST", path, body)
        except AlreadyExists:
            if body["kind"] == "Deployment":  # left by an earlier session: make sure it runs this image
                current = api.request("GET", f"{path}/testhook")
                current["spec"] = body["spec"]
                api.request("PUT", f"{path}/testhook", current)
