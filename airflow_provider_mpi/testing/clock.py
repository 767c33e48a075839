"""Clocks for the emulated cluster.

The controllers never read the wall clock: they are handed a :class:`Clock`.
Tests choose how time passes: :class:`RealClock` follows the wall clock (faster
with ``speed > 1``), :class:`ManualClock` only moves when told to, so a test can
step a job through its life deterministically.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "RealClock"]


@runtime_checkable
class Clock(Protocol):
    """What the controllers need from time.

    ``now`` gives the emulated time; ``wall_seconds`` says how long a thread has
    to really wait for the emulated time to move on by ``seconds`` (``None``
    when it never moves on its own, as with a manual clock).
    """

    def now(self) -> datetime:
        """Return the current emulated time (timezone-aware, UTC)."""
        ...

    def wall_seconds(self, seconds: float) -> float | None:
        """Return the real seconds to wait for ``seconds`` of emulated time.

        Args:
            seconds: Emulated seconds.

        Returns:
            Real seconds, or ``None`` if emulated time only moves by hand.
        """
        ...


class RealClock:
    """Emulated time that follows the wall clock, optionally faster.

    Args:
        speed: Emulated seconds per real second; ``10.0`` makes a 10 s job end
            after one real second.

    Raises:
        ValueError: When ``speed`` is not positive.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self._origin = datetime.now(timezone.utc)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        """Return the emulated time."""
        elapsed = (time.monotonic() - self._mono) * self.speed
        return self._origin + timedelta(seconds=elapsed)

    def wall_seconds(self, seconds: float) -> float:
        """Return ``seconds / speed`` (never negative)."""
        return max(0.0, seconds / self.speed)

    def __repr__(self) -> str:
        return f"RealClock(speed={self.speed})"


class ManualClock:
    """Emulated time that moves only through :meth:`advance` or :meth:`set`.

    Args:
        start: The initial time (default: now, rounded down to the second so
            that timestamps written with second precision stay exact).

    Raises:
        ValueError: When ``start`` is naive.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is None:
            start = datetime.now(timezone.utc).replace(microsecond=0)
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got {start!r}")
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the emulated time."""
        with self._lock:
            return self._now

    def wall_seconds(self, seconds: float) -> None:
        """Return ``None``: a manual clock never moves on its own."""
        return None

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward.

        Args:
            seconds: How far, at least 0.

        Returns:
            The new time.

        Raises:
            ValueError: When ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        """Move the clock to ``when``; time never goes backwards.

        Args:
            when: The new time (timezone-aware).

        Raises:
            ValueError: When ``when`` is naive or earlier than the current time.
        """
        if when.tzinfo is None:
            raise ValueError(f"when must be timezone-aware, got {when!r}")
        with self._lock:
            if when < self._now:
                raise ValueError(
                    f"time cannot go backwards: {when.isoformat()} < {self._now.isoformat()}"
                )
            self._now = when.astimezone(timezone.utc)

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"
