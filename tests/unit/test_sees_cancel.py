"""SeesCancel: the trigger's wait without a task of its own, cancellations seen first."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import asyncio
import contextlib
from typing import Any, cast

import pytest

from airflow_provider_mpi.triggers._kill import KillOnUserAction, SeesCancel


class _Seen:
    """Stands for the trigger: records the cancellations it is shown."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def _on_cancel(self, cancel: asyncio.CancelledError) -> None:
        self.seen.append(cancel.args)


def _sees(coro: Any, seen: _Seen) -> SeesCancel[Any]:
    return SeesCancel(coro, cast(KillOnUserAction, seen))


async def test_a_result_and_an_error_pass_through() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def fail() -> None:
        await asyncio.sleep(0)
        raise KeyError("x")

    seen = _Seen()
    assert await _sees(answer(), seen) == 42
    with pytest.raises(KeyError):
        await _sees(fail(), seen)
    assert seen.seen == []


async def test_an_awaited_tasks_own_cancellation_is_not_the_callers() -> None:
    """A hub stopping its stream task awaits it cancelled: the waiter goes on."""

    async def stop_a_task() -> str:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        inner.cancel("inner")
        with contextlib.suppress(asyncio.CancelledError):
            await inner
        return "went on"

    seen = _Seen()
    assert await _sees(stop_a_task(), seen) == "went on"
    assert seen.seen == []


async def test_the_first_message_is_seen_though_a_second_cancel_lands_while_unwinding() -> None:
    unwinding = asyncio.Event()

    async def wait_with_a_slow_exit() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            unwinding.set()
            await asyncio.sleep(10)  # leaving a shared watch, closing a client

    seen = _Seen()
    task = asyncio.ensure_future(_sees(wait_with_a_slow_exit(), seen))
    await asyncio.sleep(0)
    task.cancel("user action")
    await unwinding.wait()
    task.cancel()  # a second cancel, without a message, replaces it in the coroutine
    with pytest.raises(asyncio.CancelledError) as raised:
        await task
    assert seen.seen == [("user action",), ()]
    assert raised.value.args == ("user action",)


async def test_a_cancelled_wait_ends_cancelled_even_if_the_coroutine_swallowed_it() -> None:
    async def swallow() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "swallowed"
        return "slept"

    seen = _Seen()
    task = asyncio.ensure_future(_sees(swallow(), seen))
    await asyncio.sleep(0)
    task.cancel("user action")
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen.seen == [("user action",)]
