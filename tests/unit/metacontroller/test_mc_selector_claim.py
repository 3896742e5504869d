"""Selectors, claiming and the finalizer (METACONTROLLER.md §1 (b)(c), §2 "Adoption"; items 4 and 9).

Coverage matrix:

======================  ================================================================================
area                    cases
======================  ================================================================================
label selectors         matchLabels; In/NotIn/Exists/DoesNotExist incl. absent keys; empty matches all;
                        invalid operator / values → SyncError
parent selector         generateSelector → controller-uid=<uid> (spec.selector ignored); spec.selector
                        used; missing or empty → SyncError
desired children        controller-uid added only when generated and absent; mismatch → SyncError
claim decisions         other owner; ours+match; ours+mismatch (alive / deleting parent); orphan match
                        (alive / deleting parent / deleting child / other namespace for namespaced
                        parent / cluster parent any namespace); orphan mismatch
claim side effects      adopt writes our controllerRef (after the uncached check); release removes it;
                        adopt refused while the parent is being deleted; vanished child is skipped
owner references        add replaces same UID or appends; remove by UID
finalizer               exact name; add before work, never on a deleting parent; remove when no finalize
                        hook; should_finalize false with GC finalizers or ours gone
======================  ================================================================================
"""

from __future__ import annotations

import pytest
from mc_world import CONFIGMAPS, PARENT, configmap, widget

from swarmconf.clusters.metacontroller.controller.claim import (
    Claim,
    add_owner_reference,
    adoption_check,
    claim_children,
    decide,
    remove_owner_reference,
)
from swarmconf.clusters.metacontroller.controller.errors import SyncError
from swarmconf.clusters.metacontroller.controller.fake import FakeApi
from swarmconf.clusters.metacontroller.controller.finalizer import (
    finalizer_name,
    should_finalize,
    sync_finalizer,
)
from swarmconf.clusters.metacontroller.controller.selector import (
    LabelSelector,
    parent_selector,
    prepare_desired_children,
)


@pytest.mark.parametrize(
    ("spec", "labels", "matches"),
    [
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
        ({}, {"anything": "x"}, True),
        (None, None, True),
    ],
)
def test_selector_semantics(spec: dict | None, labels: dict | None, matches: bool) -> None:
    assert LabelSelector.parse(spec).matches(labels) is matches


@pytest.mark.parametrize(
    "spec",
    [
        {"matchExpressions": [{"key": "a", "operator": "Like", "values": ["1"]}]},
        {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["1"]}]},
        "a=b",
    ],
)
def test_invalid_selectors(spec: object) -> None:
    with pytest.raises(SyncError):
        LabelSelector.parse(spec)


def test_generated_selector_ignores_spec_selector() -> None:
    parent = widget(uid="u-1")
    parent["spec"]["selector"] = {"matchLabels": {"x": "y"}}
    selector = parent_selector(parent, generate=True)
    assert selector.matches({"controller-uid": "u-1"})
    assert not selector.matches({"x": "y"})


@pytest.mark.parametrize("selector", [None, {}, {"matchLabels": {}}])
def test_missing_or_empty_selector_is_refused(selector: dict | None) -> None:
    parent = widget(uid="u-1")
    if selector is not None:
        parent["spec"]["selector"] = selector
    with pytest.raises(SyncError, match="matchLabels, matchExpressions"):
        parent_selector(parent, generate=False)


def test_desired_children_get_controller_uid_only_when_generated() -> None:
    parent = widget(uid="u-1")
    children = [configmap("a"), configmap("b", labels={"controller-uid": "u-1", "x": "1"})]
    prepare_desired_children(children, parent, parent_selector(parent, generate=True), generate=True)
    assert children[0]["metadata"]["labels"] == {"controller-uid": "u-1"}
    assert children[1]["metadata"]["labels"] == {"controller-uid": "u-1", "x": "1"}


def test_desired_child_not_matching_selector_fails_the_sync() -> None:
    parent = widget(uid="u-1")
    parent["spec"]["selector"] = {"matchLabels": {"app": "a"}}
    with pytest.raises(SyncError, match="don't match parent selector"):
        prepare_desired_children(
            [configmap("x", labels={"app": "b"})], parent, parent_selector(parent, generate=False), generate=False
        )
    generated = [configmap("y", labels={"controller-uid": "someone-else"})]
    with pytest.raises(SyncError):
        prepare_desired_children(generated, parent, parent_selector(parent, generate=True), generate=True)


def _deleting(obj: dict) -> dict:
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return obj


def _owned(uid: str) -> dict:
    child = configmap("c")
    child["metadata"]["ownerReferences"] = [{"uid": uid, "controller": True, "name": "p", "kind": "Widget"}]
    return child


DELETING: dict[str, str] = {"deletionTimestamp": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("child", "parent_meta", "matches", "namespaced", "expected"),
    [
        (_owned("other"), {}, True, False, Claim.IGNORE),
        (_owned("p-uid"), {}, True, False, Claim.CLAIMED),
        (_deleting(_owned("p-uid")), {}, True, False, Claim.CLAIMED),
        (_owned("p-uid"), {}, False, False, Claim.RELEASE),
        (_owned("p-uid"), DELETING, False, False, Claim.IGNORE),
        (configmap("c"), {}, True, False, Claim.ADOPT),
        (configmap("c", namespace="elsewhere"), {}, True, False, Claim.ADOPT),
        (configmap("c"), DELETING, True, False, Claim.IGNORE),
        (_deleting(configmap("c")), {}, True, False, Claim.IGNORE),
        (configmap("c", namespace="elsewhere"), {"namespace": "ns1"}, True, True, Claim.IGNORE),
        (configmap("c"), {"namespace": "ns1"}, True, True, Claim.ADOPT),
        (configmap("c"), {}, False, False, Claim.IGNORE),
    ],
)
def test_claim_decisions(child: dict, parent_meta: dict, matches: bool, namespaced: bool, expected: Claim) -> None:
    parent = widget(uid="p-uid", **parent_meta)
    assert decide(child, parent, matches=matches, parent_namespaced=namespaced) is expected


def test_owner_reference_helpers() -> None:
    refs = [{"uid": "a", "name": "old"}, {"uid": "b"}]
    assert add_owner_reference(refs, {"uid": "a", "name": "new"}) == [{"uid": "a", "name": "new"}, {"uid": "b"}]
    assert add_owner_reference(refs, {"uid": "c"}) == [*refs, {"uid": "c"}]
    assert remove_owner_reference(refs, "a") == [{"uid": "b"}]


def _claim(api: FakeApi, parent: dict, matches: bool) -> list[dict]:
    candidates = api.all(CONFIGMAPS)
    check = adoption_check(api, PARENT, parent)
    return claim_children(api, CONFIGMAPS, parent, PARENT, candidates, lambda o: matches, check)


def test_adopt_and_release_write_the_controller_ref() -> None:
    api = FakeApi([PARENT, CONFIGMAPS])
    parent = api.seed(PARENT, widget())
    api.seed(CONFIGMAPS, configmap("orphan"))
    assert [c["metadata"]["name"] for c in _claim(api, parent, matches=True)] == ["orphan"]
    refs = api.get(CONFIGMAPS, "ns1", "orphan")["metadata"]["ownerReferences"]
    assert refs == [
        {
            "apiVersion": "test.example.com/v1",
            "kind": "Widget",
            "name": "w1",
            "uid": parent["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert _claim(api, parent, matches=False) == []
    assert api.get(CONFIGMAPS, "ns1", "orphan")["metadata"]["ownerReferences"] == []


def test_no_adoption_while_parent_is_being_deleted() -> None:
    api = FakeApi([PARENT, CONFIGMAPS])
    parent = api.seed(PARENT, widget(finalizers=["keep"]))
    api.delete(PARENT, "", "w1")
    api.seed(CONFIGMAPS, configmap("orphan"))
    # The cached parent still looks alive; the uncached recheck must refuse the adoption.
    with pytest.raises(SyncError, match="has just been deleted"):
        _claim(api, parent, matches=True)
    assert "ownerReferences" not in api.get(CONFIGMAPS, "ns1", "orphan")["metadata"]


def test_vanished_child_is_skipped() -> None:
    api = FakeApi([PARENT, CONFIGMAPS])
    parent = api.seed(PARENT, widget())
    ghost = configmap("ghost")
    ghost["metadata"]["uid"] = "gone"
    claimed = claim_children(api, CONFIGMAPS, parent, PARENT, [ghost], lambda o: True, lambda: None)
    assert claimed == []


def test_finalizer_name() -> None:
    assert finalizer_name("userswarms") == "metacontroller.io/compositecontroller-userswarms"


def test_finalizer_added_removed_and_never_added_while_deleting() -> None:
    api = FakeApi([PARENT])
    name = finalizer_name("cc")
    parent = api.seed(PARENT, widget())
    parent = sync_finalizer(api, PARENT, parent, name, enabled=True)
    assert parent["metadata"]["finalizers"] == [name]
    assert sync_finalizer(api, PARENT, parent, name, enabled=True) == parent  # no second write
    parent = sync_finalizer(api, PARENT, parent, name, enabled=False)
    assert parent["metadata"]["finalizers"] == []
    deleting = api.seed(PARENT, widget("w2", finalizers=["other"], deletionTimestamp="2026-01-01T00:00:00Z"))
    writes = len(api.writes)
    assert name not in sync_finalizer(api, PARENT, deleting, name, enabled=True)["metadata"]["finalizers"]
    assert len(api.writes) == writes


@pytest.mark.parametrize(
    ("finalizers", "enabled", "expected"),
    [
        (["metacontroller.io/compositecontroller-cc"], True, True),
        (["metacontroller.io/compositecontroller-cc"], False, False),
        ([], True, False),
        (["metacontroller.io/compositecontroller-cc", "foregroundDeletion"], True, False),
        (["orphan", "metacontroller.io/compositecontroller-cc"], True, False),
    ],
)
def test_should_finalize(finalizers: list[str], enabled: bool, expected: bool) -> None:
    parent = widget(finalizers=finalizers, deletionTimestamp="2026-01-01T00:00:00Z")
    assert should_finalize(parent, "metacontroller.io/compositecontroller-cc", enabled=enabled) is expected
