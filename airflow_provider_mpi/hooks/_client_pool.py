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
- concurrent first users wait for one build; a failed build is not kept;
- what is made once over a client (the hook's tracker per namespace,
  :meth:`SharedApiClient.shared`) is shared by its users and dropped with it;
  a waiting trigger keeps only a slotted :class:`SharedApiClient`.

The :class:`~airflow_provider_mpi.mpioperator.tracker.watch_hub.JobWatchHub` keeps
its stream on a client while any waiter on that same client still waits, and
moves it before the last one leaves, so a shared client is never closed
under the stream.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

__all__ = ["SharedApiClient", "shared_api_client", "shared_clients"]


class _Entry:
    """A client being built or in use, how many users hold it, and what they share over it."""

    __slots__ = ("build", "key", "shared", "users")

    def __init__(self, key: Hashable, build: asyncio.Task[Any]) -> None:
        self.key = key
        self.build = build
        self.users = 0
        #: Objects made once over the client (``SharedApiClient.shared``), dropped with it.
        self.shared: dict[Hashable, Any] = {}


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


class SharedApiClient:
    """A use of the event loop's client for a key, as an async context manager.

    A class rather than a generator-based context manager: a trigger holds
    one for as long as it waits, and its few slots cost less than a
    suspended generator's frame.
    """

    __slots__ = ("_build", "_entry", "_key", "_pool")

    def __init__(self, key: Hashable, build: Callable[[], Awaitable[Any]]) -> None:
        self._key: Hashable = key
        self._build: Callable[[], Awaitable[Any]] | None = build
        self._pool: dict[Hashable, _Entry] | None = None
        self._entry: _Entry | None = None

    async def __aenter__(self) -> Any:
        loop = asyncio.get_running_loop()
        pool = self._pool = _pool(loop)
        entry = pool.get(self._key)
        if entry is None and self._build is not None:
            entry = pool[self._key] = _Entry(self._key, loop.create_task(_make(self._build)))
            _forget_failed(pool, self._key, entry)
        if entry is None:
            raise RuntimeError("a SharedApiClient is entered once")
        # Neither the closure nor the key (the entry has it) is kept while the client is used.
        self._build = self._key = None
        entry.users += 1
        self._entry = entry
        try:
            # shield: a user cancelled while the client is built leaves the build to the others
            return await asyncio.shield(entry.build)
        except BaseException:
            await self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self._leave()

    def shared(self, key: Hashable, make: Callable[[Any], Any]) -> Any:
        """An object made once per client (e.g. a tracker), shared by its users.

        Args:
            key: tells the object apart among those made over this client.
            make: builds it from the client, on first use.

        Returns:
            The object; it lives as long as the client.
        """
        assert self._entry is not None, "entered first"
        shared = self._entry.shared
        if key not in shared:
            shared[key] = make(self._entry.build.result())
        return shared[key]

    async def _leave(self) -> None:
        entry, pool = self._entry, self._pool
        if entry is None or pool is None:
            return
        self._entry = None
        entry.users -= 1
        if entry.users:
            return
        if pool.get(entry.key) is entry:
            del pool[entry.key]
        entry.shared.clear()
        if not entry.build.done():
            entry.build.cancel()  # no user left: the client would have no owner
        elif not entry.build.cancelled() and entry.build.exception() is None:
            await entry.build.result().close()


async def _make(build: Callable[[], Awaitable[Any]]) -> Any:
    return await build()


def shared_api_client(key: Hashable, build: Callable[[], Awaitable[Any]]) -> SharedApiClient:
    """Use the event loop's client for ``key``, building it on first use.

    ``async with shared_api_client(key, build) as client:``; the client is
    closed when its last user leaves.

    Args:
        key: identifies everything the client's configuration comes from.
        build: makes a new client (called at most once per key while the
            client is in use); it must not await after creating the client.

    Returns:
        The use, an async context manager yielding the shared
        ``kubernetes_asyncio.client.ApiClient``; entering raises whatever
        ``build`` raised (every waiting user gets it).
    """
    return SharedApiClient(key, build)
