"""When and how long to wait before retrying a failed Kubernetes request.

An API server under load answers 429 with ``Retry-After``, a restarting one
503, a load balancer resets connections. Such failures pass; a 403 or a 422
does not. :class:`RetryPolicy` is the one place that decides: it is pure (no
clock, no sleeping, the random source is passed in) so it is tested as a
table. :class:`Attempts` applies it (the one retry loop), and
:func:`call_with_retry` / :func:`acall_with_retry` are that loop for a call
and a coroutine, differing only in how they sleep.

Only calls that may be repeated without harm are retried: reads, watches,
merge patches, deletes. A create is retried only because the tracker names
objects on the client side, so a repeat meets ``409 AlreadyExists`` rather
than making a second job (see ``tracker.py``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from airflow_provider_mpi.drmaa2.errors import (
    DRMAA2Error,
    InvalidArgumentError,
    TransientBackendError,
)

__all__ = ["Attempts", "RetryPolicy", "RetryState", "acall_with_retry", "call_with_retry"]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential back-off with jitter, honouring ``Retry-After``.

    The n-th retry waits ``initial_delay * multiplier**(n-1)``, capped at
    ``max_delay`` and shortened by up to ``jitter`` (a fraction) at random so
    many clients do not retry in step. A ``Retry-After`` from the server
    replaces the computed delay; one longer than ``max_retry_after`` ends the
    retries (the server asked for more patience than the caller has). No
    retry starts when it would end after ``total_timeout`` seconds from the
    first attempt.

    Attributes:
        max_attempts: attempts in all, the first included (1 = never retry).
        initial_delay: seconds before the first retry.
        max_delay: cap of one computed delay.
        multiplier: growth of the delay per retry.
        jitter: fraction (0..1) by which a computed delay may be shortened.
        max_retry_after: the longest ``Retry-After`` honoured, in seconds.
        total_timeout: cap on the time from the first attempt to the start of
            the last retry, in seconds; ``None`` for no cap.

    Example:
        >>> policy = RetryPolicy(max_attempts=3, initial_delay=0.5, jitter=0.0)
        >>> policy.backoff(1, random.Random(0)), policy.backoff(2, random.Random(0))
        (0.5, 1.0)
    """

    max_attempts: int = 12
    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    total_timeout: float | None = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidArgumentError("max_attempts", self.max_attempts, "must be an int >= 1")
        for name in ("initial_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise InvalidArgumentError(name, value, "must be a number >= 0")
        if not isinstance(self.multiplier, (int, float)) or self.multiplier < 1:
            raise InvalidArgumentError("multiplier", self.multiplier, "must be a number >= 1")
        if not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter <= 1:
            raise InvalidArgumentError("jitter", self.jitter, "must be between 0 and 1")
        if self.total_timeout is not None and (
            not isinstance(self.total_timeout, (int, float)) or self.total_timeout < 0
        ):
            raise InvalidArgumentError(
                "total_timeout", self.total_timeout, "must be None or a number >= 0"
            )

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(max_attempts=1)

    def is_retryable(self, error: BaseException) -> bool:
        """Whether an error may pass on a repeat of the same request.

        Args:
            error: a translated error.

        Returns:
            True for :class:`TransientBackendError` (429, 5xx gateway and
            availability errors, resets, timeouts).
        """
        return isinstance(error, TransientBackendError)

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The computed delay before a retry, jitter applied.

        Args:
            retry: 1 for the first retry, 2 for the second, ...
            rng: the random source for the jitter.

        Returns:
            Seconds to wait.
        """
        base = min(self.max_delay, self.initial_delay * self.multiplier ** max(0, retry - 1))
        return base * (1.0 - self.jitter * rng.random())

    def delay_before_retry(
        self, error: BaseException, retry: int, elapsed: float, rng: random.Random
    ) -> float | None:
        """Decide whether to retry after a failure, and after how long.

        Args:
            error: the translated error of the failed attempt.
            retry: the number of the retry being considered (1 after the
                first attempt failed).
            elapsed: seconds since the first attempt started.
            rng: the random source for the jitter.

        Returns:
            The seconds to wait before retrying, or ``None`` to give up and
            raise the error.
        """
        if not self.is_retryable(error) or retry >= self.max_attempts:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            delay = float(retry_after)
        else:
            delay = self.backoff(retry, rng)
        if self.total_timeout is not None and elapsed + delay > self.total_timeout:
            return None
        return delay

    def start(self, now: float, rng: random.Random | None = None) -> RetryState:
        """Begin a sequence of attempts of one operation.

        Args:
            now: the monotonic clock reading when the first attempt starts.
            rng: the random source (a fresh ``random.Random`` when omitted).

        Returns:
            The state to feed failures to.
        """
        return RetryState(self, now, rng or random.Random())


@dataclass
class RetryState:
    """The attempts of one operation so far (see :meth:`RetryPolicy.start`)."""

    policy: RetryPolicy
    started: float
    rng: random.Random = field(default_factory=random.Random)
    retries: int = 0
    expiries: int = 0

    def next_delay(self, error: BaseException, now: float) -> float | None:
        """Record a failure and decide on the next attempt.

        Args:
            error: the translated error of the attempt that failed.
            now: the monotonic clock reading.

        Returns:
            Seconds to wait before the next attempt, or ``None`` to give up.
        """
        delay = self.policy.delay_before_retry(
            error, self.retries + 1, now - self.started, self.rng
        )
        if delay is not None:
            self.retries += 1
        return delay

    def after_expiry(self) -> float:
        """Record a ``410 Gone`` of a watch and return the pause before listing again.

        A 410 is never a reason to give up: the list that follows is the
        cure, and a wait that stopped on it would report a stale state. So an
        expiry does not use up the attempts; repeated ones only back off (the
        same growth and cap as :meth:`RetryPolicy.backoff`).

        Returns:
            Seconds to wait before the list.
        """
        self.expiries += 1
        return self.policy.backoff(self.expiries, self.rng)

    def reset(self, now: float) -> None:
        """Start counting afresh after a success (long-lived watches use it).

        Args:
            now: the monotonic clock reading.
        """
        self.started = now
        self.retries = 0
        self.expiries = 0


class Attempts:
    """The attempts of one operation: every retry loop is this one, written once.

    Each attempt runs in ``with attempts:``. A :class:`DRMAA2Error` raised
    in it is caught when the policy allows another attempt (the pause before
    it is then :attr:`pause`, and logged) and raised on, as it was, when the
    policy gives up; any other exception passes through. So a loop over a
    plain call, a coroutine or a step (:func:`~..tracker.run.retrying`)
    differs only in how it waits::

        attempts = Attempts(policy, what="read MPIJob a/b")
        while True:
            with attempts:
                return fn()
            sleep(attempts.pause)

    Args:
        policy: when to retry.
        what: a short description for the log.
        clock: a monotonic clock (injected in tests).

    Attributes:
        pause: seconds to wait before the next attempt (set when one failed).
    """

    def __init__(
        self, policy: RetryPolicy, *, what: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._state = policy.start(clock())
        self._clock = clock
        self._what = what
        self.pause = 0.0

    def __enter__(self) -> Attempts:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> bool:
        """Catch a retryable failure (True: the loop goes on after :attr:`pause`)."""
        if not isinstance(error, DRMAA2Error):
            return False
        delay = self._state.next_delay(error, self._clock())
        if delay is None:
            return False
        log.warning(
            "%s failed (%s); retry %d in %.2fs", self._what, error, self._state.retries, delay
        )
        self.pause = delay
        return True


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str = "Kubernetes request",
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``fn`` until it succeeds or the policy gives up (see :class:`Attempts`).

    Args:
        fn: the call; it must raise translated errors (:class:`DRMAA2Error`).
        policy: when to retry.
        what: a short description for the log.
        sleep: how to wait (injected in tests).
        clock: a monotonic clock.

    Returns:
        What ``fn`` returned.

    Raises:
        DRMAA2Error: the last error, when not retryable or out of retries.
    """
    attempts = Attempts(policy, what=what, clock=clock)
    while True:
        with attempts:
            return fn()
        sleep(attempts.pause)


async def acall_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    what: str = "Kubernetes request",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """The coroutine twin of :func:`call_with_retry`: ``fn()`` and ``sleep`` are awaited."""
    attempts = Attempts(policy, what=what, clock=clock)
    while True:
        with attempts:
            return await fn()
        await sleep(attempts.pause)
