"""Patch formats (merge, JSON, strategic, apply) and selector parsing, table-driven."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mpi.testing.server.patch import (
    PatchError,
    PatchTestFailed,
    apply_configuration,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from airflow_provider_mpi.testing.store.selectors import (
    Operator,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

# ------------------------------------------------------------------ merge patch (RFC 7386 examples)


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_does_not_mutate() -> None:
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)


@given(json_values, st.dictionaries(st.text(max_size=3), json_values, max_size=3))
def test_merge_patch_is_idempotent(target: Any, patch: dict[str, Any]) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


# ------------------------------------------------------------------ JSON patch (RFC 6902)


@pytest.mark.parametrize(
    ("target", "operations", "result"),
    [
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"foo": "bar", "baz": "qux"},
        ),
        (
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        ),
        ({"foo": [1]}, [{"op": "add", "path": "/foo/-", "value": 2}], {"foo": [1, 2]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        (
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
        ),
        ({"baz": "qux"}, [{"op": "replace", "path": "/baz", "value": "boo"}], {"baz": "boo"}),
        (
            {"foo": {"bar": "baz"}},
            [{"op": "move", "from": "/foo/bar", "path": "/qux"}],
            {"foo": {}, "qux": "baz"},
        ),
        (
            {"foo": {"bar": 1}},
            [{"op": "copy", "from": "/foo", "path": "/c"}],
            {"foo": {"bar": 1}, "c": {"bar": 1}},
        ),
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "qux"}], {"baz": "qux"}),
        (
            {"a/b": 1, "m~n": 2},
            [{"op": "remove", "path": "/a~1b"}, {"op": "remove", "path": "/m~0n"}],
            {},
        ),
        (
            {"metadata": {"labels": {"a": "b"}}},
            [{"op": "add", "path": "/metadata/labels/c", "value": "d"}],
            {"metadata": {"labels": {"a": "b", "c": "d"}}},
        ),
        ({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    ],
)
def test_json_patch_rfc6902(target: Any, operations: list[Any], result: Any) -> None:
    assert json_patch(target, operations) == result


@pytest.mark.parametrize(
    ("target", "operations", "error"),
    [
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], PatchTestFailed),
        ({"a": 1}, [{"op": "remove", "path": "/missing"}], PatchTestFailed),
        ({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 1}], PatchTestFailed),
        ({"a": [1]}, [{"op": "add", "path": "/a/01", "value": 1}], PatchTestFailed),
        ({"a": 1}, [{"op": "add", "path": "/x/y", "value": 1}], PatchTestFailed),
        ({"a": 1}, [{"op": "dance", "path": "/a"}], PatchError),
        ({"a": 1}, [{"op": "add", "path": "/b"}], PatchError),
        ({"a": 1}, [{"op": "move", "path": "/b"}], PatchError),
        ({"a": 1}, [{"path": "/a"}], PatchError),
        ({"a": 1}, {"op": "add"}, PatchError),
        ({"a": 1}, [{"op": "add", "path": "a", "value": 1}], PatchError),
    ],
)
def test_json_patch_errors(target: Any, operations: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        json_patch(target, operations)


# ------------------------------------------------------------------ strategic merge patch

POD = {
    "metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
    "spec": {
        "containers": [
            {
                "name": "main",
                "image": "one",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 80}],
            },
            {"name": "side", "image": "two"},
        ],
        "tolerations": [{"key": "t1"}],
    },
}


@pytest.mark.parametrize(
    ("patch", "check"),
    [
        (
            {"spec": {"containers": [{"name": "side", "image": "three"}]}},
            lambda r: [c["image"] for c in r["spec"]["containers"]] == ["one", "three"],
        ),
        (
            {"spec": {"containers": [{"name": "new", "image": "n"}]}},
            lambda r: [c["name"] for c in r["spec"]["containers"]] == ["main", "side", "new"],
        ),
        (
            {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
            lambda r: [c["name"] for c in r["spec"]["containers"]] == ["main"],
        ),
        (
            {"spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "9"}]}]}},
            lambda r: (
                r["spec"]["containers"][0]["env"]
                == [{"name": "A", "value": "1"}, {"name": "B", "value": "9"}]
            ),
        ),
        (
            {"spec": {"containers": [{"name": "main", "ports": [{"containerPort": 81}]}]}},
            lambda r: (
                r["spec"]["containers"][0]["ports"]
                == [{"containerPort": 80}, {"containerPort": 81}]
            ),
        ),
        (
            {"spec": {"tolerations": [{"key": "t2"}]}},  # no merge key: replaced
            lambda r: r["spec"]["tolerations"] == [{"key": "t2"}],
        ),
        (
            {"metadata": {"labels": {"a": None, "b": "2"}}},
            lambda r: r["metadata"]["labels"] == {"b": "2"},
        ),
        ({"metadata": {"finalizers": ["y"]}}, lambda r: r["metadata"]["finalizers"] == ["x", "y"]),
        (
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}},
            lambda r: r["metadata"]["finalizers"] == [],
        ),
        (
            {
                "spec": {
                    "$setElementOrder/containers": [{"name": "side"}, {"name": "main"}],
                    "containers": [{"name": "main", "image": "x"}],
                }
            },
            lambda r: [c["image"] for c in r["spec"]["containers"]] == ["x", "two"],
        ),
        (
            {"spec": {"$patch": "replace", "containers": []}},
            lambda r: r["spec"] == {"containers": []},
        ),
        (
            {"spec": {"containers": [{"name": "only", "image": "o"}, {"$patch": "replace"}]}},
            lambda r: [c["name"] for c in r["spec"]["containers"]] == ["only"],
        ),
        (
            {"spec": {"$retainKeys": ["containers"], "tolerations": None}},
            lambda r: list(r["spec"]) == ["containers"],
        ),
    ],
)
def test_strategic_merge_patch(patch: dict[str, Any], check: Any) -> None:
    assert check(strategic_merge_patch(POD, patch))


def test_strategic_merge_unknown_directive() -> None:
    with pytest.raises(PatchError):
        strategic_merge_patch(POD, {"spec": {"$patch": "explode"}})


# ------------------------------------------------------------------ server-side apply


def test_apply_removes_what_the_manager_stopped_applying_and_keeps_others() -> None:
    live = {
        "metadata": {"name": "c", "labels": {"mine": "1", "theirs": "2"}},
        "data": {"a": "1", "b": "2", "x": "9"},
    }
    previous = {"metadata": {"name": "c", "labels": {"mine": "1"}}, "data": {"a": "1", "b": "2"}}
    applied = {"metadata": {"name": "c"}, "data": {"a": "3"}}
    result = apply_configuration(live, applied, previous)
    assert result["data"] == {"a": "3", "x": "9"}
    assert result["metadata"]["labels"] == {"theirs": "2"}


def test_apply_creates_from_nothing() -> None:
    assert apply_configuration(None, {"metadata": {"name": "c"}, "data": {"a": "1"}}) == {
        "metadata": {"name": "c"},
        "data": {"a": "1"},
    }


def test_apply_without_merge_keys_replaces_lists() -> None:
    live = {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    applied = {"spec": {"containers": [{"name": "b", "image": "x"}]}}
    merged = apply_configuration(live, applied, strategic=True)
    assert [c["name"] for c in merged["spec"]["containers"]] == ["a", "b"]
    replaced = apply_configuration(live, applied, strategic=False)
    assert replaced["spec"]["containers"] == [{"name": "b", "image": "x"}]


# ------------------------------------------------------------------ selectors

LABELS = {"app": "pi", "tier": "hpc", "replicas": "4"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("", True),
        ("app=pi", True),
        ("app==pi", True),
        ("app=other", False),
        ("app!=other", True),
        ("missing!=x", True),
        ("app in (pi, other)", True),
        ("app in (other)", False),
        ("app notin (other)", True),
        ("missing notin (x)", True),
        ("app notin (pi)", False),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("replicas>3", True),
        ("replicas<3", False),
        ("app=pi,tier=hpc", True),
        ("app=pi,tier=other", False),
        ("app in (pi,x),!missing,tier", True),
        ("example.com/owner", False),
    ],
)
def test_label_selector(selector: str, matches: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize(
    "selector",
    ["app in (pi", "app in pi)", "app in ()", "=x", "app=bad value", "a b c", "x>y", "-bad"],
)
def test_label_selector_errors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(selector)


@pytest.mark.parametrize(
    ("selector", "fields", "matches"),
    [
        ("metadata.name=a", {"metadata.name": "a"}, True),
        ("metadata.name==a", {"metadata.name": "a"}, True),
        ("metadata.name!=a", {"metadata.name": "a"}, False),
        (
            "metadata.name=a,metadata.namespace=ns",
            {"metadata.name": "a", "metadata.namespace": "ns"},
            True,
        ),
        ("status.phase=", {}, True),
    ],
)
def test_field_selector(selector: str, fields: dict[str, str], matches: bool) -> None:
    assert parse_field_selector(selector).matches(fields.get) is matches


def test_field_selector_pins_name() -> None:
    selector = parse_field_selector("metadata.name=a,status.phase!=Failed")
    assert selector.equals("metadata.name") == "a"
    assert selector.equals("status.phase") is None
    assert selector.keys == {"metadata.name", "status.phase"}
    assert selector.requirements[1].operator is Operator.NOT_EQUALS


@pytest.mark.parametrize("selector", ["metadata.name", "=a"])
def test_field_selector_errors(selector: str) -> None:
    with pytest.raises(SelectorError):
        parse_field_selector(selector)
