"""The finalize hook's ordered teardown (pure on the observed children; no cluster).

Coverage matrix:

| observed children                          | expected                                                  |
|--------------------------------------------|-----------------------------------------------------------|
| all 7                                      | keep all but the StatefulSet; not finalized               |
| no StatefulSet                             | keep only the PVC; not finalized                          |
| PVC only (or PVC terminating)              | keep nothing; not finalized                               |
| none                                       | finalized                                                 |
| any partial state, called again            | same answer (idempotent), never a child that is not observed |
| StatefulSet terminating                    | keep the rest, wait                                       |
| bad spec while finalizing                  | teardown proceeds the same way                            |
| full walk                                  | StatefulSet → Services/ConfigMap/SA/Secret → PVC → done   |
| faults                                     | finalize-error always 500; -after-partial only once partial |
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from reference_webhook_fakes import FakeCluster, FakeVerifier, as_observed, keys, parent, request

from swarmconf.reference.common.defects import Fault, StaticSwitches, Switches
from swarmconf.reference.common.settings import WebhookSettings
from swarmconf.reference.webhook.hooks import HookFault, Hooks

DELETING = "2020-01-01T00:00:00Z"


def hooks_for(settings: WebhookSettings, switches: Switches | None = None, now: float = 1577836801.0) -> Hooks:
    return Hooks(
        settings=settings,
        switches=StaticSwitches(switches),
        verifier=FakeVerifier(),
        cluster=FakeCluster(),
        clock=lambda: now,
    )


def full(settings: WebhookSettings) -> list[dict[str, Any]]:
    return as_observed(anyio.run(hooks_for(settings).sync, request(parent(), []))["children"])


def finalize(hooks: Hooks, observed: list[dict[str, Any]], **parent_kwargs: Any) -> dict[str, Any]:
    req = request(parent(deleting_since=DELETING, **parent_kwargs), observed, finalizing=True)
    return anyio.run(hooks.finalize, req)


def kinds(children: list[dict[str, Any]]) -> list[str]:
    return sorted(c["kind"] for c in children)


def test_full_walk_tears_down_in_order(webhook_settings: WebhookSettings) -> None:
    observed, steps = full(webhook_settings), []
    for _ in range(5):
        response = finalize(hooks_for(webhook_settings), observed)
        steps.append(sorted({c["kind"] for c in observed} - {c["kind"] for c in response["children"]}))
        assert keys(response["children"]) <= keys(observed)  # never recreates anything
        if response["finalized"]:
            break
        assert response["status"]["phase"] == "Terminating"
        wanted = keys(response["children"])
        observed = [c for c in observed if (c["kind"], c["metadata"]["name"]) in wanted]
    assert steps == [
        ["StatefulSet"],
        ["ConfigMap", "Secret", "Service", "ServiceAccount"],
        ["PersistentVolumeClaim"],
        [],
    ]
    assert response["finalized"] is True and response["children"] == []


@pytest.mark.parametrize(
    ("drop", "kept"),
    [
        (set(), ["ConfigMap", "PersistentVolumeClaim", "Secret", "Service", "Service", "ServiceAccount"]),
        ({"StatefulSet"}, ["PersistentVolumeClaim"]),
        ({"StatefulSet", "Service"}, ["PersistentVolumeClaim"]),
        ({"StatefulSet", "Service", "ConfigMap", "ServiceAccount", "Secret"}, []),
        ({"ConfigMap"}, ["PersistentVolumeClaim", "Secret", "Service", "Service", "ServiceAccount"]),
    ],
)
def test_partial_teardown_continues_idempotently(
    webhook_settings: WebhookSettings, drop: set[str], kept: list[str]
) -> None:
    observed = [c for c in full(webhook_settings) if c["kind"] not in drop]
    first = finalize(hooks_for(webhook_settings), observed)
    second = finalize(hooks_for(webhook_settings), observed)
    assert first == second or first["children"] == second["children"]
    assert kinds(first["children"]) == kept
    assert first["finalized"] is False


def test_terminating_children_are_waited_for(webhook_settings: WebhookSettings) -> None:
    observed = as_observed(
        [c for c in full(webhook_settings) if c["kind"] == "PersistentVolumeClaim"],
        terminating={"PersistentVolumeClaim"},
    )
    response = finalize(hooks_for(webhook_settings), observed)
    assert (response["children"], response["finalized"]) == ([], False)


def test_finalized_only_when_nothing_is_observed(webhook_settings: WebhookSettings) -> None:
    assert finalize(hooks_for(webhook_settings), [])["finalized"] is True


def test_bad_spec_does_not_stop_teardown(webhook_settings: WebhookSettings) -> None:
    response = finalize(hooks_for(webhook_settings), full(webhook_settings), spec={"nonsense": True})
    assert "StatefulSet" not in kinds(response["children"]) and len(response["children"]) == 6


def test_fault_finalize_error(webhook_settings: WebhookSettings) -> None:
    with pytest.raises(HookFault):
        finalize(hooks_for(webhook_settings, Switches(fault=Fault.FINALIZE_ERROR)), full(webhook_settings))


def test_fault_finalize_error_after_partial(webhook_settings: WebhookSettings) -> None:
    switches = Switches(fault=Fault.FINALIZE_ERROR_AFTER_PARTIAL)
    observed = full(webhook_settings)
    first = finalize(hooks_for(webhook_settings, switches), observed)
    assert "StatefulSet" not in kinds(first["children"])
    with pytest.raises(HookFault):
        finalize(hooks_for(webhook_settings, switches), [c for c in observed if c["kind"] != "StatefulSet"])
