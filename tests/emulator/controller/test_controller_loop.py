"""The controller loop: settling, manual stepping, timers and wake-ups on a real clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_mpi.testing.clock import ManualClock, RealClock
from airflow_provider_mpi.testing.controller.loop import ControllerLoop, SettleError
from airflow_provider_mpi.testing.controller.workqueue import RETRY_AFTER, WorkQueue, owner_keys
from airflow_provider_mpi.testing.store import RESOURCES, Conflict, EventType, Store, WatchEvent

START = datetime(2030, 1, 1, tzinfo=timezone.utc)


class Ticker:
    """Writes a ConfigMap at each due time; records the times it ran."""

    def __init__(self, store: Store, now: object, every: float) -> None:
        self.store = store
        self.now = now
        self.every = every
        self.next: datetime | None = None
        self.ticks: list[datetime] = []
        self.ran = threading.Event()

    def reconcile(self) -> datetime | None:
        now = self.now()  # type: ignore[operator]
        self.ran.set()
        if self.next is None:
            self.next = now + timedelta(seconds=self.every)
        elif now >= self.next:
            self.ticks.append(now)
            name = f"tick-{len(self.ticks)}"
            self.store.create("configmaps", {"metadata": {"name": name, "namespace": "default"}})
            self.next = now + timedelta(seconds=self.every)
        return self.next


class Restless:
    """Changes the store on every pass: never settles."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.count = 0

    def reconcile(self) -> datetime | None:
        self.count += 1
        self.store.create(
            "configmaps", {"metadata": {"name": f"x{self.count}", "namespace": "default"}}
        )
        return None


def test_advance_visits_every_due_time_exactly() -> None:
    clock = ManualClock(START)
    store = Store(now=clock.now)
    ticker = Ticker(store, clock.now, every=3)
    loop = ControllerLoop(store, clock, [ticker])
    loop.advance(10)
    assert ticker.ticks == [START + timedelta(seconds=s) for s in (3, 6, 9)]
    assert clock.now() == START + timedelta(seconds=10)
    loop.stop()


def test_a_controller_that_never_settles_is_reported() -> None:
    clock = ManualClock(START)
    store = Store(now=clock.now)
    loop = ControllerLoop(store, clock, [Restless(store)], max_passes=5)
    with pytest.raises(SettleError, match="did not settle after 5 passes"):
        loop.settle()
    loop.stop()


def test_advance_rejects_a_real_clock_and_negative_steps() -> None:
    store = Store()
    loop = ControllerLoop(store, RealClock(), [])
    with pytest.raises(TypeError, match="ManualClock"):
        loop.advance(1)
    manual = ControllerLoop(store, ManualClock(START), [])
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        manual.advance(-1)


def test_the_thread_follows_timers_on_a_fast_real_clock() -> None:
    clock = RealClock(speed=100)
    store = Store(now=clock.now)
    ticker = Ticker(store, clock.now, every=5)  # every 50 ms of real time
    loop = ControllerLoop(store, clock, [ticker])
    loop.start()
    try:
        deadline = threading.Event()
        for _ in range(200):
            if len(ticker.ticks) >= 3:
                break
            deadline.wait(0.05)
        assert len(ticker.ticks) >= 3
    finally:
        loop.stop()
    assert loop.errors == []


def test_the_thread_wakes_on_store_changes() -> None:
    clock = ManualClock(START)
    store = Store(now=clock.now)
    ticker = Ticker(store, clock.now, every=1000)
    loop = ControllerLoop(store, clock, [ticker])
    loop.start()
    try:
        assert ticker.ran.wait(5)
        ticker.ran.clear()
        store.create("secrets", {"metadata": {"name": "s", "namespace": "default"}})
        assert ticker.ran.wait(5)
    finally:
        loop.stop()


def test_events_expire_an_hour_after_their_last_occurrence() -> None:
    from airflow_provider_mpi.testing.controller.events import (
        EventReaper,
        EventRecorder,
        EventSeverity,
    )

    clock = ManualClock(START)
    store = Store(now=clock.now)
    recorder = EventRecorder(store, clock.now, "test")
    pod = store.create("configmaps", {"metadata": {"name": "cm", "namespace": "default"}})
    recorder.record(pod, EventSeverity.NORMAL, "First", "one")
    loop = ControllerLoop(store, clock, [EventReaper(store, clock.now)])
    loop.advance(1800)
    recorder.record(pod, EventSeverity.NORMAL, "Second", "two")
    loop.advance(1800)
    assert [e["reason"] for e in store.list("events", "default")[0]] == ["Second"]
    loop.advance(1800)
    assert store.list("events", "default")[0] == []
    loop.stop()


def test_a_repeated_event_counts_up() -> None:
    from airflow_provider_mpi.testing.controller.events import EventRecorder, EventSeverity

    clock = ManualClock(START)
    store = Store(now=clock.now)
    recorder = EventRecorder(store, clock.now, "test")
    obj = store.create("configmaps", {"metadata": {"name": "cm", "namespace": "default"}})
    recorder.record(obj, EventSeverity.WARNING, "Again", "same")
    clock.advance(5)
    recorder.record(obj, EventSeverity.WARNING, "Again", "same")
    (event,) = store.list("events", "default")[0]
    assert event["count"] == 2
    assert event["firstTimestamp"] == "2030-01-01T00:00:00Z"
    assert event["lastTimestamp"] == "2030-01-01T00:00:05Z"
    assert event["involvedObject"]["kind"] == "ConfigMap"
    assert event["source"] == {"component": "test"}
    assert event["metadata"]["name"].startswith("cm.")


def test_work_queue_maps_changes_and_fires_timers() -> None:
    store = Store()
    queue = WorkQueue(
        store,
        lambda event: {event.key} if event.resource.plural == "configmaps" else set(),
    )
    assert queue.take(START) == (True, set())  # the first pass sees everything
    store.create("configmaps", {"metadata": {"name": "a", "namespace": "default"}})
    store.create("secrets", {"metadata": {"name": "s", "namespace": "default"}})
    assert queue.take(START) == (False, {("default", "a")})
    assert queue.take(START) == (False, set())
    queue.add_after(("default", "t"), START + timedelta(seconds=5))
    queue.add_after(("default", "t"), START + timedelta(seconds=9))  # the earliest wins
    assert queue.next_timer() == START + timedelta(seconds=5)
    assert queue.take(START + timedelta(seconds=4)) == (False, set())
    assert queue.take(START + timedelta(seconds=5)) == (False, {("default", "t")})
    assert queue.next_timer() is None
    queue.close()
    store.create("configmaps", {"metadata": {"name": "b", "namespace": "default"}})
    assert queue.take(START) == (False, set())


def _pod_event(labels: dict[str, str], refs: list[dict[str, str]]) -> WatchEvent:
    meta = {"name": "p", "namespace": "team", "labels": labels, "ownerReferences": refs}
    return WatchEvent(EventType.MODIFIED, RESOURCES["pods"], {"metadata": meta}, 7)


@pytest.mark.parametrize(
    ("labels", "refs", "group", "owners"),
    [
        ({}, [], None, set()),
        ({"owner-name": "by-label"}, [], None, {"by-label"}),
        ({}, [{"kind": "Job", "apiVersion": "batch/v1", "name": "by-ref"}], None, {"by-ref"}),
        ({}, [{"kind": "ReplicaSet", "apiVersion": "apps/v1", "name": "rs"}], None, set()),
        (
            {"owner-name": "a"},
            [{"kind": "Job", "apiVersion": "batch/v1", "name": "b"}],
            None,
            {"a", "b"},
        ),
        ({}, [{"kind": "Job", "apiVersion": "batch/v1", "name": "j"}], "batch", {"j"}),
        ({}, [{"kind": "Job", "apiVersion": "example.com/v1", "name": "j"}], "batch", set()),
        ({}, [{"kind": "Job", "apiVersion": "batchx/v1", "name": "j"}], "batch", set()),
    ],
)
def test_owner_keys_by_label_or_reference_in_the_objects_namespace(
    labels: dict[str, str], refs: list[dict[str, str]], group: str | None, owners: set[str]
) -> None:
    event = _pod_event(labels, refs)
    assert event.key == ("team", "p")
    keys = owner_keys(event, "Job", "owner-name", api_group=group)
    assert keys == {("team", name) for name in owners}


def test_a_cluster_scoped_objects_key_has_an_empty_namespace() -> None:
    event = WatchEvent(EventType.ADDED, RESOURCES["namespaces"], {"metadata": {"name": "n"}}, 1)
    assert (event.key, event.namespace) == (("", "n"), None)


def test_sync_each_syncs_in_order_keeps_wake_times_and_retries_refusals() -> None:
    store = Store()
    queue = WorkQueue(store, lambda event: set())
    synced: list[tuple[str, str]] = []

    def sync(key: tuple[str, str]) -> datetime | None:
        synced.append(key)
        if key[1] == "refused":
            raise Conflict("stale")
        if key[1] == "later":
            return START + timedelta(seconds=30)
        return None

    keys = {("ns", "later"), ("ns", "done"), ("ns", "refused")}
    assert queue.sync_each(START, keys, sync) == START + RETRY_AFTER
    assert synced == sorted(keys)
    assert queue.take(START + RETRY_AFTER) == (True, {("ns", "refused")})
    assert queue.take(START + timedelta(seconds=30)) == (False, {("ns", "later")})

    def broken(key: tuple[str, str]) -> datetime | None:
        raise ValueError("not a retry")

    with pytest.raises(ValueError, match="not a retry"):  # only the store's refusals retry
        queue.sync_each(START, {("ns", "x")}, broken)
    queue.close()
