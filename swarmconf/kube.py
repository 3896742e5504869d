"""The one Kubernetes client wrapper the harness uses (in-cluster components have their own).

:func:`connect` builds API clients from a kubeconfig file and optional context; :class:`Kube` holds them
and offers the few generic operations everything else builds on: apply manifests (server-side apply),
create, patch, delete, get, list, patch labels, pod logs; and the streaming calls (exec in a pod, a GET
through the API server's service proxy). Errors from the kubernetes client and its transport are translated
once, here, into this tree (the original stays the ``__cause__``)::

    KubeError               the API server refused or failed the call; ``status`` is its HTTP status
     ├── KubeconfigError    the kubeconfig is missing, unreadable or has no such context
     ├── KindNotServed      the cluster does not serve that kind (discovery has no such resource)
     └── KubeUnreachable    no answer at all: refused, reset, TLS cut short, retries exhausted
                            (``infrastructure``: the reports count it against the instrument)

``KubeUnreachable`` is a ``KubeError`` on purpose: a wait that lists ``KubeError`` as transient rides out a
connection blip the same way it rides out a 5xx.

Streaming calls of the kubernetes client swap the ``ApiClient``'s request function while they connect, so
each one here gets its own ``ApiClient`` (sharing the configuration) and never disturbs concurrent calls.
"""

from __future__ import annotations

import atexit
import functools
import http.client
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3.exceptions
import yaml
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError
from kubernetes.stream import stream

from swarmconf.processes import pid_alive

FIELD_MANAGER = "swarm-conformance"

#: Patch flavours accepted by :meth:`Kube.patch`, by their content type.
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class KubeError(RuntimeError):
    """A Kubernetes API call failed; ``status`` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class KubeconfigError(KubeError):
    """The kubeconfig is missing, unreadable or has no such context."""


class KindNotServed(KubeError):
    """The cluster does not serve this kind in this apiVersion (its CRD is not installed, or the API is off)."""


class KubeUnreachable(KubeError):
    """The API server could not be reached: no HTTP answer came back (``status`` 0).

    An instrument failure, not a contract verdict: ``infrastructure`` tells the reports so.
    """

    infrastructure = True

    def __init__(self, message: str, server: str = ""):
        super().__init__(message, 0)
        self.server = server

    @classmethod
    def of(cls, server: str, what: str, cause: BaseException) -> KubeUnreachable:
        """The error for ``what`` (``get Pod/x``...) failing with ``cause`` on its way to ``server``."""
        return cls(f"the API server at {server} could not be reached ({what}): {type(cause).__name__}: {cause}", server)


#: What the kubernetes client lets through when no answer comes back: urllib3's errors (retries exhausted,
#: connection aborted), and socket/TLS errors (refused, reset, SSL EOF) raised past it.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container returned."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class Kube:
    """API clients for one cluster."""

    api_client: client.ApiClient
    kubeconfig: Path | None
    context: str | None

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api_client)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api_client)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client)

    @property
    def dynamic(self) -> dynamic.DynamicClient:
        return dynamic.DynamicClient(self.api_client)

    @property
    def server(self) -> str:
        """The API server's URL, as the kubeconfig gives it."""
        return str(self.api_client.configuration.host)

    @contextmanager
    def _reaching(self, what: str) -> Iterator[None]:
        """Translate a transport failure inside the block (discovery included) into :class:`KubeUnreachable`."""
        try:
            yield
        except TRANSPORT_ERRORS as exc:
            raise KubeUnreachable.of(self.server, what, exc) from exc
        except ApiException as exc:
            # The client turns a TLS failure into an ApiException with no status: that is no answer either.
            cause = None if exc.status else _transport_cause(exc)
            if cause is None:
                raise
            raise KubeUnreachable.of(self.server, what, cause) from exc

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic resource for ``apiVersion``/``kind``; raises :class:`KindNotServed` if the API lacks it."""
        try:
            with self._reaching(f"discover {kind} in {api_version}"):
                return self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError as exc:
            raise KindNotServed(f"the cluster does not serve {kind} in {api_version}") from exc
        except ApiException as exc:
            raise KubeError(f"discover {kind} in {api_version}: {exc.reason}", exc.status or 0) from exc

    def apply(self, manifests: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Server-side apply each manifest (in order); return the applied objects."""
        applied = []
        for obj in manifests:
            res = self.resource(obj["apiVersion"], obj["kind"])
            meta = obj["metadata"]
            try:
                with self._reaching(f"apply {obj['kind']}/{meta['name']}"):
                    out = res.server_side_apply(
                        body=obj,
                        name=meta["name"],
                        namespace=meta.get("namespace"),
                        field_manager=FIELD_MANAGER,
                        force_conflicts=True,
                    )
            except ApiException as exc:
                raise KubeError(f"apply {obj['kind']}/{meta['name']}: {exc.reason}: {exc.body}", exc.status) from exc
            applied.append(out.to_dict())
        return applied

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create one object (it must not exist yet); return it as the API server stored it."""
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        name = meta.get("name") or meta.get("generateName")
        try:
            with self._reaching(f"create {obj['kind']}/{name}"):
                return res.create(body=obj, namespace=meta.get("namespace")).to_dict()
        except ApiException as exc:
            raise KubeError(f"create {obj['kind']}/{name}: {exc.reason}: {exc.body}", exc.status) from exc

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        body: Any,
        *,
        namespace: str | None = None,
        patch_type: str = "merge",
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Patch one object (or its ``subresource``, e.g. ``status``); ``patch_type`` is ``merge``, ``json``
        (RFC 6902) or ``strategic``."""
        res = self.resource(api_version, kind)
        if subresource is not None:
            res = res.subresources[subresource]
        try:
            with self._reaching(f"patch {kind}/{name}"):
                out = res.patch(body=body, name=name, namespace=namespace, content_type=PATCH_TYPES[patch_type])
        except ApiException as exc:
            raise KubeError(f"patch {kind}/{name}: {exc.reason}: {exc.body}", exc.status) from exc
        return out.to_dict()

    def logs(self, pod: str, namespace: str, *, container: str | None = None, since_seconds: int | None = None) -> str:
        """The current log of one pod's container ("" when the container has not started)."""
        kwargs: dict[str, Any] = {"container": container} if container else {}
        if since_seconds is not None:
            kwargs["since_seconds"] = since_seconds
        try:
            with self._reaching(f"logs of pod {namespace}/{pod}"):
                return str(self.core.read_namespaced_pod_log(pod, namespace, **kwargs))
        except ApiException as exc:
            if exc.status == 400 and "ContainerCreating" in str(exc.body):
                return ""
            raise KubeError(f"logs of pod {namespace}/{pod}: {exc.reason}: {exc.body}", exc.status) from exc

    def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None, *, dry_run: bool = False
    ) -> bool:
        """Delete one object (background propagation). Returns False if it did not exist.

        With ``dry_run`` the API server runs admission and answers as it would, but deletes nothing.
        """
        res = self.resource(api_version, kind)
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if dry_run:
            body["dryRun"] = ["All"]
        try:
            with self._reaching(f"delete {kind}/{name}"):
                res.delete(name=name, namespace=namespace, body=body)
        except (NotFoundError, ApiException) as exc:
            if getattr(exc, "status", None) == 404:
                return False
            raise KubeError(f"delete {kind}/{name}: {exc}", getattr(exc, "status", 0)) from exc
        return True

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """Get one object as a dict, or None when it does not exist."""
        res = self.resource(api_version, kind)
        try:
            with self._reaching(f"get {kind}/{name}"):
                return res.get(name=name, namespace=namespace).to_dict()
        except (NotFoundError, ApiException) as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise KubeError(f"get {kind}/{name}: {exc}", getattr(exc, "status", 0)) from exc

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """List objects as dicts."""
        res = self.resource(api_version, kind)
        try:
            with self._reaching(f"list {kind}"):
                out = res.get(namespace=namespace, label_selector=label_selector)
        except ApiException as exc:
            raise KubeError(f"list {kind}: {exc.reason}", exc.status) from exc
        return [item.to_dict() for item in out.items]

    def label(
        self, api_version: str, kind: str, name: str, labels: dict[str, str | None], namespace: str | None = None
    ) -> None:
        """Merge-patch labels onto one object (``None`` removes a label)."""
        res = self.resource(api_version, kind)
        body = {"metadata": {"labels": labels}}
        try:
            with self._reaching(f"label {kind}/{name}"):
                res.patch(name=name, namespace=namespace, body=body, content_type="application/merge-patch+json")
        except ApiException as exc:
            raise KubeError(f"label {kind}/{name}: {exc.reason}", exc.status) from exc

    def _stream_core(self) -> client.CoreV1Api:
        return client.CoreV1Api(client.ApiClient(self.api_client.configuration))

    def exec(
        self, pod: str, namespace: str, command: Sequence[str], *, container: str | None = None, timeout: float = 60
    ) -> ExecResult:
        """Run ``command`` in a pod's container and wait (at most ``timeout`` s) for it to finish."""
        try:
            with self._reaching(f"exec in pod {namespace}/{pod}"):
                resp = stream(
                    self._stream_core().connect_get_namespaced_pod_exec,
                    pod,
                    namespace,
                    command=[*command],
                    container=container,
                    stderr=True,
                    stdin=False,
                    stdout=True,
                    tty=False,
                    _preload_content=False,
                )
        except ApiException as exc:
            raise KubeError(f"exec in pod {namespace}/{pod}: {exc.reason}: {exc.body}", exc.status) from exc
        try:
            resp.run_forever(timeout=timeout)
            if resp.is_open():
                raise KubeError(f"exec in pod {namespace}/{pod} did not finish within {timeout}s: {command}")
            stdout, stderr = resp.read_stdout() or "", resp.read_stderr() or ""
            return ExecResult(returncode=int(resp.returncode or 0), stdout=stdout, stderr=stderr)
        finally:
            resp.close()
            # websocket-client's close() returns early once the server has closed the stream, leaving the
            # TLS socket open (a ResourceWarning); shutdown() always releases it.
            if resp.sock is not None:
                resp.sock.shutdown()

    def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json", timeout: float = 60
    ) -> Any:
        """One raw JSON call to the API server, for paths the typed and dynamic clients do not cover (a service
        proxy with a body, a group served a moment ago). A non-2xx answer raises :class:`KubeError` with its status.
        """
        with self._reaching(f"{method} {path}"):
            serialized = self.api_client.param_serialize(
                method=method,
                resource_path=path,
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(*serialized, _request_timeout=timeout)
            data = response.read()
        if not 200 <= response.status < 300:
            detail = data.decode(errors="replace") if isinstance(data, bytes) else str(data or "")
            raise KubeError(f"{method} {path}: {response.status} {response.reason}: {detail[:500]}", response.status)
        return json.loads(data) if data else None

    def service_proxy_get(self, namespace: str, service: str, port: int | str, path: str) -> tuple[int, str]:
        """GET ``path`` on a Service through the API server's service proxy; returns (status, body)."""
        core = client.CoreV1Api(self.api_client)
        what = f"service proxy GET {namespace}/{service}:{port}{path}"
        try:
            with self._reaching(what):
                resp = core.connect_get_namespaced_service_proxy_with_path(
                    f"{service}:{port}", namespace, path.lstrip("/"), _preload_content=False
                )
                response: Any = resp  # a urllib3 response, typed loosely by the client
                return int(response.status), response.data.decode()
        except ApiException as exc:
            if exc.status:  # an HTTP answer (from the Service or from the proxy): the caller judges it
                return exc.status, exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body or "")
            raise KubeError(f"{what}: {exc.reason}", exc.status) from exc


def _transport_cause(exc: BaseException) -> BaseException | None:
    """The transport error ``exc`` was raised from (directly or further down the chain), if any."""
    seen: set[int] = set()
    link = exc.__cause__ or exc.__context__
    while link is not None and id(link) not in seen:
        if isinstance(link, TRANSPORT_ERRORS):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


#: Where this process's kubeconfig credentials are written: ``<tmp>/swarmconf-kube-<pid>``.
CREDENTIALS_DIR_PREFIX = "swarmconf-kube-"


@functools.cache
def credentials_dir() -> Path:
    """This process's own directory for the client certificates and keys a kubeconfig holds inline.

    The kubernetes client writes each ``*-data`` credential to a temp file and removes it only at a normal exit;
    a process killed (SIGKILL, a signal without a handler) left one file per credential in ``/tmp`` for good. Here
    they go into a directory named by the process id, removed at exit, and a directory whose process is gone (an
    earlier run killed) is removed by the next process that connects.
    """
    root = Path(tempfile.gettempdir())
    for stale in root.glob(f"{CREDENTIALS_DIR_PREFIX}*"):
        pid = stale.name.removeprefix(CREDENTIALS_DIR_PREFIX)
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    path = root / f"{CREDENTIALS_DIR_PREFIX}{os.getpid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    atexit.register(shutil.rmtree, path, True)
    return path


def connect(kubeconfig: Path | str | None = None, context: str | None = None) -> Kube:
    """Build clients from a kubeconfig (default: ``$KUBECONFIG`` or ``~/.kube/config``) and context."""
    path = Path(kubeconfig).expanduser() if kubeconfig else None
    if path is not None and not path.is_file():
        raise KubeconfigError(f"kubeconfig {path} does not exist; pass --kubeconfig with a readable file")
    try:
        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(path) if path else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
            temp_file_path=str(credentials_dir()),
        )
        api_client = client.ApiClient(configuration=configuration)
    except (config.ConfigException, OSError, yaml.YAMLError, TypeError, KeyError) as exc:
        where = path or "the default kubeconfig"
        raise KubeconfigError(f"cannot load {where} (context {context or 'current'}): {exc}") from exc
    return Kube(api_client=api_client, kubeconfig=path, context=context)


def load_manifests(text: str) -> list[dict[str, Any]]:
    """Parse a multi-document YAML string, dropping empty documents."""
    return [doc for doc in yaml.safe_load_all(text) if doc]
