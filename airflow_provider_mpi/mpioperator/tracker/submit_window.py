"""How many task creates an array submission keeps in flight: an AIMD window.

One create per task, many at once, but not so many that the API server's
priority and fairness (or a gateway) starts answering ``429 Too Many
Requests``. The window grows by one for every window's worth of successes
(additive increase) and halves on a throttle (multiplicative decrease); a
``Retry-After`` pauses every sender of the submission, not only the one that
was told. The arithmetic is pure (:class:`AimdWindow`: the window, the
creates in flight, what a create's outcome does to them); the two gates only
lock and wait, one for threads and one for coroutines.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

from airflow_provider_mpi.drmaa2.errors import TransientBackendError

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
        in_flight: creates admitted and not yet released.

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
    in_flight: int = 0
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

    def admit(self, now: float) -> bool:
        """Take a slot for one create, if the window has one and no pause holds.

        Args:
            now: the monotonic clock reading.

        Returns:
            True when the create may go (the slot is taken).
        """
        if self.paused_until > now or self.in_flight >= self.size:
            return False
        self.in_flight += 1
        return True

    def pause_left(self, now: float) -> float | None:
        """How long a sender not admitted waits at most: the pause left, or None (until told)."""
        pause = self.paused_until - now
        return pause if pause > 0 else None

    def release(self, error: BaseException | None, *, now: float) -> int:
        """Free a create's slot and count its outcome.

        A success counts towards growth. A throttle (a 429, or any transient
        error carrying ``Retry-After``, such as a restarting server's 503)
        halves the window and pauses for its ``Retry-After``; another failure
        leaves the window as it is.

        Args:
            error: what the create raised, None when it succeeded.
            now: the monotonic clock reading.

        Returns:
            How many waiting senders may try again: the slot freed, and any
            the window grew by.
        """
        before = self.size
        if error is None:
            self.succeeded()
        elif isinstance(error, TransientBackendError) and (
            error.status == 429 or error.retry_after
        ):
            self.throttled(now=now, retry_after=error.retry_after)
        self.in_flight -= 1
        return 1 + max(0, self.size - before)


class SubmitGate:
    """A thread gate over an :class:`AimdWindow`: ``with gate: create()``.

    Entering waits for a slot (and out a ``Retry-After`` pause); leaving
    counts the create's outcome (:meth:`AimdWindow.release`), so a success
    may let more senders go and a throttle holds them back.
    """

    def __init__(self, window: AimdWindow | None = None) -> None:
        self.window = window or AimdWindow()
        self._cond = threading.Condition()

    def __enter__(self) -> SubmitGate:
        with self._cond:
            while not self.window.admit(now := time.monotonic()):
                self._cond.wait(self.window.pause_left(now))
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        with self._cond:
            self._cond.notify(self.window.release(error, now=time.monotonic()))


class AsyncSubmitGate:
    """The asyncio twin of :class:`SubmitGate`: ``async with gate: await create()``."""

    def __init__(self, window: AimdWindow | None = None) -> None:
        self.window = window or AimdWindow()
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> AsyncSubmitGate:
        async with self._cond:
            while not self.window.admit(now := time.monotonic()):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._cond.wait(), self.window.pause_left(now))
        return self

    async def __aexit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        async with self._cond:
            self._cond.notify(self.window.release(error, now=time.monotonic()))
