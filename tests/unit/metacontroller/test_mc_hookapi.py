"""Hook request/response shapes (METACONTROLLER.md §2, checklist items 2 and 3).

Coverage matrix:

================================  ==========================================================
area                              cases
================================  ==========================================================
group keys                        core ``Kind.version``; grouped ``Kind.group/version``
child keys                        same scope → name; cluster parent + namespaced child →
                                  ``ns/name``; hook v2 → always ``ns/name`` when namespaced
request                           upstream golden shape; every declared type present (``{}``);
                                  ``related: {}``; ``finalizing`` carried
response: children                missing, null, ``[null]``, list; not a list → error;
                                  item without kind → error
response: status                  missing/null → None; object kept; non-object → error
response: resyncAfterSeconds      int, float (0.1), null; string/bool → error
response: finalized               true, null; non-bool → error
response: envelope                ``null`` body → zero response; empty body, bad JSON, array →
                                  error; unknown fields ignored (v1 loose) / refused (strict)
================================  ==========================================================
"""

from __future__ import annotations

import json

import pytest

from swarmconf.clusters.metacontroller.controller.errors import HookDecodeError
from swarmconf.clusters.metacontroller.controller.hookapi import (
    build_request,
    child_map,
    group_key,
    parse_response,
    relative_name,
)

CLUSTER_PARENT = {"apiVersion": "test/v1", "kind": "Widget", "metadata": {"name": "p"}}
NAMESPACED_PARENT = {"apiVersion": "test/v1", "kind": "Widget", "metadata": {"name": "p", "namespace": "ns"}}


def _cm(name: str, namespace: str = "") -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [("v1", "ConfigMap", "ConfigMap.v1"), ("apps/v1", "StatefulSet", "StatefulSet.apps/v1")],
)
def test_group_key(api_version: str, kind: str, expected: str) -> None:
    assert group_key(api_version, kind) == expected


@pytest.mark.parametrize(
    ("parent", "child", "version", "expected"),
    [
        (NAMESPACED_PARENT, _cm("c", "ns"), "v1", "c"),
        (CLUSTER_PARENT, _cm("c", "other"), "v1", "other/c"),
        (CLUSTER_PARENT, _cm("c"), "v1", "c"),
        (NAMESPACED_PARENT, _cm("c", "ns"), "v2", "ns/c"),
        (CLUSTER_PARENT, _cm("c", "other"), "v2", "other/c"),
    ],
)
def test_relative_name(parent: dict, child: dict, version: str, expected: str) -> None:
    assert relative_name(parent, child, version) == expected


def test_request_matches_upstream_golden_shape() -> None:
    controller = {"metadata": {"name": "cc"}, "spec": {}}
    children = child_map(NAMESPACED_PARENT, [_cm("aaaaa", "ns")], declared=[("v1", "ConfigMap")])
    request = build_request(controller, NAMESPACED_PARENT, children, finalizing=False, hook_version="v1")
    assert list(request) == ["controller", "parent", "children", "related", "finalizing"]
    assert request == {
        "controller": controller,
        "parent": NAMESPACED_PARENT,
        "children": {"ConfigMap.v1": {"aaaaa": _cm("aaaaa", "ns")}},
        "related": {},
        "finalizing": False,
    }


def test_request_has_every_declared_type_and_cluster_parent_keys() -> None:
    declared = [("v1", "ConfigMap"), ("apps/v1", "StatefulSet")]
    children = child_map(CLUSTER_PARENT, [_cm("a", "ns1"), _cm("a", "ns2")], declared=declared)
    request = build_request({}, CLUSTER_PARENT, children, finalizing=True, hook_version="v1")
    assert request["children"] == {
        "ConfigMap.v1": {"ns1/a": _cm("a", "ns1"), "ns2/a": _cm("a", "ns2")},
        "StatefulSet.apps/v1": {},
    }
    assert request["related"] == {}
    assert request["finalizing"] is True
    json.dumps(request)  # must be serialisable as-is


@pytest.mark.parametrize("body", ['{"status": {}}', '{"children": null}', '{"children": [null]}'])
def test_missing_or_null_children_become_empty_list(body: str) -> None:
    assert parse_response(body).children == []


@pytest.mark.parametrize("body", ["{}", '{"status": null}'])
def test_missing_or_null_status_is_none(body: str) -> None:
    assert parse_response(body).status is None


def test_full_response() -> None:
    body = {"status": {"a": 1}, "children": [_cm("x", "ns")], "resyncAfterSeconds": 0.1, "finalized": True}
    response = parse_response(json.dumps(body).encode())
    assert response.status == {"a": 1}
    assert response.children == [_cm("x", "ns")]
    assert response.resync_after_seconds == pytest.approx(0.1)
    assert isinstance(response.resync_after_seconds, float)
    assert response.finalized is True


def test_integer_resync_is_a_float_and_null_is_zero() -> None:
    assert parse_response('{"resyncAfterSeconds": 2}').resync_after_seconds == 2.0
    assert parse_response('{"resyncAfterSeconds": null, "finalized": null}').resync_after_seconds == 0.0


def test_null_body_is_the_zero_response() -> None:
    response = parse_response("null")
    assert (response.status, response.children, response.finalized) == (None, [], False)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "not json",
        "[]",
        '{"children": {}}',
        '{"children": ["x"]}',
        '{"children": [{"apiVersion": "v1", "metadata": {"name": "no-kind"}}]}',
        '{"status": []}',
        '{"resyncAfterSeconds": "5"}',
        '{"resyncAfterSeconds": true}',
        '{"finalized": "yes"}',
    ],
)
def test_invalid_responses_fail(body: str) -> None:
    with pytest.raises(HookDecodeError):
        parse_response(body)


def test_unknown_fields_loose_vs_strict() -> None:
    body = '{"children": [], "surprise": 1}'
    assert parse_response(body).children == []
    with pytest.raises(HookDecodeError, match="surprise"):
        parse_response(body, strict=True)
