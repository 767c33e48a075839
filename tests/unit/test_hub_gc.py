"""The hubs' garbage-collector policy (freeze after a burst of subscriptions) and compact objects.

A stand-in collector is passed in (``HubGC(collector=...)``), so the test
process's own collector is never frozen.
"""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_mpi.mpioperator.tracker.hub_gc import HUB_GC_ENV, HubGC, compact

QUIET = 0.01


class FakeCollector:
    """What HubGC uses of the ``gc`` module; freezing moves ``young`` objects to ``frozen``."""

    def __init__(self, *, enabled: bool = True, frozen: int = 0) -> None:
        self.enabled = enabled
        self.frozen = frozen
        self.young = 100
        self.freezes = 0
        self.unfreezes = 0

    def isenabled(self) -> bool:
        return self.enabled

    def get_freeze_count(self) -> int:
        return self.frozen

    def freeze(self) -> None:
        self.freezes += 1
        self.frozen += self.young

    def unfreeze(self) -> None:
        self.unfreezes += 1
        self.frozen = 0


async def _settled(policy: HubGC) -> None:
    """Until no freeze is pending (event-driven: the policy's timer ran)."""
    for _ in range(2000):
        await asyncio.sleep(QUIET)
        if policy._timer is None:
            return
    raise AssertionError("the policy's timer never settled")


def _policy(collector: FakeCollector, joins: int = 5) -> HubGC:
    return HubGC(joins=joins, quiet=QUIET, patience=10.0, collector=collector)


@pytest.fixture(autouse=True)
def _policy_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HUB_GC_ENV, raising=False)


async def test_freezes_once_after_a_burst_and_unfreezes_when_half_left() -> None:
    collector = FakeCollector()
    policy = _policy(collector)
    for _ in range(4):
        policy.joined()
    await _settled(policy)
    assert collector.freezes == 0  # 4 subscribed: not a burst yet
    for _ in range(6):
        policy.joined()
    await _settled(policy)
    assert (collector.freezes, policy.frozen) == (1, True)
    collector.frozen -= 30  # frozen objects that died (reference counting frees them)
    for _ in range(4):  # 10 -> 6: more than half remain
        policy.left()
    assert collector.unfreezes == 0
    policy.left()  # 5 = half of the 10 at the freeze
    assert (collector.unfreezes, policy.frozen, collector.frozen) == (1, False, 0)


async def test_many_joins_over_time_without_many_subscribed_never_freeze() -> None:
    collector = FakeCollector()
    policy = _policy(collector)
    for _ in range(50):  # one waiter after the other, as a quiet triggerer has them
        policy.joined()
        policy.left()
    await _settled(policy)
    assert collector.freezes == 0


async def test_a_host_that_froze_objects_itself_is_left_alone() -> None:
    collector = FakeCollector(frozen=1234)
    policy = _policy(collector)
    for _ in range(10):
        policy.joined()
    await _settled(policy)
    for _ in range(10):
        policy.left()
    assert (collector.freezes, collector.unfreezes, collector.frozen) == (0, 0, 1234)


async def test_what_the_host_froze_after_the_hub_stays_frozen() -> None:
    collector = FakeCollector()
    policy = _policy(collector)
    for _ in range(10):
        policy.joined()
    await _settled(policy)
    assert collector.freezes == 1
    collector.frozen += 500  # the host's own gc.freeze() meanwhile
    for _ in range(10):
        policy.left()
    assert (collector.unfreezes, collector.frozen, policy.frozen) == (0, 600, False)


async def test_a_disabled_collector_or_the_switch_turns_the_policy_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    disabled = FakeCollector(enabled=False)
    policy = _policy(disabled)
    for _ in range(10):
        policy.joined()
    await _settled(policy)
    assert disabled.freezes == 0

    monkeypatch.setenv(HUB_GC_ENV, "0")
    switched_off = FakeCollector()
    policy = _policy(switched_off)
    for _ in range(10):
        policy.joined()
    await _settled(policy)
    assert switched_off.freezes == 0
    assert not policy.enabled()


async def test_steady_churn_freezes_after_patience_and_again_after_more_joins() -> None:
    collector = FakeCollector()
    policy = HubGC(joins=5, quiet=0.05, patience=0.2, collector=collector)
    for _ in range(5):
        policy.joined()
    # joins keep coming more often than the quiet period: the patience bounds the wait
    while collector.freezes == 0:
        policy.joined()
        policy.left()
        await asyncio.sleep(0.01)
    assert policy.frozen
    first = collector.frozen
    for _ in range(5):  # another burst on top: frozen again, the policy's count follows
        policy.joined()
    await _settled(policy)
    assert collector.freezes == 2
    assert collector.frozen == first + 100
    for _ in range(10):
        policy.left()
    assert collector.unfreezes == 1
    assert collector.frozen == 0


def test_compact_keeps_the_value_and_shares_short_strings() -> None:
    import json

    text = (
        '{"status": {"conditions": [{"type": "Succeeded", "status": "True", '
        '"lastTransitionTime": "2026-12-06T05:33:11Z", "message": "' + "m" * 40 + '"}], '
        '"replicaStatuses": {"Launcher": {"succeeded": 1}}}, "spec": {"slotsPerWorker": 1}}'
    )
    first, second = compact(json.loads(text)), compact(json.loads(text))
    assert first == second == json.loads(text)
    a, b = first["status"]["conditions"][0], second["status"]["conditions"][0]
    assert a["status"] is b["status"]
    assert a["lastTransitionTime"] is b["lastTransitionTime"]
    assert next(iter(a)) is next(iter(b))  # the keys too
    assert a["message"] is not b["message"]  # long strings are left alone


def test_a_burst_counted_on_a_loop_gone_is_taken_up_on_the_next_one() -> None:
    collector = FakeCollector()
    policy = _policy(collector)

    async def burst() -> None:
        for _ in range(10):
            policy.joined()

    asyncio.run(burst())  # the loop closes with the freeze still pending
    assert collector.freezes == 0

    async def more() -> None:
        policy.joined()
        await _settled(policy)

    asyncio.run(more())
    assert collector.freezes == 1
