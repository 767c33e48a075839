"""The AIMD window of concurrent creates, and the gates that apply it."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from airflow_provider_mpi.drmaa2.errors import BackendError, TransientBackendError
from airflow_provider_mpi.mpioperator.tracker.submit_window import (
    AimdWindow,
    AsyncSubmitGate,
    SubmitGate,
)


def test_additive_increase_multiplicative_decrease() -> None:
    window = AimdWindow(4, maximum=6)
    for _ in range(4):
        window.succeeded()
    assert window.size == 5
    for _ in range(100):
        window.succeeded()
    assert window.size == 6  # capped
    window.throttled(now=10.0, retry_after=None)
    assert window.size == 3
    assert window.paused_until == 0.0
    window.throttled(now=10.0, retry_after=2.0)
    assert window.size == 1
    assert window.paused_until == 12.0
    window.throttled(now=11.0, retry_after=0.5)  # a shorter pause never shortens the longer
    assert (window.size, window.paused_until) == (1, 12.0)


@pytest.mark.parametrize(
    ("outcome", "size", "paused_until"),
    [
        (None, 4, 0.0),  # counts towards growth (one more every window's worth)
        (TransientBackendError(429, "slow down"), 2, 0.0),
        (TransientBackendError(503, "restarting", retry_after=3.0), 2, 13.0),
        (TransientBackendError(503, "unavailable"), 4, 0.0),  # not a throttle
        (BackendError(500, "broken"), 4, 0.0),
    ],
)
def test_a_release_counts_the_outcome(
    outcome: BaseException | None, size: int, paused_until: float
) -> None:
    window = AimdWindow(4)
    assert window.admit(now=10.0)
    assert window.in_flight == 1
    assert window.release(outcome, now=10.0) == 1  # the slot freed; nothing grew
    assert (window.size, window.paused_until, window.in_flight) == (size, paused_until, 0)


def test_admission_holds_while_full_or_paused_and_growth_lets_more_go() -> None:
    window = AimdWindow(2, maximum=3)
    assert window.admit(now=0.0)
    assert window.admit(now=0.0)
    assert not window.admit(now=0.0)
    assert window.pause_left(now=0.0) is None  # full: wait until a slot frees
    assert window.release(None, now=0.0) == 1
    assert window.release(None, now=0.0) == 2  # the window grew to 3: one more may go
    window.throttled(now=0.0, retry_after=1.5)
    assert not window.admit(now=1.0)
    assert window.pause_left(now=1.0) == 0.5
    assert window.admit(now=1.5)


def test_thread_gate_never_exceeds_the_window() -> None:
    gate = SubmitGate(AimdWindow(3, maximum=3))
    peak, now = [0], [0]
    lock = threading.Lock()

    def send() -> None:
        with gate:
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.005)
            with lock:
                now[0] -= 1

    threads = [threading.Thread(target=send) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 3


def test_retry_after_pauses_every_sender() -> None:
    gate = SubmitGate(AimdWindow(4))
    with pytest.raises(TransientBackendError), gate:
        raise TransientBackendError(503, "restarting", retry_after=0.2)
    assert gate.window.size == 2
    started = time.monotonic()
    with gate:
        pass
    assert time.monotonic() - started >= 0.15


async def test_async_gate_never_exceeds_the_window_and_grows() -> None:
    gate = AsyncSubmitGate(AimdWindow(2, maximum=4))
    peak, now = [0], [0]

    async def send() -> None:
        async with gate:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
            await asyncio.sleep(0.002)
            now[0] -= 1

    await asyncio.gather(*(send() for _ in range(40)))
    assert gate.window.size == 4
    assert peak[0] <= 4
