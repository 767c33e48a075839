"""The wait policy: which states end a wait, and how much time is left.

``wait(job_id, timeout, *states)`` is the same decision in the sync tracker,
the async tracker and the Airflow trigger; only the way events arrive
differs. The decision lives here, pure, so the three cannot drift apart:

- no states given means "until the job ends" (Done or Failed);
- a job that ended in a state that was not asked for can never reach one
  that was (an MPIJob does not restart once Succeeded or Failed), so the wait
  ends at once with ``InvalidStateError`` (the ``JobTracker`` contract)
  instead of sleeping until the timeout;
- ``timeout=None`` waits forever, ``timeout=0`` looks once, a negative or
  non-numeric timeout is an argument error.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import END_STATES, JobState

__all__ = [
    "END_STATES",
    "Deadline",
    "WaitOutcome",
    "wait_outcome",
    "wanted_states",
]

#: The longest server-side watch window; a longer wait reconnects (cheaply).
MAX_WATCH_SECONDS = 300


class WaitOutcome(enum.Enum):
    """What a state means for a wait."""

    #: The state is one of those waited for: the wait returns it.
    SATISFIED = "satisfied"
    #: Not yet: keep waiting.
    PENDING = "pending"
    #: The job ended elsewhere and can no longer reach a wanted state: the
    #: wait raises ``InvalidStateError``.
    UNREACHABLE = "unreachable"

    @property
    def ends_wait(self) -> bool:
        """True when the wait is over (satisfied or unreachable)."""
        return self is not WaitOutcome.PENDING


def wanted_states(states: Iterable[object]) -> frozenset[JobState]:
    """Read the states a wait should end on.

    Args:
        states: ``JobState`` members, their integers or names; empty means
            the end states.

    Returns:
        The set of states.

    Raises:
        InvalidArgumentError: an entry is not a state.
    """
    parsed = frozenset(JobState.parse(state) for state in states)
    return parsed or END_STATES


def wait_outcome(state: JobState, wanted: frozenset[JobState]) -> WaitOutcome:
    """Decide what a job's current state means for a wait.

    Args:
        state: the job's state now.
        wanted: the states waited for (see :func:`wanted_states`).

    Returns:
        The outcome.

    Example:
        >>> wait_outcome(JobState.RUNNING, END_STATES)
        <WaitOutcome.PENDING: 'pending'>
        >>> wait_outcome(JobState.FAILED, frozenset({JobState.RUNNING}))
        <WaitOutcome.UNREACHABLE: 'unreachable'>
    """
    if state in wanted:
        return WaitOutcome.SATISFIED
    if state.is_terminal:
        return WaitOutcome.UNREACHABLE
    return WaitOutcome.PENDING


@dataclass(frozen=True)
class Deadline:
    """The end of a wait on a monotonic clock.

    Attributes:
        timeout: the timeout in seconds, ``None`` for none.
        started: the monotonic clock reading when the wait began.
    """

    timeout: float | None
    started: float

    @classmethod
    def start(cls, timeout: object, now: float) -> Deadline:
        """Begin a wait.

        Args:
            timeout: seconds (``0`` checks once), ``None`` for forever.
            now: the monotonic clock reading.

        Returns:
            The deadline.

        Raises:
            InvalidArgumentError: the timeout is negative, not a number or NaN.
        """
        if timeout is None:
            return cls(None, now)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or math.isnan(timeout)
            or timeout < 0
        ):
            raise InvalidArgumentError(
                "timeout", timeout, "must be None (wait forever) or a number of seconds >= 0"
            )
        return cls(float(timeout), now)

    def within(self, seconds: float | None, now: float) -> Deadline:
        """This deadline, or an earlier one ``seconds`` from ``now`` if that comes first.

        Args:
            seconds: how long at most (None: this deadline as it is).
            now: the monotonic clock reading.

        Returns:
            ``self`` when ``seconds`` is None or reaches past it, else a shorter deadline.
        """
        if seconds is None:
            return self
        remaining = self.remaining(now)
        if remaining is not None and remaining <= seconds:
            return self
        return Deadline(max(0.0, seconds), now)

    def remaining(self, now: float) -> float | None:
        """Seconds left, never negative; ``None`` when there is no timeout."""
        if self.timeout is None or math.isinf(self.timeout):
            return None
        return max(0.0, self.started + self.timeout - now)

    def expired(self, now: float) -> bool:
        """True once the timeout has passed (``timeout=0`` is expired at once)."""
        remaining = self.remaining(now)
        return remaining is not None and remaining <= 0

    def watch_seconds(self, now: float, cap: int = MAX_WATCH_SECONDS) -> int:
        """The ``timeoutSeconds`` for the next watch request.

        The server closes the stream by then, so a wait never blocks in a
        read past its deadline by more than a second.

        Args:
            now: the monotonic clock reading.
            cap: the longest window asked of the server.

        Returns:
            Whole seconds, at least 1 and at most ``cap``.
        """
        remaining = self.remaining(now)
        if remaining is None:
            return cap
        return max(1, min(cap, math.ceil(remaining)))
