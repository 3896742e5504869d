"""Child apply: 3-way merge and last-applied annotation (METACONTROLLER.md §2 "Applying children"; item 6).

Coverage matrix:

=================================  ===========================================================
area                               cases
=================================  ===========================================================
merge: scalars / nested objects    keep foreign, remove previously applied, replace, add
merge: lists                       plain list replaced; list-map merged on each known key
                                   (containerPort, port, mountPath, name) keeping observed order
                                   then appending new; key precedence; not-a-list-map replaced;
                                   numeric merge keys
merge: type changes                desired wins when observed has another JSON type
merge: purity                      inputs are not mutated
last-applied                       round trip; Go JSON (sorted, compact, HTML escapes); copied-back
                                   annotation stripped; invalid JSON → SyncError
apply_update                       unchanged desired → result == observed (no write);
                                   server-defaulted fields kept; system metadata and status
                                   reverted; ownerReferences kept; changed data → diff
prepare_create                     annotation records exactly the desired object
=================================  ===========================================================
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from swarmconf.clusters.metacontroller.controller.apply import (
    LAST_APPLIED_ANNOTATION,
    apply_update,
    detect_list_map_key,
    get_last_applied,
    go_json,
    merge,
    prepare_create,
    set_last_applied,
)
from swarmconf.clusters.metacontroller.controller.errors import SyncError


def test_scalars() -> None:
    observed = {"keep": "other", "remove": "other", "replace": "other"}
    got = merge(observed, {"remove": "old", "replace": "old"}, {"replace": "new", "add": "new"})
    assert got == {"replace": "new", "add": "new", "keep": "other"}


def test_nested_object() -> None:
    got = merge(
        {"update": {"keep": "other", "remove": "other"}},
        {"update": {"remove": "old", "replace": "old"}},
        {"update": {"replace": "new", "add": "new"}},
    )
    assert got == {"update": {"replace": "new", "add": "new", "keep": "other"}}


def test_plain_list_is_replaced() -> None:
    got = merge({"list": [1, 2, 3, {"a": True}]}, {"list": [4, 5, 6]}, {"list": [7, 8, 9, {"b": False}]})
    assert got == {"list": [7, 8, 9, {"b": False}]}


def test_list_maps_merge_by_known_keys() -> None:
    observed = {
        "listMap": [
            {"name": "keep", "value": "other"},
            {"name": "remove", "value": "other"},
            {"name": "merge", "nested": {"keep": "other"}},
        ],
        "ports1": [{"port": 80, "keep": "other"}],
        "ports2": [{"containerPort": 80, "keep": "other"}],
        "mounts": [{"name": "vol", "mountPath": "/a", "keep": 1}, {"name": "vol", "mountPath": "/b"}],
    }
    last = {"listMap": [{"name": "remove", "value": "old"}], "ports1": [{"port": 80, "remove": "old"}]}
    desired = {
        "listMap": [{"name": "add", "value": "new"}, {"name": "merge", "nested": {"add": "new"}}],
        "ports1": [{"port": 80, "add": "new"}, {"port": 90}],
        "ports2": [{"containerPort": 80}, {"containerPort": 90}],
        "mounts": [{"name": "vol", "mountPath": "/a"}, {"name": "vol", "mountPath": "/b"}],
    }
    assert merge(observed, last, desired) == {
        "listMap": [
            {"name": "keep", "value": "other"},
            {"name": "merge", "nested": {"keep": "other", "add": "new"}},
            {"name": "add", "value": "new"},
        ],
        "ports1": [{"port": 80, "keep": "other", "add": "new"}, {"port": 90}],
        "ports2": [{"containerPort": 80, "keep": "other"}, {"containerPort": 90}],
        "mounts": [{"name": "vol", "mountPath": "/a", "keep": 1}, {"name": "vol", "mountPath": "/b"}],
    }


def test_list_of_objects_without_common_key_is_replaced() -> None:
    observed = {"l": [{"name": "keep"}, {"notName": "x"}]}
    desired = {"l": [{"name": "add"}]}
    assert merge(observed, {"l": [{"name": "remove"}]}, desired) == desired


@pytest.mark.parametrize(
    ("lists", "key"),
    [
        (([{"containerPort": 1, "name": "a"}],), "containerPort"),
        (([{"port": 1, "name": "a"}], [{"port": 2, "name": "b"}]), "port"),
        (([{"mountPath": "/x", "name": "a"}],), "mountPath"),
        (([{"name": "a", "uid": "u"}],), "name"),
        (([{"path": "/"}], [{"ip": "1.2.3.4", "path": "/x"}]), "path"),
        (([{"a": 1}],), ""),
        (([1, 2],), ""),
        (([], []), ""),
    ],
)
def test_list_map_key_detection(lists: tuple[list, ...], key: str) -> None:
    assert detect_list_map_key(*lists) == key


def test_type_change_takes_desired() -> None:
    assert merge({"x": {"a": 1}}, {"x": {"a": 1}}, {"x": "scalar"}) == {"x": "scalar"}
    assert merge({"x": [1]}, None, {"x": {"a": 1}}) == {"x": {"a": 1}}


def test_merge_does_not_mutate_inputs() -> None:
    observed, last, desired = {"a": {"b": 1}, "l": [{"name": "x", "v": 1}]}, {"a": {"b": 1}}, {"a": {"c": 2}}
    snapshot = copy.deepcopy((observed, last, desired))
    merge(observed, last, desired)
    assert (observed, last, desired) == snapshot


def test_last_applied_round_trip_and_go_encoding() -> None:
    obj: dict = {"metadata": {}}
    set_last_applied(obj, {"b": 1, "a": "<&>"})
    raw = obj["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]
    assert raw == '{"a":"\\u003c\\u0026\\u003e","b":1}'
    assert get_last_applied(obj) == {"b": 1, "a": "<&>"}
    assert go_json({"z": [1, 2.5], "a": None}) == '{"a":null,"z":[1,2.5]}'


def test_invalid_last_applied_is_a_sync_error() -> None:
    with pytest.raises(SyncError):
        get_last_applied({"metadata": {"annotations": {LAST_APPLIED_ANNOTATION: "{bad"}}})


def _observed_after_create(desired: dict) -> dict:
    """What the API server would hand back after creating ``desired``: defaults and system fields added."""
    obj = prepare_create(desired)
    obj["metadata"].update(
        uid="u1", resourceVersion="42", generation=1, creationTimestamp="2026-01-01T00:00:00Z", managedFields=[{}]
    )
    obj["metadata"]["ownerReferences"] = [{"uid": "parent", "controller": True}]
    obj["spec"]["ports"][0]["protocol"] = "TCP"  # server default inside a list-map item
    obj["spec"]["clusterIP"] = "10.96.0.10"  # server-populated field
    obj["status"] = {"loadBalancer": {}}
    return obj


DESIRED: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "svc", "namespace": "ns", "labels": {"a": "b"}},
    "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "x"}},
}


def test_unchanged_desired_means_no_write() -> None:
    observed = _observed_after_create(DESIRED)
    assert apply_update(observed, DESIRED) == observed


def test_hook_copying_back_the_annotation_changes_nothing() -> None:
    observed = _observed_after_create(DESIRED)
    echoed = copy.deepcopy(DESIRED)
    echoed["metadata"]["annotations"] = dict(observed["metadata"]["annotations"])
    assert apply_update(observed, echoed) == observed


def test_system_fields_and_status_are_reverted() -> None:
    observed = _observed_after_create(DESIRED)
    desired = copy.deepcopy(DESIRED)
    desired["metadata"].update(uid="forged", resourceVersion="1", generation=9)
    desired["status"] = {"forged": True}
    merged = apply_update(observed, desired)
    for field in ("uid", "resourceVersion", "generation", "creationTimestamp"):
        assert merged["metadata"][field] == observed["metadata"][field]
    assert merged["status"] == observed["status"]


def test_change_produces_a_diff_and_new_last_applied() -> None:
    observed = _observed_after_create(DESIRED)
    desired: dict[str, Any] = copy.deepcopy(DESIRED)
    desired["spec"]["selector"] = {"app": "y"}
    del desired["metadata"]["labels"]
    merged = apply_update(observed, desired)
    assert merged != observed
    assert merged["spec"]["selector"] == {"app": "y"}
    assert "labels" not in merged["metadata"]  # removed since last applied
    assert merged["spec"]["ports"][0]["protocol"] == "TCP"  # server default kept
    assert merged["spec"]["clusterIP"] == "10.96.0.10"
    assert merged["metadata"]["ownerReferences"] == observed["metadata"]["ownerReferences"]
    assert get_last_applied(merged) == desired


def test_prepare_create_records_exactly_the_desired_object() -> None:
    obj = prepare_create(DESIRED)
    assert json.loads(obj["metadata"]["annotations"][LAST_APPLIED_ANNOTATION]) == DESIRED
    assert "annotations" not in DESIRED["metadata"]
