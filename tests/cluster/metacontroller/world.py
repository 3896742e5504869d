"""One test's private world on the shared cluster: a parent CRD of its own (unique group), a CompositeController
over it whose hooks are a hook id on the shared in-cluster test hook, and namespaces for children. Everything is
removed in :meth:`World.cleanup`, finalizers stripped first so nothing stays Terminating.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from typing import Any

from swarmconf.clusters.metacontroller import testhook
from swarmconf.kube import Kube, KubeError
from swarmconf.waits import wait_for

CC_PATH = "/apis/metacontroller.k8s.io/v1alpha1/compositecontrollers"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class World:
    """A test's CRD, CompositeController, namespaces and hook id; see the module docstring."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.id = "t" + secrets.token_hex(4)
        self.group = f"{self.id}.mce2e.swarmconf.io"
        self.cc_name = f"mce2e-{self.id}"
        self.namespace = f"mce2e-{self.id}"
        self._made: list[str] = []

    @property
    def parents_path(self) -> str:
        return f"/apis/{self.group}/v1/widgets"

    @property
    def finalizer(self) -> str:
        """The finalizer upstream puts on parents of a CompositeController with a finalize hook."""
        return f"metacontroller.io/compositecontroller-{self.cc_name}"

    # -- the hook ------------------------------------------------------------------------------------
    def program(self, kind: str = "sync", **behaviour: Any) -> None:
        """Set the hook's behaviour (see :mod:`swarmconf.clusters.metacontroller.testhook`)."""
        testhook.control(self.kube, "PUT", f"/control/{self.id}/{kind}", behaviour)

    def calls(self, kind: str = "sync", *, after: int = 0) -> list[dict[str, Any]]:
        """The hook calls recorded so far (summaries, oldest first)."""
        return list(
            testhook.control(self.kube, "GET", f"/control/{self.id}/requests?kind={kind}&after={after}&summary=1")
        )

    # -- setup ---------------------------------------------------------------------------------------
    def start(self, children: list[dict[str, Any]], *, finalize: bool = False, **spec: Any) -> None:
        """Create the child namespace, the parent CRD (with /status) and the CompositeController."""
        self.kube.request(
            "POST",
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}},
        )
        self._made.append("namespace")
        self.kube.request("POST", CRD_PATH, testhook.parent_crd(self.group, "Widget", "widgets"))
        self._made.append("crd")
        wait_for(
            lambda: self.kube.request("GET", f"/apis/{self.group}/v1"),
            description=f"{self.group}/v1 is served",
            timeout=60,
            interval=0.25,
            transient=(KubeError,),
        )
        hooks: dict[str, Any] = {"sync": {"webhook": testhook.webhook(f"/hooks/{self.id}/sync", timeout="5s")}}
        if finalize:
            hooks["finalize"] = {"webhook": testhook.webhook(f"/hooks/{self.id}/finalize", timeout="5s")}
        self.kube.request(
            "POST",
            CC_PATH,
            {
                "apiVersion": "metacontroller.k8s.io/v1alpha1",
                "kind": "CompositeController",
                "metadata": {"name": self.cc_name},
                "spec": {
                    "generateSelector": True,
                    "parentResource": {"apiVersion": f"{self.group}/v1", "resource": "widgets"},
                    "childResources": children,
                    "hooks": hooks,
                    **spec,
                },
            },
        )
        self._made.append("cc")

    # -- objects -------------------------------------------------------------------------------------
    def create_parent(self, name: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"apiVersion": f"{self.group}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec or {}}
        return dict(self.kube.request("POST", self.parents_path, body))

    def parent(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.kube.request("GET", f"{self.parents_path}/{name}"))
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_parent(self, name: str) -> None:
        self.kube.request("DELETE", f"{self.parents_path}/{name}")

    def configmap(self, name: str, **data: str) -> dict[str, Any]:
        """A desired ConfigMap child in this world's namespace."""
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": self.namespace},
            "data": data,
        }

    def child(self, name: str) -> dict[str, Any] | None:
        return self.kube.get("v1", "ConfigMap", name, self.namespace)

    def wait(
        self, probe: Callable[[], Any], *, description: str, timeout: float = 60, until: Callable[[Any], bool] = bool
    ) -> Any:
        return wait_for(
            probe, until=until, description=description, timeout=timeout, interval=0.25, transient=(KubeError,)
        )

    # -- teardown ------------------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Remove the CompositeController, every parent (finalizers stripped), the CRD and the namespace."""
        with contextlib.suppress(KubeError):
            if "cc" in self._made:
                self.kube.request("DELETE", f"{CC_PATH}/{self.cc_name}")
            if "crd" in self._made:
                for parent in (self.kube.request("GET", self.parents_path) or {}).get("items", []):
                    if parent["metadata"].get("finalizers"):
                        with contextlib.suppress(KubeError):
                            self.kube.request(
                                "PATCH",
                                f"{self.parents_path}/{parent['metadata']['name']}",
                                {"metadata": {"finalizers": None}},
                                content_type="application/merge-patch+json",
                            )
                self.kube.request("DELETE", f"{CRD_PATH}/widgets.{self.group}")
        with contextlib.suppress(KubeError):
            if "namespace" in self._made:
                self.kube.request("DELETE", f"/api/v1/namespaces/{self.namespace}")
        with contextlib.suppress(KubeError):
            testhook.control(self.kube, "DELETE", f"/control/{self.id}")
