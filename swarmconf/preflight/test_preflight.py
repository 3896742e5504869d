"""What a profile must make possible before a conformance run can judge its platform, one step per test.

Each failure message says what to fix in the profile or the platform. They run in file order; a later step
assumes the earlier ones (pytest's own order, not randomised by ``swarmconf profile check``).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from swarmconf.fixtures.platform import Platform
from swarmconf.fixtures.profiles import dig
from swarmconf.fixtures.tenants import Tenant, Workspace


def test_the_platform_is_installed_and_ready(platform: Platform) -> None:
    """The profile's install (or the platform found installed) is ready: its components exist and run."""
    parts = platform.profile.components
    missing = [
        f"{ref.kind} {ref.namespace}/{ref.name}"
        for ref in (parts.orchestrator, parts.webhook)
        if not platform.pods_of(ref)
    ]
    assert not missing, f"no pods for {missing}: check `components` in the profile (kind, name, namespace)"


def test_the_entry_answers(platform: Platform, orchestrator: httpx.Client) -> None:
    """The platform's entry answers its health route (profile ``routes.health``) through the harness's path."""
    route = platform.profile.routes.health
    resp = orchestrator.request(route.method, route.url())
    assert resp.status_code < 500, f"{route.method} {route.url()} answered HTTP {resp.status_code}: {resp.text[:300]}"


def test_a_minted_token_is_accepted_and_a_missing_one_refused(
    platform: Platform, orchestrator: httpx.Client, tenant_factory: Callable[..., Tenant]
) -> None:
    """A token of the profile's ``auth`` scheme is accepted; the same request without one is refused."""
    tenant = tenant_factory()
    ghost = "00000000-0000-4000-8000-000000000000"
    with_token = tenant.get_workspace(ghost)
    assert with_token.status_code not in (401, 403), (
        f"a minted token was refused (HTTP {with_token.status_code}: {with_token.text[:300]}): check `auth` "
        "(scheme, key, header, prefix) and that the platform trusts the harness's credentials"
    )
    route = platform.profile.routes.get_workspace
    bare = orchestrator.request(route.method, route.url(workspace_id=ghost))
    assert bare.status_code in (401, 403), f"no token, yet HTTP {bare.status_code}: is `routes` the API?"


def test_a_workspace_is_created_verified_messaged_and_deleted(
    platform: Platform,
    tenant_factory: Callable[..., Tenant],
    workspace_factory: Callable[..., Workspace],
) -> None:
    """A workspace made through the API gets a verified UserSwarm the profile's fields can read, answers a
    message that the harness's traffic witness sees reach its runtime, and is deleted with everything it had
    (the factory's teardown checks that)."""
    tenant = tenant_factory()
    ws = workspace_factory(tenant)
    swarm = platform.swarm(ws.id)
    assert swarm is not None, "no UserSwarm found by `swarm.workspace`: check the field path"
    fields = platform.profile.swarm
    for name in ("user", "service_name", "runtime_namespace"):
        assert dig(swarm, getattr(fields, name)) is not None, f"`swarm.{name}` ({getattr(fields, name)}) is empty"
    children = {c["kind"] for c in platform.children(swarm["metadata"]["name"])}
    assert children, "no children found by `children.swarm_label` or owner references"
    conversation = tenant.new_conversation(ws.id)
    mark = platform.traffic_mark(ws.swarm_name)  # the witness proves itself here, or this step ends not enforceable
    reply = tenant.send_message(ws.id, conversation, "preflight")
    assert reply.status_code == 200, f"a message got HTTP {reply.status_code}: {reply.text[:300]}"
    text = dig(reply.json(), platform.profile.api.reply_text)
    assert text, f"the reply has no `api.reply_text` ({platform.profile.api.reply_text}): {reply.text[:300]}"
    seen = platform.traffic_since(ws.swarm_name, mark)
    assert seen, (
        "the harness's traffic witness saw no request reach the runtime: check `children.runtime_port` and "
        "`swarm.service_port`, and `runtime.internal_paths` (a message's path must not be listed there)"
    )
