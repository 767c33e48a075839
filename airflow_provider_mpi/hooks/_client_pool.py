"""One shared ``kubernetes_asyncio`` API client per cluster access and event loop.

A triggerer runs hundreds of deferred tasks on one event loop. When each
trigger loaded its kube config (a YAML parse, certificates written to temp
files) and opened an ``ApiClient`` of its own (an aiohttp session, an SSL
context, a TLS connection and handshake on its first request), starting
1,000 triggers cost 14-19 s of CPU and every trigger's first read paid a
handshake. Triggers that reach the same cluster the same way now share one
client:

- the key is the caller's: it must tell apart every input the configuration
  is loaded from (the hook uses the connection ID, the configuration source,
  the context and a digest of the kube config's content), so different
  credentials never share a client;
- clients are kept per event loop (an aiohttp session belongs to the loop
  that made it); a closed loop's clients are never handed out again;
- a client is counted by reference and closed when its last user leaves, so
  nothing outlives the triggers that use it; the next user builds a new one;
- concurrent first users wait for one build; a failed build is not kept.

The :class:`~airflow_provider_mpi.mpioperator.tracker.watch_hub.JobWatchHub` keeps
its stream on a client while any waiter on that same client still waits, and
moves it before the last one leaves, so a shared client is never closed
under the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Any

__all__ = ["shared_api_client", "shared_clients"]


class _Entry:
    """A client being built or in use, and how many users hold it."""

    def __init__(self, build: asyncio.Task[Any]) -> None:
        self.build = build
        self.users = 0


_POOLS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, _Entry]]
_POOLS = weakref.WeakKeyDictionary()


def _pool(loop: asyncio.AbstractEventLoop) -> dict[Hashable, _Entry]:
    pool = _POOLS.get(loop)
    if pool is None:
        pool = _POOLS[loop] = {}
    return pool


def shared_clients() -> int:
    """How many clients the running event loop shares (built or being built).

    Returns:
        The number of distinct keys in use.
    """
    return len(_pool(asyncio.get_running_loop()))


def _forget_failed(pool: dict[Hashable, _Entry], key: Hashable, entry: _Entry) -> None:
    def done(task: asyncio.Task[Any]) -> None:
        if (task.cancelled() or task.exception() is not None) and pool.get(key) is entry:
            del pool[key]  # the next user builds again rather than inherit the failure

    entry.build.add_done_callback(done)


@contextlib.asynccontextmanager
async def shared_api_client(
    key: Hashable, build: Callable[[], Awaitable[Any]]
) -> AsyncIterator[Any]:
    """Use the event loop's client for ``key``, building it on first use.

    Args:
        key: identifies everything the client's configuration comes from.
        build: makes a new client (called at most once per key while the
            client is in use); it must not await after creating the client.

    Yields:
        The shared ``kubernetes_asyncio.client.ApiClient``.

    Raises:
        Exception: whatever ``build`` raised (every waiting user gets it).
    """
    loop = asyncio.get_running_loop()
    pool = _pool(loop)
    entry = pool.get(key)
    if entry is None:

        async def make() -> Any:
            return await build()

        entry = pool[key] = _Entry(loop.create_task(make()))
        _forget_failed(pool, key, entry)
    entry.users += 1
    try:
        # shield: a user cancelled while the client is built leaves the build to the others
        client = await asyncio.shield(entry.build)
        yield client
    finally:
        entry.users -= 1
        if entry.users == 0:
            if pool.get(key) is entry:
                del pool[key]
            if not entry.build.done():
                entry.build.cancel()  # no user left: the client would have no owner
            elif not entry.build.cancelled() and entry.build.exception() is None:
                await entry.build.result().close()
