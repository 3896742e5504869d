"""ISO — isolation: no public path, private Services, explicit ownership, routing by the authenticated
workspace only, authentication first, and (strict) pod-level isolation and least privilege.

Negative checks watch, over a period, what the harness's own traffic witness sees reach the runtime pods
(``platform.assert_no_traffic_since``; :mod:`swarmconf.fixtures.witness`), never a single probe. Every name,
namespace, route and label comes from the profile.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

import allure
import httpx

from swarmconf.fixtures import enforcement, privilege, public_paths, reachability
from swarmconf.fixtures.cleanup import run_labels
from swarmconf.fixtures.marks import proves
from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.profiles import Profile, Route, dig
from swarmconf.fixtures.rawhttp import raw_request
from swarmconf.fixtures.tenants import Authority, Tenant, Workspace
from swarmconf.kube import KindNotServed, Kube
from swarmconf.reports.outcomes import not_enforceable
from swarmconf.waits import ConsistencyViolation, wait_for

Pair = tuple[Workspace, Workspace]
PUBLIC_SERVICE_TYPES = ("NodePort", "LoadBalancer")
GATEWAY_ROUTES = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")


def _services(platform: Platform, ws: Workspace) -> list[dict[str, Any]]:
    return [c for c in platform.children(ws.swarm_name) if c["kind"] == "Service"]


def _runtime_pod(platform: Platform, ws: Workspace) -> dict[str, Any]:
    pods = [p for p in platform.runtime_pods(ws.swarm_name) if (p.get("status") or {}).get("podIP")]
    assert pods, f"the runtime of {ws.swarm_name} has no pod with an IP"
    return pods[0]


def _node_addresses(nodes: list[Any]) -> list[str]:
    return [a.address for n in nodes for a in (n.status.addresses or []) if a.type in ("InternalIP", "ExternalIP")]


# --- ISO-1 ------------------------------------------------------------------------------------------------


@proves("ISO-1")
def test_no_public_path_to_a_runtime(platform: Platform, kube: Kube, verified_pair: Pair) -> None:
    """ISO-1: no Ingress, Gateway API route, LoadBalancer/NodePort Service, externalIP, hostPort or hostNetwork
    leads to a runtime pod or its Services: also not through an ``ExternalName`` alias of a runtime Service, a
    host port of an init or ephemeral container, or (on kind here) a port the node container publishes."""
    profile = platform.profile
    problems: list[str] = []
    runtime_ns = platform.runtime_namespace()
    runtime_services = {(runtime_ns, s["metadata"]["name"]) for ws in verified_pair for s in _services(platform, ws)}
    pod_ips = {_runtime_pod(platform, ws)["status"]["podIP"] for ws in verified_pair}
    every_service = kube.list("v1", "Service")
    # What reaches a runtime by name: its Services and every ExternalName alias of them, however chained.
    leading = public_paths.aliases_of(every_service, runtime_services)
    node_ports_to_runtimes: set[int] = set()

    with allure.step("no Service in the runtime namespace is public"):
        for svc in kube.list("v1", "Service", namespace=runtime_ns):
            spec, name = svc.get("spec") or {}, svc["metadata"]["name"]
            if spec.get("type") in PUBLIC_SERVICE_TYPES:
                problems.append(f"Service {runtime_ns}/{name} is {spec['type']}")
            if spec.get("externalIPs"):
                problems.append(f"Service {runtime_ns}/{name} has externalIPs {spec['externalIPs']}")
            if any(p.get("nodePort") for p in spec.get("ports") or []):
                problems.append(f"Service {runtime_ns}/{name} allocates node ports")
                node_ports_to_runtimes |= {int(p["nodePort"]) for p in spec["ports"] if p.get("nodePort")}

    with allure.step("no public Service anywhere has a runtime pod as endpoint"):
        for svc in every_service:
            spec, meta = svc.get("spec") or {}, svc["metadata"]
            if spec.get("type") not in PUBLIC_SERVICE_TYPES and not spec.get("externalIPs"):
                continue
            selector = f"kubernetes.io/service-name={meta['name']}"
            for eps in kube.list(
                "discovery.k8s.io/v1", "EndpointSlice", namespace=meta["namespace"], label_selector=selector
            ):
                for endpoint in eps.get("endpoints") or []:
                    hit = pod_ips.intersection(endpoint.get("addresses") or [])
                    if hit:
                        problems.append(f"public Service {meta['namespace']}/{meta['name']} leads to runtime {hit}")
                        node_ports_to_runtimes |= {int(p["nodePort"]) for p in spec["ports"] if p.get("nodePort")}

    with allure.step("no ExternalName Service outside the runtime namespace aliases a runtime Service"):
        for ns, name in sorted(leading - runtime_services):
            problems.append(f"ExternalName Service {ns}/{name} leads to a runtime Service")

    with allure.step("no Ingress routes to a runtime Service (or an alias of one)"):
        for ing in kube.list("networking.k8s.io/v1", "Ingress"):
            ns = ing["metadata"]["namespace"]
            for backend in _ingress_backends(ing):
                if (ns, backend) in leading or ns == runtime_ns:
                    problems.append(f"Ingress {ns}/{ing['metadata']['name']} routes to {ns}/{backend}")

    with allure.step("no Gateway API route has a runtime Service (or an alias of one) as backend"):
        for kind in GATEWAY_ROUTES:
            for route in _gateway_routes(kube, kind):
                for ref_ns, ref_name in _route_backends(route):
                    if (ref_ns, ref_name) in leading:
                        problems.append(f"{kind} {route['metadata']['name']} routes to {ref_ns}/{ref_name}")

    runtime_host_ports: set[int] = set()
    with allure.step("runtime pods use neither hostNetwork nor a hostPort in any container"):
        for ws in verified_pair:
            for pod in platform.runtime_pods(ws.swarm_name):
                name = pod["metadata"]["name"]
                if pod["spec"].get("hostNetwork"):
                    problems.append(f"runtime pod {name} uses hostNetwork")
                for found in public_paths.host_ports(pod):
                    problems.append(f"runtime pod {name} maps a host port: {found}")
                    runtime_host_ports.add(int(found.split(": ", 1)[1].split("/", 1)[0]))

    with allure.step("no port a kind node container publishes on this machine leads to a runtime"):
        listed: list[Any] = kube.core.list_node().items
        kind_nodes = [n.metadata.name for n in listed if (n.spec.provider_id or "").startswith("kind://")]
        targets = node_ports_to_runtimes | runtime_host_ports
        published: dict[str, list[dict[str, Any]]] = {}
        for node in kind_nodes:  # not kind here: the node's published ports are not this machine's to read
            published[node] = reachability.published_ports(node)
            for mapping in public_paths.published_to(published[node], targets):
                problems.append(f"kind node {node} publishes {mapping} onto a port that leads to a runtime")
        allure.attach(
            json.dumps(published, indent=2),
            name="ports kind nodes publish",
            attachment_type=allure.attachment_type.JSON,
        )

    allure.attach(
        json.dumps(problems, indent=2), name="public paths found", attachment_type=allure.attachment_type.JSON
    )
    assert not problems, f"{profile.name}: public paths to runtimes:\n" + "\n".join(problems)


def _ingress_backends(ing: dict[str, Any]) -> list[str]:
    spec = ing.get("spec") or {}
    backends = [spec.get("defaultBackend") or {}]
    for rule in spec.get("rules") or []:
        backends += [p.get("backend") or {} for p in (rule.get("http") or {}).get("paths") or []]
    return [str(dig(b, "service.name")) for b in backends if dig(b, "service.name")]


def _gateway_routes(kube: Kube, kind: str) -> list[dict[str, Any]]:
    for version in ("v1", "v1beta1", "v1alpha2"):
        try:
            return kube.list(f"gateway.networking.k8s.io/{version}", kind)
        except KindNotServed:
            continue
    return []  # the cluster does not serve this route kind at all: no such route can exist


def _route_backends(route: dict[str, Any]) -> list[tuple[str, str]]:
    ns = route["metadata"]["namespace"]
    refs = [ref for rule in dig(route, "spec.rules", []) or [] for ref in rule.get("backendRefs") or []]
    return [(ref.get("namespace") or ns, ref["name"]) for ref in refs if ref.get("kind", "Service") == "Service"]


# --- ISO-2 ------------------------------------------------------------------------------------------------


@proves("ISO-2")
def test_runtime_services_are_private(
    platform: Platform,
    kube: Kube,
    run_id: str,
    workspace_factory: Callable[..., Workspace],
    tenant_factory: Callable[..., Tenant],
) -> None:
    """ISO-2: runtime Services are ClusterIP (or headless), and from outside the cluster connections to the
    Service IP, the pod IP and the node's ports fail (checked from harness-made network namespaces, never
    from this machine's own)."""
    ws = workspace_factory(tenant_factory())
    services = _services(platform, ws)
    pod = _runtime_pod(platform, ws)
    port = int(
        dig(
            platform.swarm_named(ws.swarm_name),
            platform.profile.swarm.service_port,
            platform.profile.children.runtime_port,
        )
    )

    with allure.step("every runtime Service is ClusterIP or headless, with no external IPs"):
        not_private = [
            f"{s['metadata']['name']}: type={s['spec'].get('type')} externalIPs={s['spec'].get('externalIPs')}"
            for s in services
            if s["spec"].get("type", "ClusterIP") != "ClusterIP" or s["spec"].get("externalIPs")
        ]

    cluster_addrs = [(pod["status"]["podIP"], port)]
    cluster_addrs += [
        (s["spec"]["clusterIP"], port) for s in services if s["spec"].get("clusterIP") not in (None, "None")
    ]
    listed: list[Any] = kube.core.list_node().items
    nodes = _node_addresses(listed)
    node_ports = [(node, port) for node in nodes]
    node_ports += [
        (node, p["nodePort"])
        for s in services
        for p in s["spec"].get("ports") or []
        if p.get("nodePort")
        for node in nodes
    ]
    # An externalIP is probed only where it is a node's own address: any other one already fails the check
    # above, and a packet for it could leave this machine.
    node_ports += [
        (ip, p["port"])
        for s in services
        for ip in s["spec"].get("externalIPs") or []
        if ip in nodes
        for p in s["spec"].get("ports") or []
    ]
    docker_network = _kind_docker_network(listed)
    if docker_network is None:
        assert not not_private, f"runtime Services that are not private: {not_private}"
        not_enforceable(
            "the Services are private, but no connection attempt can be made from next to a node: this "
            "cluster's nodes are not kind containers on this machine (no network namespace can stand beside them)"
        )
    # Controls: the node itself must answer from the neighbour namespace (a port nothing serves answers
    # "refused"), or the failures below would only show that the namespace is cut off.
    controls = [(node, UNSERVED_NODE_PORT) for node in nodes]
    with allure.step(f"connections from outside fail: {cluster_addrs} and node ports {node_ports}"):
        report = reachability.probe_from_outside(
            run_id,
            cluster_addrs=cluster_addrs,
            node_ports=node_ports,
            docker_network=docker_network,
            controls=controls,
        )
        allure.attach(
            json.dumps(
                {"routes": [str(r) for r in report.routes], "attempts": report.attempts, "controls": report.controls},
                indent=2,
            ),
            name="reachability",
            attachment_type=allure.attachment_type.JSON,
        )
    assert not not_private, f"runtime Services that are not private: {not_private}"
    assert not report.unwired, (
        f"the neighbour namespace gets no answer from the node, probes prove nothing: {report.unwired}"
    )
    assert not report.broken, f"probes failed as instruments (neither reached nor blocked): {report.broken}"
    assert not report.local_routes, f"this machine has a local route into the cluster: {report.local_routes}"
    assert not report.reached, f"reached from outside the cluster: {report.reached}"


#: A node port no kind node serves: a connection to it is answered "refused" by a node that is reachable.
UNSERVED_NODE_PORT = 1


def _kind_docker_network(nodes: list[Any]) -> str | None:
    """The Docker network of these kind nodes, or None when the nodes are not kind containers here."""
    names = [n.metadata.name for n in nodes if n.spec and (n.spec.provider_id or "").startswith("kind://")]
    return reachability.docker_network_of(names[0]) if names else None


# --- ISO-3 ------------------------------------------------------------------------------------------------

#: Contract: one StatefulSet, a ClusterIP Service (and optionally a headless one), a PVC, a ConfigMap and a
#: ServiceAccount per swarm. (minimum, maximum) per kind; other child kinds of the profile: at most one.
CHILD_COUNTS = {
    "StatefulSet": (1, 1),
    "Service": (1, 2),
    "PersistentVolumeClaim": (1, 1),
    "ConfigMap": (1, 1),
    "ServiceAccount": (1, 1),
}


@proves("ISO-3")
def test_ownership_is_explicit_and_deterministic(platform: Platform, verified_pair: Pair) -> None:
    """ISO-3: each UserSwarm has exactly one set of children, each labelled with its swarm and user and owned
    by its UserSwarm; no child is shared; the same workspace always maps to the same names."""
    profile = platform.profile
    labels = profile.children
    seen: dict[str, str] = {}
    for ws in verified_pair:
        swarm = platform.swarm(ws.id)
        assert swarm is not None
        children = platform.children(ws.swarm_name)
        with allure.step(f"{ws.swarm_name}: one set of children"):
            counts = {kind: sum(c["kind"] == kind for c in children) for _, kind in platform.child_kinds()}
            for kind, count in counts.items():
                low, high = CHILD_COUNTS.get(kind, (0, 1))
                assert low <= count <= high, f"{ws.swarm_name} has {count} {kind} children (expected {low}..{high})"
            assert dig(swarm, profile.swarm.service_name) in {
                c["metadata"]["name"] for c in children if c["kind"] == "Service"
            }
        with allure.step(f"{ws.swarm_name}: every child is labelled and owned by its UserSwarm only"):
            for child in children:
                meta, what = child["metadata"], f"{child['kind']}/{child['metadata']['name']}"
                child_labels = meta.get("labels") or {}
                assert child_labels.get(labels.swarm_label) == ws.swarm_name, f"{what}: swarm label {child_labels}"
                assert child_labels.get(labels.user_label) == ws.tenant.user_id, f"{what}: user label {child_labels}"
                owners = [r for r in meta.get("ownerReferences") or [] if r.get("kind") == profile.crd.kind]
                assert len(owners) == 1, f"{what}: UserSwarm owners {owners}"
                assert owners[0]["uid"] == swarm["metadata"]["uid"] and owners[0].get("controller"), f"{what}: {owners}"
                assert meta["uid"] not in seen, f"{what} is shared with {seen.get(meta['uid'])}"
                seen[meta["uid"]] = ws.swarm_name

    ws = verified_pair[0]
    names = {(c["kind"], c["metadata"]["name"]) for c in platform.children(ws.swarm_name)}
    configmap = next(c for c in platform.children(ws.swarm_name) if c["kind"] == "ConfigMap")
    with allure.step("the same workspace maps to the same names: a deleted child comes back under its name"):
        platform.kube.delete("v1", "ConfigMap", configmap["metadata"]["name"], configmap["metadata"]["namespace"])
        wait_for(
            lambda: platform.children(ws.swarm_name),
            until=lambda cs: any(
                c["kind"] == "ConfigMap" and c["metadata"]["uid"] != configmap["metadata"]["uid"] for c in cs
            ),
            description=f"the ConfigMap of {ws.swarm_name} is recreated",
            timeout=profile.budgets.heal,
            interval=1.0,
        )
        assert {(c["kind"], c["metadata"]["name"]) for c in platform.children(ws.swarm_name)} == names
        assert dig(platform.swarm(ws.id), "metadata.name") == ws.swarm_name


# --- ISO-4 ------------------------------------------------------------------------------------------------


def _forged_headers(platform: Platform, a: Workspace) -> dict[str, str]:
    swarm = platform.swarm_named(a.swarm_name)
    service = f"{dig(swarm, platform.profile.swarm.service_name)}.{platform.runtime_namespace(swarm)}.svc"
    target = platform.profile.routes.send_message.path
    return {
        "X-Forwarded-Host": service,
        "X-Forwarded-For": "127.0.0.1",
        "X-Forwarded-Uri": target,
        "X-Original-URL": target,
        "X-Rewrite-URL": target,
        "X-Workspace-Id": a.id,
        "X-Workspace": a.id,
        "X-User-Id": a.tenant.user_id,
        "X-User": a.tenant.user_id,
        "X-Swarm-User": a.tenant.user_id,
        "X-Target": service,
        "X-Upstream": service,
        "X-Swarm-Service": service,
    }


def _path_tricks(route: str, own: tuple[str, str], other: tuple[str, str]) -> dict[str, str]:
    """Request targets that try to reach ``other`` (workspace, conversation) from ``own``'s route."""
    (wb, cb), (wa, ca) = own, other
    base = route.format(workspace_id="{w}", conversation_id="{c}")
    prefix, _, _ = base.partition("{w}")
    a_url = base.format(w=wa, c=ca)
    return {
        "dot-dot": base.format(w=f"{wb}/../{wa}", c=ca),
        "dot-dot-encoded": base.format(w=f"{wb}/%2e%2e/{wa}", c=ca),
        "encoded-slash": base.format(w=f"{wb}%2F..%2F{wa}", c=ca),
        "double-slash": a_url.replace(prefix, prefix + "/", 1),
        "backslash": base.format(w=f"{wb}\\..\\{wa}", c=ca),
        "upper-case-id": base.format(w=wa.upper(), c=ca.upper()),
        "upper-case-path": a_url.upper().replace(wa.upper(), wa).replace(ca.upper(), ca),
        "trailing-garbage": base.format(w=f"{wa}x", c=ca),
        "trailing-slash": a_url + "/",
        "semicolon": base.format(w=f"{wb};{wa}", c=ca),
        "nul": base.format(w=f"{wa}%00", c=ca),
        "own-path-other-query": base.format(w=wb, c=cb) + f"?workspaceId={wa}&conversationId={ca}",
        "own-path-dot-dot-other": base.format(w=wb, c=cb) + f"/../../../../{wa}/conversations/{ca}/messages",
    }


def _not_a(resp_status: int, body: bytes, a: Workspace, profile: Profile) -> bool:
    """True when a response provably carries nothing of A's runtime.

    An error answer must not be a reply of A's runtime. A success must be a JSON object that names neither A's
    workspace nor A's swarm: a body the harness cannot read (not JSON) proves nothing, so it does not pass.
    """
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    from_a = isinstance(data, dict) and dig(data, profile.api.reply_workspace) == a.id
    if resp_status >= 300:
        return not from_a
    return isinstance(data, dict) and not from_a and a.id.encode() not in body and a.swarm_name.encode() not in body


@proves("ISO-4")
def test_routing_uses_the_authenticated_workspace_only(
    platform: Platform, orchestrator: Any, verified_pair: Pair
) -> None:
    """ISO-4: user B cannot reach user A's runtime through any route: A's workspace ID, A's conversation ID,
    path tricks, or forged headers. The answer is indistinguishable from "does not exist", and A's runtime
    receives nothing."""
    profile = platform.profile
    a, b = verified_pair
    conv_a, conv_b = a.tenant.new_conversation(a.id), b.tenant.new_conversation(b.id)
    mark = platform.traffic_mark(a.swarm_name)
    ghost = str(uuid.uuid4())
    problems: list[str] = []

    def expect_404(what: str, status: int, body: Any = None) -> None:
        if status != 404:
            problems.append(f"{what}: HTTP {status} {str(body)[:200]}")

    def like_missing(what: str, call: Callable[[str], httpx.Response]) -> None:
        """B's request on A's workspace: 404, answered exactly as the same request on a missing workspace."""
        theirs, nobody = call(a.id), call(ghost)
        expect_404(what, theirs.status_code, theirs.text)
        seen = (theirs.status_code, theirs.headers.get("content-type"), _scrub(theirs.content, a.id, conv_a))
        missing = (nobody.status_code, nobody.headers.get("content-type"), _scrub(nobody.content, ghost, conv_a))
        if seen != missing:
            problems.append(f"{what}: A's workspace answers {seen}, a missing one {missing} (an existence leak)")

    with allure.step("B uses A's workspace ID on every route: answered as for a workspace that does not exist"):
        like_missing("get A's workspace", b.tenant.get_workspace)
        like_missing("create a conversation in A's workspace", b.tenant.create_conversation)
        like_missing("send to A's conversation", lambda w: b.tenant.send_message(w, conv_a, "from B"))
        like_missing("read A's history", lambda w: b.tenant.history(w, conv_a))
        like_missing("delete A's workspace", b.tenant.delete_workspace)

    with allure.step("B uses A's conversation ID in B's own workspace"):
        expect_404("send to A's conversation via B's workspace", b.tenant.send_message(b.id, conv_a, "x").status_code)
        expect_404("read A's conversation via B's workspace", b.tenant.history(b.id, conv_a).status_code)

    auth = {profile.auth.header: profile.auth.prefix + b.tenant.token}
    body = json.dumps({profile.api.message_text: "trick"}).encode()
    base_url = str(orchestrator.base_url)
    for name, target in _path_tricks(profile.routes.send_message.path, (b.id, conv_b), (a.id, conv_a)).items():
        with allure.step(f"path trick {name}: {target}"):
            resp = raw_request(base_url, "POST", target, headers=auth, body=body)
            if not _not_a(resp.status, resp.body, a, profile):
                problems.append(f"path trick {name} reached A: HTTP {resp.status} {resp.body[:200]!r}")

    forged = _forged_headers(platform, a)
    with allure.step("forged headers on B's own route are ignored"):
        resp = raw_request(
            base_url,
            "POST",
            profile.routes.send_message.url(workspace_id=b.id, conversation_id=conv_b),
            headers={**auth, **forged},
            body=body,
        )
        if not _not_a(resp.status, resp.body, a, profile):
            problems.append(f"forged headers on B's route reached A: HTTP {resp.status}")
    with allure.step("a forged Host header naming A's runtime is ignored"):
        svc = forged["X-Target"]
        resp = raw_request(
            base_url,
            "POST",
            profile.routes.send_message.url(workspace_id=b.id, conversation_id=conv_b),
            headers={**auth, "Host": f"{svc}:{profile.children.runtime_port}"},
            body=body,
        )
        if not _not_a(resp.status, resp.body, a, profile):
            problems.append(f"forged Host reached A: HTTP {resp.status}")
    with allure.step("forged headers on A's route still get the uniform 404"):
        resp = raw_request(
            base_url,
            "POST",
            profile.routes.send_message.url(workspace_id=a.id, conversation_id=conv_a),
            headers={**auth, **forged},
            body=body,
        )
        expect_404("forged headers on A's route", resp.status, resp.body)

    with allure.step("A's runtime received nothing, observed over a period"):
        platform.assert_no_traffic_since(a.swarm_name, mark)
    with allure.step("A's workspace is intact and still answers A"):
        assert a.tenant.get_workspace(a.id).status_code == 200
    assert not problems, "cross-user access:\n" + "\n".join(problems)


def _scrub(content: bytes, *ids: str) -> bytes:
    for value in ids:
        content = content.replace(value.encode(), b"<id>")
    return content


# --- ISO-5 ------------------------------------------------------------------------------------------------


def _bad_credentials(authority: Authority, user_id: str, header: str) -> dict[str, dict[str, str]]:
    """The header-level bad credentials (whatever the token format), then the auth scheme's own bad tokens."""
    return {
        "missing": {},
        "scheme without a token": {header: authority.headers("")[header].strip()},
        "wrong scheme": {header: "Basic " + base64.b64encode(f"{user_id}:x".encode()).decode()},
        **{label: authority.headers(token) for label, token in authority.bad_tokens(user_id).items()},
    }


@proves("ISO-5")
def test_authentication_comes_before_any_runtime_access(
    platform: Platform, orchestrator: Any, authority: Authority, verified_pair: Pair
) -> None:
    """ISO-5: a missing, malformed, expired or wrongly signed credential gets 401 on every route, before
    anything else (also for workspaces that do not exist), and no runtime receives the request."""
    profile = platform.profile
    a, _ = verified_pair
    conv = a.tenant.new_conversation(a.id)
    mark = platform.traffic_mark(a.swarm_name)
    routes = profile.routes
    params = {"workspace_id": a.id, "conversation_id": conv}
    ghost = {"workspace_id": str(uuid.uuid4()), "conversation_id": str(uuid.uuid4())}
    harmless = [
        (routes.send_message, params),
        (routes.list_messages, params),
        (routes.create_conversation, params),
        (routes.get_workspace, params),
        (routes.create_workspace, {}),
        (routes.send_message, ghost),
        (routes.delete_workspace, ghost),
    ]
    credentials = _bad_credentials(authority, a.tenant.user_id, profile.auth.header)
    problems: list[str] = []

    def refused(label: str, route: Route, values: dict[str, str], headers: dict[str, str]) -> None:
        resp = orchestrator.request(
            route.method, route.url(**values), headers=headers, json={profile.api.message_text: "unauthenticated"}
        )
        if resp.status_code != 401:
            problems.append(f"{label}: {route.method} {route.url(**values)} -> HTTP {resp.status_code}")
        if route is routes.create_workspace and resp.status_code < 300:  # created for A's user id: remove it
            a.tenant.delete_workspace(str(dig(resp.json(), profile.api.workspace_id)))

    for label, headers in credentials.items():
        with allure.step(f"credential {label}: 401 on every route"):
            for route, values in harmless:
                refused(label, route, values, headers)
    with allure.step("no runtime received any of it, observed over a period"):
        try:
            platform.assert_no_traffic_since(a.swarm_name, mark)
        except ConsistencyViolation as exc:
            problems.append(f"the runtime received requests sent with bad credentials: {exc}")
    with allure.step("deleting the workspace with a bad credential: 401, and the workspace stays"):
        for label, headers in credentials.items():
            refused(label, routes.delete_workspace, params, headers)
        if a.tenant.get_workspace(a.id).status_code != 200:
            problems.append("the workspace was deleted with a bad credential")
    assert not problems, "requests not refused with 401:\n" + "\n".join(problems)


# --- ISO-6 (strict) ---------------------------------------------------------------------------------------


@proves("ISO-6")
def test_pods_cannot_reach_another_runtime(
    platform: Platform, kube: Kube, run_id: str, harness_namespace: str, verified_pair: Pair
) -> None:
    """ISO-6 (strict): neither a pod in another namespace nor another user's runtime pod can open a
    connection to a runtime's Service or pod. Where the cluster cannot enforce NetworkPolicy the result is
    "not enforceable here", never a pass.

    Every probe runs the harness's image: the other user's runtime is probed from inside its pod's network
    namespace by a privileged pod on its node (nothing run in, nor changed on, the runtime pod)."""
    a, b = verified_pair
    image = platform.app_image
    assert image, "no app image for probe pods"
    labels = run_labels(run_id)
    budget = platform.profile.budgets.verify
    enforcement.require_networkpolicy_enforcement(kube, harness_namespace, image=image, labels=labels, budget=budget)

    swarm = platform.swarm_named(a.swarm_name)
    ns = platform.runtime_namespace(swarm)
    port = int(dig(swarm, platform.profile.swarm.service_port, platform.profile.children.runtime_port))
    pod_ip = _runtime_pod(platform, a)["status"]["podIP"]
    service = str(dig(swarm, platform.profile.swarm.service_name))
    cluster_ip = dig(kube.get("v1", "Service", service, ns) or {}, "spec.clusterIP")
    # From B's network namespace by address: a policy that keeps B's runtime from DNS must not break the probe.
    by_name, by_address = f"http://{service}.{ns}.svc:{port}/", f"http://{cluster_ip}:{port}/"
    targets = [(by_name, by_address), (f"http://{pod_ip}:{port}/", f"http://{pod_ip}:{port}/")]
    mark = platform.traffic_mark(a.swarm_name)
    reached = []
    for url, address in targets:
        with allure.step(f"a pod in another namespace tries {url}"):
            outcome = enforcement.probe(kube, harness_namespace, url, image=image, labels=labels, budget=budget)
            if enforcement.reached(outcome):
                reached.append(outcome)
        with allure.step(f"from inside B's runtime pod's network namespace (the pod unchanged), try {address}"):
            pod_b = _runtime_pod(platform, b)
            outcome = enforcement.probe_as_pod(
                kube, harness_namespace, address, pod=pod_b, image=image, labels=labels, budget=budget
            )
            if enforcement.reached(outcome):
                reached.append(outcome)
    allure.attach(
        json.dumps(reached, indent=2), name="connections that got through", attachment_type=allure.attachment_type.JSON
    )
    assert not reached, f"other pods reached A's runtime: {reached}"
    platform.assert_no_traffic_since(a.swarm_name, mark)


# --- ISO-7 (strict) ---------------------------------------------------------------------------------------


@proves("ISO-7")
def test_runtime_has_least_privilege(platform: Platform, kube: Kube, run_id: str, verified_pair: Pair) -> None:
    """ISO-7 (strict): the runtime's ServiceAccount cannot read other swarms' objects through the Kubernetes
    API (no token mounted, or RBAC denies it), and no credential is kept in a ConfigMap.

    Judged from outside the runtime: the pod object says whether it gets a token; access reviews say what its
    ServiceAccount may do; a pod of the harness's image running as that ServiceAccount tries it for real."""
    a, b = verified_pair
    profile = platform.profile
    pod = _runtime_pod(platform, a)
    ns, sa = pod["metadata"]["namespace"], pod["spec"].get("serviceAccountName") or "default"
    problems: list[str] = []

    with allure.step(f"what ServiceAccount {ns}/{sa} may do: access reviews, and a pod running as it"):
        other_secrets = [c["metadata"]["name"] for c in platform.children(b.swarm_name) if c["kind"] == "Secret"]
        attributes = privilege.checks(profile, ns, b.swarm_name, other_secrets[0] if other_secrets else None)
        allowed = privilege.allowed(kube, ns, sa, attributes)
        paths = [p for p in map(privilege.api_path, attributes) if p]
        image = platform.app_image
        assert image, "no harness image for the pod that runs as the runtime's ServiceAccount"
        tried = privilege.try_as(
            kube, ns, sa, paths, image=image, labels=run_labels(run_id), budget=profile.budgets.verify
        )
        assert tried.get("token") is True, f"the pod running as {ns}/{sa} got no token, it proves nothing: {tried}"
        read = [r["path"] for r in tried["results"] if isinstance(r["status"], int) and 200 <= r["status"] < 300]
        allure.attach(
            json.dumps({"access reviews allow": allowed, "pod running as the ServiceAccount": tried}, indent=2),
            name="what the runtime's ServiceAccount may do",
            attachment_type=allure.attachment_type.JSON,
        )
    with allure.step("no token in the runtime pod, or the ServiceAccount may do none of it"):
        tokens = privilege.mounted_token(kube, pod)
        allure.attach("\n".join(tokens) or "none", name="token volumes of the runtime pod")
        if tokens:
            problems += [f"ServiceAccount {ns}/{sa} (token mounted: {tokens[0]}) may {what}" for what in allowed]
            problems += [f"running as {ns}/{sa} (token mounted in the runtime pod), GET {p} succeeded" for p in read]

    with allure.step("no credential is kept in a ConfigMap"):
        secrets_in_use = _secret_values(platform, a) | _secret_values(platform, b) | _platform_keys(platform)
        for ws in (a, b):
            for cm in (c for c in platform.children(ws.swarm_name) if c["kind"] == "ConfigMap"):
                for key, value in (cm.get("data") or {}).items():
                    if any(s and s in str(value) for s in secrets_in_use):
                        problems.append(f"ConfigMap {cm['metadata']['name']} key {key} holds a credential")
    assert not problems, "\n".join(problems)


def _secret_values(platform: Platform, ws: Workspace) -> set[str]:
    values = set()
    for secret in (c for c in platform.children(ws.swarm_name) if c["kind"] == "Secret"):
        for raw in (secret.get("data") or {}).values():
            values.add(base64.b64decode(raw).decode(errors="replace"))
    return values


def _platform_keys(platform: Platform) -> set[str]:
    """The platform secrets the profile names (its token signing key, its identity key), where it names any: a
    platform whose users come with the harness's JWTs, or whose replies are not signed, names none of them."""
    keys = [getattr(platform.profile.auth, "signing_key", None), platform.profile.runtime.identity_key]
    return {platform.secret_value(k.namespace, k.name, k.key).decode(errors="replace") for k in keys if k}
