"""Dependents whose owners are gone: the garbage collector's second half.

The store's cascade deletes the dependents an owner has when it is deleted.
A controller that read the owner just before the delete still creates
children naming its uid afterwards; the collector must delete those too, or a
new object of the same name meets them as somebody else's for good (a CI run
saw a recreated array task stay Queued for 60 s that way).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_mpi.testing.clock import ManualClock
from airflow_provider_mpi.testing.cluster import mpijob_crd
from airflow_provider_mpi.testing.controller.garbage import GarbageCollector, owner_resource
from airflow_provider_mpi.testing.controller.job import JobController
from airflow_provider_mpi.testing.controller.kubelet import Kubelet
from airflow_provider_mpi.testing.controller.loop import ControllerLoop
from airflow_provider_mpi.testing.controller.meta import owner_reference
from airflow_provider_mpi.testing.controller.mpijob import MPIJobController
from airflow_provider_mpi.testing.store import NotFound, Store, StoreError
from tests.emulator.controller.test_controller import mpijob

START = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
CHILDREN = (("services", "pi"), ("configmaps", "pi-config"), ("secrets", "pi-ssh"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(clock: ManualClock) -> Store:
    store = Store(now=clock.now)
    store.create("customresourcedefinitions", mpijob_crd())
    return store


@pytest.fixture
def collector(store: Store) -> Iterator[GarbageCollector]:
    collector = GarbageCollector(store)
    yield collector
    collector.close()


def config_map(name: str, *owners: dict[str, Any]) -> dict[str, Any]:
    refs = [owner_reference(owner, controller=False) for owner in owners]
    return {"metadata": {"name": name, "namespace": "default", "ownerReferences": refs}}


def exists(store: Store, plural: str, name: str) -> bool:
    try:
        store.get(plural, "default", name)
    except NotFound:
        return False
    return True


def naming(store: Store, uid: str) -> list[str]:
    """Every object in ``default`` with an ownerReference to ``uid``."""
    found = []
    for plural in ("pods", "services", "configmaps", "secrets", "jobs", "mpijobs"):
        for obj in store.list(plural, "default")[0]:
            if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or []):
                found.append(f"{plural}/{obj['metadata']['name']}")
    return found


def test_a_dependent_created_after_its_owner_was_deleted_is_collected(
    store: Store, collector: GarbageCollector
) -> None:
    owner = store.create("configmaps", config_map("owner"))
    store.delete("configmaps", "default", "owner")
    store.create("configmaps", config_map("late", owner))
    store.create("configmaps", config_map("grandchild", store.get("configmaps", "default", "late")))
    collector.reconcile()
    assert not exists(store, "configmaps", "late")
    assert not exists(store, "configmaps", "grandchild")  # the cascade goes on (Background)


def test_an_owner_recreated_under_the_same_name_does_not_adopt_the_old_dependents(
    store: Store, collector: GarbageCollector
) -> None:
    old = store.create("configmaps", config_map("owner"))
    store.delete("configmaps", "default", "owner")
    store.create("configmaps", config_map("late", old))
    new = store.create("configmaps", config_map("owner"))
    store.create("configmaps", config_map("mine", new))
    collector.reconcile()
    assert not exists(store, "configmaps", "late")  # the name is there, the uid is not
    assert exists(store, "configmaps", "mine")


def test_only_the_dangling_references_go_when_another_owner_lives(
    store: Store, collector: GarbageCollector
) -> None:
    gone = store.create("configmaps", config_map("gone"))
    alive = store.create("configmaps", config_map("alive"))
    store.delete("configmaps", "default", "gone")
    store.create("configmaps", config_map("shared", gone, alive))
    collector.reconcile()
    refs = store.get("configmaps", "default", "shared")["metadata"]["ownerReferences"]
    assert [r["uid"] for r in refs] == [alive["metadata"]["uid"]]


def test_live_owners_and_kinds_the_emulator_does_not_serve_are_left_alone(
    store: Store, collector: GarbageCollector
) -> None:
    alive = store.create("configmaps", config_map("alive"))
    store.create("configmaps", config_map("child", alive))
    foreign = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u-1"}
    store.create(
        "configmaps",
        {"metadata": {"name": "foreign", "namespace": "default", "ownerReferences": [foreign]}},
    )
    collector.reconcile()
    assert exists(store, "configmaps", "child")
    assert exists(store, "configmaps", "foreign")
    assert owner_resource(foreign) is None
    assert owner_resource({"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob"}) is not None


def test_a_dependent_checked_once_is_not_looked_up_again_until_its_owners_change(
    store: Store, collector: GarbageCollector
) -> None:
    alive = store.create("configmaps", config_map("alive"))
    child = store.create("configmaps", config_map("child", alive))
    collector.reconcile()
    reads: list[str] = []
    original_get = store.get

    def counting_get(plural: str, namespace: str | None, name: str) -> dict[str, Any]:
        reads.append(name)
        return original_get(plural, namespace, name)

    store.get = counting_get  # type: ignore[method-assign]
    child["data"] = {"k": "v"}
    store.update("configmaps", child)  # a change that keeps the owners: nothing to look up
    collector.reconcile()
    assert reads == []


@pytest.fixture
def operator_loop(
    store: Store, clock: ManualClock
) -> Iterator[tuple[ControllerLoop, MPIJobController]]:
    """The emulator's controllers on a manual clock, run only by ``advance`` (no thread)."""
    operator = MPIJobController(store, clock.now)
    controllers = [
        GarbageCollector(store),
        operator,
        JobController(store, clock.now),
        Kubelet(store, clock.now),
    ]
    loop = ControllerLoop(store, clock, controllers)
    yield loop, operator
    loop.stop()


def test_children_of_a_sync_that_read_the_job_before_its_delete_never_block_its_successor(
    store: Store, operator_loop: tuple[ControllerLoop, MPIJobController]
) -> None:
    loop, operator = operator_loop
    read = store.create("mpijobs", mpijob(run_policy={"suspend": True}))
    store.delete("mpijobs", "default", "pi")  # lands while the operator syncs its copy
    with contextlib.suppress(StoreError):  # its last write, the status, finds no job
        operator.sync(read)
    old_uid = read["metadata"]["uid"]
    assert all(exists(store, plural, name) for plural, name in CHILDREN)  # made after the delete
    assert naming(store, old_uid)

    store.create("mpijobs", mpijob(script={"duration": "5"}))  # a new job of the same name
    loop.advance(0)
    assert naming(store, old_uid) == []
    loop.advance(30)
    conditions = store.get("mpijobs", "default", "pi")["status"]["conditions"]
    assert conditions[-1]["type"] == "Succeeded"
    assert conditions[-1]["status"] == "True"
    events, _ = store.list("events", "default")
    assert not [e for e in events if e["reason"] == "ErrResourceExists"]
