"""The emulator's store: CRUD semantics, optimistic concurrency, watch replay, GC."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest

from airflow_provider_mpi.testing.store import (
    RESOURCES,
    AlreadyExists,
    BadRequest,
    Conflict,
    EventType,
    Gone,
    Invalid,
    NotFound,
    Store,
    WatchEvent,
)

FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def store() -> Store:
    return Store(now=lambda: FIXED)


def mpijob(name: str = "job", **meta: object) -> dict:
    return {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": name, **meta},
        "spec": {"slotsPerWorker": 1},
    }


def test_resource_table() -> None:
    assert RESOURCES["mpijobs"].api_version == "kubeflow.org/v2beta1"
    assert RESOURCES["pods"].api_version == "v1"
    assert RESOURCES["jobs"].api_version == "batch/v1"
    assert not RESOURCES["namespaces"].namespaced
    assert not RESOURCES["customresourcedefinitions"].namespaced
    assert "status" in RESOURCES["mpijobs"].subresources
    assert "log" in RESOURCES["pods"].subresources


def test_create_fills_metadata(store: Store) -> None:
    rv_before = store.resource_version
    created = store.create("mpijobs", mpijob(), namespace="default")
    meta = created["metadata"]
    assert meta["namespace"] == "default"
    assert meta["uid"]
    assert meta["creationTimestamp"] == "2026-01-02T03:04:05Z"
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) == rv_before + 1 == store.resource_version
    assert created["kind"] == "MPIJob"
    assert store.get("mpijobs", "default", "job") == created


def test_get_returns_a_copy(store: Store) -> None:
    store.create("configmaps", {"metadata": {"name": "c"}, "data": {"a": "1"}}, namespace="default")
    got = store.get("configmaps", "default", "c")
    got["data"]["a"] = "changed"
    assert store.get("configmaps", "default", "c")["data"]["a"] == "1"


def test_generate_name(store: Store) -> None:
    first = store.create("pods", {"metadata": {"generateName": "p-"}}, namespace="default")
    second = store.create("pods", {"metadata": {"generateName": "p-"}}, namespace="default")
    assert first["metadata"]["name"].startswith("p-")
    assert len(first["metadata"]["name"]) == len("p-") + 5
    assert first["metadata"]["name"] != second["metadata"]["name"]


@pytest.mark.parametrize(
    ("plural", "obj", "namespace", "error"),
    [
        ("pods", {"metadata": {}}, "default", Invalid),
        ("pods", {"metadata": {"name": "Bad_Name"}}, "default", Invalid),
        ("pods", {"metadata": {"name": "p"}}, "missing-ns", NotFound),
        ("pods", {"metadata": {"name": "p", "namespace": "other"}}, "default", BadRequest),
        ("pods", {"metadata": {"name": "p"}}, None, BadRequest),
        ("widgets", {"metadata": {"name": "p"}}, "default", NotFound),
    ],
)
def test_create_refusals(
    store: Store, plural: str, obj: dict, namespace: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        store.create(plural, obj, namespace=namespace)


def test_invalid_name_names_the_field(store: Store) -> None:
    with pytest.raises(Invalid) as info:
        store.create("mpijobs", mpijob("Bad_Name"), namespace="default")
    status = info.value.to_status()
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "metadata.name"


def test_already_exists(store: Store) -> None:
    store.create("mpijobs", mpijob(), namespace="default")
    with pytest.raises(AlreadyExists) as info:
        store.create("mpijobs", mpijob(), namespace="default")
    status = info.value.to_status()
    assert status["code"] == 409
    assert status["message"] == 'mpijobs.kubeflow.org "job" already exists'
    assert status["details"] == {"name": "job", "group": "kubeflow.org", "kind": "mpijobs"}


def test_not_found_status(store: Store) -> None:
    with pytest.raises(NotFound) as info:
        store.get("pods", "default", "nope")
    assert info.value.to_status()["message"] == 'pods "nope" not found'


def test_stale_update_conflicts(store: Store) -> None:
    created = store.create("mpijobs", mpijob(), namespace="default")
    first = dict(created, spec={"slotsPerWorker": 2})
    updated = store.update("mpijobs", first)
    assert updated["metadata"]["generation"] == 2
    with pytest.raises(Conflict):
        store.update("mpijobs", dict(created, spec={"slotsPerWorker": 3}))
    # Without a resourceVersion the update is unconditional.
    unconditional = dict(created, spec={"slotsPerWorker": 3})
    del unconditional["metadata"]["resourceVersion"]
    assert store.update("mpijobs", unconditional)["spec"] == {"slotsPerWorker": 3}


def test_status_subresource_split(store: Store) -> None:
    created = store.create("mpijobs", mpijob(), namespace="default")
    with_status = dict(created, status={"conditions": [{"type": "Created", "status": "True"}]})
    after_status = store.update("mpijobs", with_status, subresource="status")
    assert after_status["status"]["conditions"][0]["type"] == "Created"
    assert after_status["metadata"]["generation"] == 1
    # A main update cannot change the status...
    main = dict(after_status, status={"conditions": []}, spec={"slotsPerWorker": 4})
    after_main = store.update("mpijobs", main)
    assert after_main["status"] == after_status["status"]
    assert after_main["spec"] == {"slotsPerWorker": 4}
    # ... and a status update cannot change the spec.
    sneaky = dict(after_main, spec={"slotsPerWorker": 9}, status={"conditions": []})
    after_sneaky = store.update("mpijobs", sneaky, subresource="status")
    assert after_sneaky["spec"] == {"slotsPerWorker": 4}
    assert after_sneaky["status"] == {"conditions": []}


def test_noop_update_keeps_resource_version(store: Store) -> None:
    created = store.create("configmaps", {"metadata": {"name": "c"}}, namespace="default")
    events: list[WatchEvent] = []
    store.subscribe(events.append)
    again = store.update("configmaps", created)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert events == []


def test_list_selectors(store: Store) -> None:
    for name, labels in [("a", {"app": "x", "tier": "1"}), ("b", {"app": "y"}), ("c", {})]:
        store.create("pods", {"metadata": {"name": name, "labels": labels}}, namespace="default")
    store.create("namespaces", {"metadata": {"name": "other"}})
    store.create("pods", {"metadata": {"name": "a", "labels": {"app": "x"}}}, namespace="other")

    def names(**kwargs: object) -> list[str]:
        items, _ = store.list("pods", **kwargs)  # type: ignore[arg-type]
        return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]

    assert names(namespace="default") == ["default/a", "default/b", "default/c"]
    assert names() == ["default/a", "default/b", "default/c", "other/a"]
    assert names(namespace="default", label_selector="app=x") == ["default/a"]
    assert names(namespace="default", label_selector="app!=x") == ["default/b", "default/c"]
    assert names(namespace="default", label_selector="app in (x, y)") == ["default/a", "default/b"]
    assert names(namespace="default", label_selector="app notin (x)") == ["default/b", "default/c"]
    assert names(namespace="default", label_selector="tier") == ["default/a"]
    assert names(namespace="default", label_selector="!app") == ["default/c"]
    assert names(field_selector="metadata.name=a") == ["default/a", "other/a"]
    assert names(field_selector="metadata.namespace=other") == ["other/a"]
    assert names(namespace="default", field_selector="metadata.name!=a") == [
        "default/b",
        "default/c",
    ]
    with pytest.raises(BadRequest):
        store.list("pods", label_selector="app in (x")
    with pytest.raises(BadRequest, match="field label not supported"):
        store.list("pods", field_selector="spec.nope=1")


def test_subscribe_replays_and_follows(store: Store) -> None:
    start = store.resource_version
    store.create("configmaps", {"metadata": {"name": "a"}}, namespace="default")
    events: list[WatchEvent] = []
    unsubscribe = store.subscribe(events.append, since=start)
    store.create("configmaps", {"metadata": {"name": "b"}}, namespace="default")
    store.delete("configmaps", "default", "a")
    unsubscribe()
    store.create("configmaps", {"metadata": {"name": "c"}}, namespace="default")
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [
        (EventType.ADDED, "a"),
        (EventType.ADDED, "b"),
        (EventType.DELETED, "a"),
    ]
    rvs = [e.resource_version for e in events]
    assert rvs == sorted(rvs)
    assert events[-1].object["metadata"]["resourceVersion"] == str(rvs[-1])


def test_watch_from_compacted_version_is_gone() -> None:
    store = Store(history=3)
    for i in range(6):
        store.create("configmaps", {"metadata": {"name": f"c{i}"}}, namespace="default")
    with pytest.raises(Gone) as info:
        store.subscribe(lambda e: None, since=1)
    assert info.value.to_status()["code"] == 410
    store.subscribe(lambda e: None, since=store.resource_version - 2)


def _family(store: Store) -> None:
    job = store.create("mpijobs", mpijob(), namespace="default")
    ref = {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "name": "job",
        "uid": job["metadata"]["uid"],
        "controller": True,
    }
    launcher = store.create(
        "jobs",
        {"metadata": {"name": "job-launcher", "ownerReferences": [ref]}},
        namespace="default",
    )
    pod_ref = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "job-launcher",
        "uid": launcher["metadata"]["uid"],
    }
    store.create(
        "pods",
        {"metadata": {"name": "job-launcher-abcde", "ownerReferences": [pod_ref]}},
        namespace="default",
    )
    store.create(
        "pods",
        {"metadata": {"name": "job-worker-0", "ownerReferences": [ref]}},
        namespace="default",
    )


@pytest.mark.parametrize(
    ("policy", "expected_order"),
    [
        ("Background", ["job", "job-launcher", "job-launcher-abcde", "job-worker-0"]),
        ("Foreground", ["job-launcher-abcde", "job-launcher", "job-worker-0", "job"]),
    ],
)
def test_cascading_delete(store: Store, policy: str, expected_order: list[str]) -> None:
    _family(store)
    events: list[WatchEvent] = []
    store.subscribe(events.append)
    store.delete("mpijobs", "default", "job", propagation_policy=policy)
    assert [e.object["metadata"]["name"] for e in events] == expected_order
    assert all(e.type is EventType.DELETED for e in events)
    assert store.list("pods", "default")[0] == []


def test_orphan_delete_strips_owner_references(store: Store) -> None:
    _family(store)
    store.delete("mpijobs", "default", "job", propagation_policy="Orphan")
    launcher = store.get("jobs", "default", "job-launcher")
    assert "ownerReferences" not in launcher["metadata"]
    # the launcher pod still belongs to the launcher job
    assert store.get("pods", "default", "job-launcher-abcde")["metadata"]["ownerReferences"]


def test_bad_propagation_policy(store: Store) -> None:
    _family(store)
    with pytest.raises(BadRequest):
        store.delete("mpijobs", "default", "job", propagation_policy="Sideways")


def test_namespace_delete_removes_contents(store: Store) -> None:
    store.create("namespaces", {"metadata": {"name": "team"}})
    store.create("configmaps", {"metadata": {"name": "c"}}, namespace="team")
    store.delete("namespaces", None, "team")
    assert store.list("configmaps", "team")[0] == []
    with pytest.raises(NotFound):
        store.get("namespaces", None, "team")


def test_logbook_follow() -> None:
    store = Store()
    logs = store.logs
    logs.append("default", "p", "c", "one")
    lines, closed = logs.read("default", "p", "c")
    assert [text for _, text in lines] == ["one"]
    assert not closed

    def writer() -> None:
        time.sleep(0.05)
        logs.append("default", "p", "c", "two")
        logs.close("default", "p", "c")

    thread = threading.Thread(target=writer)
    thread.start()
    logs.wait("default", "p", "c", seen=1, timeout=5)
    thread.join()
    lines, closed = logs.read("default", "p", "c")
    assert [text for _, text in lines] == ["one", "two"]
    assert closed
    logs.reset("default", "p", "c")
    previous, ended = logs.read("default", "p", "c", previous=True)
    assert [text for _, text in previous] == ["one", "two"]
    assert ended
    assert logs.read("default", "p", "c") == ([], False)
    with pytest.raises(BadRequest):
        logs.read("default", "q", "c", previous=True)


def test_concurrent_writers_keep_versions_unique() -> None:
    store = Store()
    seen: list[int] = []
    store.subscribe(lambda e: seen.append(e.resource_version))

    def work(prefix: str) -> None:
        for i in range(50):
            store.create("configmaps", {"metadata": {"name": f"{prefix}-{i}"}}, namespace="default")

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 200
    assert seen == sorted(seen)
    assert len(set(seen)) == 200


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"name": "ok", "labels": {"app": "has space"}}, "metadata.labels"),
        ({"name": "ok", "labels": {"app": "x" * 64}}, "metadata.labels"),
        ({"name": "ok", "labels": {"-bad": "x"}}, "metadata.labels"),
        ({"name": "ok", "labels": {"Bad_Prefix/key": "x"}}, "metadata.labels"),
        ({"name": "ok", "labels": {"app": 1}}, "metadata.labels"),
        ({"name": "ok", "annotations": {"big": "x" * (256 * 1024)}}, "metadata.annotations"),
        ({"name": "ok", "annotations": {"bad key": "x"}}, "metadata.annotations"),
        ({"name": "x" * 254}, "metadata.name"),
    ],
)
def test_metadata_validation(store: Store, metadata: dict, field: str) -> None:
    with pytest.raises(Invalid) as info:
        store.create("configmaps", {"metadata": metadata}, namespace="default")
    assert field in [c["field"] for c in info.value.causes]


@pytest.mark.parametrize(
    "labels",
    [
        {"app": ""},
        {"airflow-provider-mpi/run-id": "manual__2026-01-01T00.00.00"},
        {"training.kubeflow.org/job-role": "launcher"},
        {"a.b.c/x_y.z-1": "V-1_2.3"},
    ],
)
def test_valid_labels(store: Store, labels: dict[str, str]) -> None:
    created = store.create(
        "configmaps", {"metadata": {"name": "c", "labels": labels}}, namespace="default"
    )
    assert created["metadata"]["labels"] == labels


def test_update_validates_metadata(store: Store) -> None:
    created = store.create("configmaps", {"metadata": {"name": "c"}}, namespace="default")
    created["metadata"]["labels"] = {"bad": "no spaces allowed"}
    with pytest.raises(Invalid):
        store.update("configmaps", created)


def test_service_names_are_dns_labels(store: Store) -> None:
    with pytest.raises(Invalid):
        store.create("services", {"metadata": {"name": "a.b"}}, namespace="default")
    store.create("configmaps", {"metadata": {"name": "a.b"}}, namespace="default")


def test_label_index_follows_updates_and_deletes() -> None:
    import random

    rng = random.Random(3)
    store = Store()
    live: dict[str, dict[str, str]] = {}
    for step in range(300):
        name = f"c{rng.randrange(20)}"
        labels = {k: rng.choice(["a", "b"]) for k in ("x", "y") if rng.random() < 0.7}
        action = rng.random()
        if name not in live:
            store.create(
                "configmaps", {"metadata": {"name": name, "labels": labels}}, namespace="default"
            )
            live[name] = labels
        elif action < 0.3:
            store.delete("configmaps", "default", name)
            del live[name]
        else:
            obj = store.get("configmaps", "default", name)
            obj["metadata"]["labels"] = labels
            store.update("configmaps", obj)
            live[name] = labels
        for selector, wanted in (
            ("x=a", lambda lb: lb.get("x") == "a"),
            ("x in (a,b),y=b", lambda lb: "x" in lb and lb.get("y") == "b"),
            ("y!=a", lambda lb: lb.get("y") != "a"),
        ):
            items, _ = store.list("configmaps", "default", label_selector=selector)
            got = sorted(i["metadata"]["name"] for i in items)
            assert got == sorted(n for n, lb in live.items() if wanted(lb)), (step, selector)


def test_events_share_no_dict_a_later_change_alters(store: Store) -> None:
    """Events share the stored objects (no copy each): nothing may change them later."""
    events: list[WatchEvent] = []
    store.subscribe(events.append)
    created = store.create("mpijobs", mpijob(), namespace="default")
    created["spec"]["slotsPerWorker"] = 9  # the caller's copy is its own
    updated = store.get("mpijobs", "default", "job")
    updated["metadata"]["labels"] = {"a": "b"}
    store.update("mpijobs", updated)
    store.delete("mpijobs", "default", "job")
    kinds = [(e.type, e.object["metadata"]["resourceVersion"]) for e in events]
    assert [k for k, _ in kinds] == [EventType.ADDED, EventType.MODIFIED, EventType.DELETED]
    assert len({version for _, version in kinds}) == 3  # the delete did not rewrite the others
    assert events[0].object["spec"]["slotsPerWorker"] == 1
    assert "labels" not in events[0].object["metadata"]
    assert events[1].object["metadata"]["labels"] == {"a": "b"}
