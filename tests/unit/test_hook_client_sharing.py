"""Triggers of one event loop share an API client per cluster access, counted by reference."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import asyncio
import contextlib
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import InvalidArgumentError
from airflow_provider_mpi.hooks._client_pool import shared_api_client, shared_clients
from airflow_provider_mpi.hooks.mpi_operator import AsyncMPIOperatorHook

KUBE_CONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "secret"}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "ctx",
}


class FakeClient:
    """Stands in for an ApiClient: records whether it was closed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    async def close(self) -> None:
        self.closed = True


class Builder:
    """A build function that counts its calls and can fail or stall."""

    def __init__(self, fail: bool = False, gate: asyncio.Event | None = None) -> None:
        self.calls = 0
        self.fail = fail
        self.gate = gate

    async def __call__(self) -> FakeClient:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise InvalidArgumentError("conn_id", "x", "cannot load")
        return FakeClient(f"client {self.calls}")


# --------------------------------------------------------------------------- the pool


async def test_one_client_per_key_closed_by_its_last_user() -> None:
    build = Builder()
    async with shared_api_client("a", build) as first, shared_api_client("a", build) as second:
        assert first is second
        async with shared_api_client("b", build) as other:
            assert other is not first
        assert other.closed
        assert not first.closed
        assert shared_clients() == 1
    assert first.closed
    assert (build.calls, shared_clients()) == (2, 0)
    async with shared_api_client("a", build) as again:  # the last user left: a new client
        assert again is not first
        assert not again.closed


async def test_concurrent_first_users_wait_for_one_build() -> None:
    gate = asyncio.Event()
    build = Builder(gate=gate)
    seen: list[FakeClient] = []
    release, all_in = asyncio.Event(), asyncio.Event()

    async def user() -> None:
        async with shared_api_client("k", build) as client:
            seen.append(client)
            if len(seen) == 5:
                all_in.set()
            await release.wait()

    users = [asyncio.ensure_future(user()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    await asyncio.wait_for(all_in.wait(), 5)
    release.set()
    await asyncio.gather(*users)
    assert build.calls == 1
    assert len({id(client) for client in seen}) == 1
    assert seen[0].closed


async def test_a_failed_build_reaches_every_waiter_and_is_not_kept() -> None:
    gate = asyncio.Event()
    build = Builder(fail=True, gate=gate)

    async def user() -> None:
        async with shared_api_client("k", build):
            pytest.fail("no client was built")

    users = [asyncio.ensure_future(user()) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*users, return_exceptions=True)
    assert all(isinstance(result, InvalidArgumentError) for result in results)
    assert build.calls == 1
    assert shared_clients() == 0
    build.fail = False
    async with shared_api_client("k", build) as client:
        assert client.name == "client 2"


async def test_users_cancelled_during_the_build_leave_nothing_behind() -> None:
    gate = asyncio.Event()
    build = Builder(gate=gate)

    async def user() -> None:
        async with shared_api_client("k", build):
            pass

    waiting = asyncio.ensure_future(user())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0)
    assert shared_clients() == 0
    gate.set()
    async with shared_api_client("k", build) as client:
        assert client.name == "client 2"


def test_event_loops_never_share_a_client() -> None:
    build = Builder()
    held: list[FakeClient] = []

    async def use() -> None:
        async with shared_api_client("k", build) as client:
            held.append(client)

    asyncio.run(use())
    asyncio.run(use())
    assert held[0] is not held[1]
    assert held[0].closed
    assert held[1].closed


# --------------------------------------------------------------------------- the hook


def _with_token(token: str) -> dict[str, Any]:
    config = copy.deepcopy(KUBE_CONFIG)
    config["users"][0]["user"]["token"] = token
    return config


async def _clients(*hooks: AsyncMPIOperatorHook) -> list[Any]:
    async with contextlib.AsyncExitStack() as stack:
        trackers = [await stack.enter_async_context(hook.get_tracker()) for hook in hooks]
        return [tracker.api_client for tracker in trackers]


async def test_hooks_with_the_same_access_share_a_client() -> None:
    first, second = await _clients(
        AsyncMPIOperatorHook(None, kube_config=KUBE_CONFIG, namespace="a"),
        AsyncMPIOperatorHook(None, kube_config=copy.deepcopy(KUBE_CONFIG), namespace="b"),
    )
    assert first is second
    assert first.rest_client.pool_manager.closed  # the last tracker closed it
    assert shared_clients() == 0


async def test_waiters_of_one_namespace_share_a_tracker_until_the_client_closes() -> None:
    """One tracker per client and namespace (a waiting trigger keeps no tracker of its own)."""
    hooks = [
        AsyncMPIOperatorHook(None, kube_config=copy.deepcopy(KUBE_CONFIG), namespace=namespace)
        for namespace in ("a", "a", "b")
    ]
    async with contextlib.AsyncExitStack() as stack:
        first, second, other = [await stack.enter_async_context(h.get_tracker()) for h in hooks]
        assert first is second
        assert other is not first
        assert (first.namespace, other.namespace) == ("a", "b")
        assert other.api_client is first.api_client
    async with hooks[0].get_tracker() as again:  # the client closed with its last user
        assert again is not first
        assert again.api_client is not first.api_client
    assert shared_clients() == 0


@pytest.mark.parametrize(
    "other",
    [
        AsyncMPIOperatorHook(None, kube_config=_with_token("other secret")),  # other credentials
        AsyncMPIOperatorHook("another_conn", kube_config=KUBE_CONFIG),  # another connection
        AsyncMPIOperatorHook(None, kube_config=KUBE_CONFIG, cluster_context="ctx"),  # a context
    ],
)
async def test_different_access_never_shares(other: AsyncMPIOperatorHook) -> None:
    first, second = await _clients(AsyncMPIOperatorHook(None, kube_config=KUBE_CONFIG), other)
    assert first is not second
    assert (first.configuration.api_key != second.configuration.api_key) == (
        other.overrides.kube_config != KUBE_CONFIG
    )


async def test_a_changed_kube_config_file_gets_a_new_client(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(json.dumps(KUBE_CONFIG))
    hook = AsyncMPIOperatorHook(None, config_file=str(path))
    async with hook.get_tracker() as first, hook.get_tracker() as second:
        assert first.api_client is second.api_client
        path.write_text(json.dumps(_with_token("rotated")))
        async with hook.get_tracker() as third:
            assert third.api_client is not first.api_client
            assert third.api_client.configuration.api_key == {"BearerToken": "Bearer rotated"}


async def test_an_unreadable_file_is_reported_by_the_loader() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        async with AsyncMPIOperatorHook(None, config_file="/does/not/exist").get_tracker():
            pass
    assert caught.value.field == "conn_id"
    assert shared_clients() == 0
