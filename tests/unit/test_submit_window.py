"""The AIMD window of concurrent creates, and the gates that apply it."""

from __future__ import annotations

import asyncio
import threading
import time

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
        gate.succeeded()

    threads = [threading.Thread(target=send) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 3


def test_retry_after_pauses_every_sender() -> None:
    gate = SubmitGate(AimdWindow(4))
    gate.throttled(0.2)
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
        await gate.succeeded()

    await asyncio.gather(*(send() for _ in range(40)))
    assert gate.window.size == 4
    assert peak[0] <= 4
