"""How many task creates an array submission keeps in flight: an AIMD window.

One create per task, many at once, but not so many that the API server's
priority and fairness (or a gateway) starts answering ``429 Too Many
Requests``. The window grows by one for every window's worth of successes
(additive increase) and halves on a throttle (multiplicative decrease); a
``Retry-After`` pauses every sender of the submission, not only the one that
was told. The arithmetic is pure (:class:`AimdWindow`); the two gates apply it
to threads and to coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

__all__ = ["INITIAL_WINDOW", "MAX_WINDOW", "AimdWindow", "AsyncSubmitGate", "SubmitGate"]

#: Creates in flight at the start of a submission.
INITIAL_WINDOW = 16
#: Never more creates in flight than this.
MAX_WINDOW = 64


@dataclass
class AimdWindow:
    """Additive-increase, multiplicative-decrease window (pure).

    Attributes:
        size: creates allowed in flight now.
        minimum: the window never shrinks below this.
        maximum: nor grows beyond this.
        paused_until: monotonic time before which nothing is sent (Retry-After).

    Example:
        >>> w = AimdWindow(8)
        >>> w.throttled(now=0.0, retry_after=None); w.size
        4
        >>> for _ in range(4): w.succeeded()
        >>> w.size
        5
    """

    size: int = INITIAL_WINDOW
    minimum: int = 1
    maximum: int = MAX_WINDOW
    paused_until: float = 0.0
    _credit: int = field(default=0, repr=False)

    def succeeded(self) -> None:
        """One create succeeded: grow by one per window's worth of successes."""
        self._credit += 1
        if self._credit >= self.size:
            self._credit = 0
            self.size = min(self.maximum, self.size + 1)

    def throttled(self, *, now: float, retry_after: float | None) -> None:
        """The server said 429 (or 503 with Retry-After): halve, and pause if asked."""
        self.size = max(self.minimum, self.size // 2)
        self._credit = 0
        if retry_after:
            self.paused_until = max(self.paused_until, now + retry_after)


class SubmitGate:
    """A thread gate over an :class:`AimdWindow`: ``with gate: create()``."""

    def __init__(self, window: AimdWindow | None = None) -> None:
        self.window = window or AimdWindow()
        self._cond = threading.Condition()
        self._in_flight = 0

    def __enter__(self) -> SubmitGate:
        with self._cond:
            while True:
                pause = self.window.paused_until - time.monotonic()
                if pause <= 0 and self._in_flight < self.window.size:
                    break
                self._cond.wait(pause if pause > 0 else None)
            self._in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()  # one slot freed: one sender may go

    def succeeded(self) -> None:
        """Count a success (the window may grow: one more sender may go)."""
        with self._cond:
            before = self.window.size
            self.window.succeeded()
            self._cond.notify(self.window.size - before)

    def throttled(self, retry_after: float | None) -> None:
        """Count a throttle (the window halves; a Retry-After pauses every sender)."""
        with self._cond:
            self.window.throttled(now=time.monotonic(), retry_after=retry_after)


class AsyncSubmitGate:
    """The asyncio twin of :class:`SubmitGate`: ``async with gate: await create()``."""

    def __init__(self, window: AimdWindow | None = None) -> None:
        self.window = window or AimdWindow()
        self._cond = asyncio.Condition()
        self._in_flight = 0

    async def __aenter__(self) -> AsyncSubmitGate:
        async with self._cond:
            while True:
                pause = self.window.paused_until - time.monotonic()
                if pause <= 0 and self._in_flight < self.window.size:
                    break
                if pause > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._cond.wait(), pause)
                else:
                    await self._cond.wait()
            self._in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._cond:
            self._in_flight -= 1
            self._cond.notify()  # one slot freed: one sender may go

    async def succeeded(self) -> None:
        """Count a success (the window may grow: one more sender may go)."""
        async with self._cond:
            before = self.window.size
            self.window.succeeded()
            self._cond.notify(self.window.size - before)

    def throttled(self, retry_after: float | None) -> None:
        """Count a throttle (the window halves; a Retry-After pauses every sender)."""
        self.window.throttled(now=time.monotonic(), retry_after=retry_after)
