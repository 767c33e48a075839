"""The driver that runs the emulated controllers.

Each controller is a step function (``reconcile() -> next wake time``). The
loop runs them all until the store stops changing ("settles"), then sleeps
until the store changes again or the earliest wake time comes. With a manual
clock, :meth:`ControllerLoop.advance` moves time from one wake time to the
next, settling at each, so a test sees every intermediate state at the exact
emulated time it would happen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from airflow_provider_mpi.testing.clock import Clock, ManualClock
from airflow_provider_mpi.testing.store import Store, WatchEvent

__all__ = ["ControllerLoop", "Reconciler", "SettleError"]

log = logging.getLogger(__name__)

#: Controller failures kept for inspection (the first ones matter).
_MAX_ERRORS = 100

#: Changes to these resources never need a controller to act.
_IGNORED = frozenset({"events"})


class Reconciler(Protocol):
    """A controller: one pass over the store, returning when it wants to run again."""

    def reconcile(self) -> datetime | None:
        """Run one pass.

        Returns:
            The emulated time of the next thing due, or ``None``.
        """
        ...


class SettleError(RuntimeError):
    """The controllers kept changing the store without end (a controller bug)."""


class ControllerLoop:
    """Runs controllers over a store, on store changes and timers.

    Args:
        store: The cluster state.
        clock: The emulated clock.
        controllers: The controllers, run in this order on every pass.
        max_passes: Passes allowed before settling is declared impossible.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        controllers: Sequence[Reconciler],
        *,
        max_passes: int = 200,
    ) -> None:
        self._store = store
        self._clock = clock
        self._controllers = list(controllers)
        self._max_passes = max_passes
        self._lock = threading.RLock()
        self._changed = threading.Event()
        self._stopping = threading.Event()
        self._changes = 0
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []
        self._unsubscribe: Callable[[], None] | None = store.subscribe(self._on_change)

    def _on_change(self, event: WatchEvent) -> None:
        if event.resource.plural in _IGNORED:
            return
        self._changes += 1
        self._changed.set()

    def wake(self) -> None:
        """Ask the loop thread to run a pass soon (thread-safe)."""
        self._changed.set()

    def settle(self) -> datetime | None:
        """Run passes until one changes nothing.

        Returns:
            The earliest wake time the controllers asked for, or ``None``.

        Raises:
            SettleError: When the store keeps changing after ``max_passes``.
        """
        with self._lock:
            for _ in range(self._max_passes):
                before = self._changes
                wakes = [w for c in self._controllers if (w := c.reconcile()) is not None]
                if self._changes == before:
                    return min(wakes, default=None)
            raise SettleError(f"controllers did not settle after {self._max_passes} passes")

    def advance(self, seconds: float) -> datetime:
        """Move a manual clock forward, running the controllers at every due time.

        Args:
            seconds: Emulated seconds to move on (>= 0).

        Returns:
            The new time.

        Raises:
            TypeError: When the clock is not a :class:`ManualClock`.
            ValueError: When ``seconds`` is negative.
        """
        if not isinstance(self._clock, ManualClock):
            raise TypeError(f"advance() needs a ManualClock, the cluster runs on {self._clock!r}")
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._lock:
            target = self._clock.now() + timedelta(seconds=seconds)
            while True:
                due = self.settle()
                if due is None or due > target:
                    break
                if due > self._clock.now():
                    self._clock.set(due)
            self._clock.set(target)
            self.settle()
            return target

    # ---------------------------------------------------------------- thread

    def start(self) -> None:
        """Start the loop thread (it settles once right away)."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name="mpi-emulator-controllers", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop thread, wait for it, and stop listening to the store."""
        self._stopping.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for controller in self._controllers:
            close = getattr(controller, "close", None)
            if callable(close):
                close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._changed.clear()
            timeout: float | None = None
            try:
                due = self.settle()
            except Exception as error:  # keep the cluster alive; tests read .errors
                log.exception("emulated controllers failed")
                if len(self.errors) < _MAX_ERRORS:
                    self.errors.append(error)
                due = self._clock.now() + timedelta(seconds=1)
            if due is not None:
                remaining = (due - self._clock.now()).total_seconds()
                timeout = self._clock.wall_seconds(max(remaining, 0.0))
            if timeout is None or timeout > 0:
                self._changed.wait(timeout)
