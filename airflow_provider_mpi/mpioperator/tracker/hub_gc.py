"""What thousands of waiters cost a process: the hubs' garbage-collector policy, compact objects.

Thousands of waiters in one process are a few hundred thousand long-lived
objects (their coroutines, tasks, subscriptions, the hubs' objects), and
CPython's full collections walk every one of them with the event loop
stopped: at 5,000 waiters a full collection took 200-440 ms, landing in the
delay of every job ending meanwhile. :class:`HubGC` (one per process,
:data:`HUB_GC`, told of every join and leave by every hub) therefore moves
the heap out of the collector's view after a burst of subscriptions: once
``joins`` (1,000) subscriptions joined since its last freeze, at least as
many are subscribed now, and none joined for ``quiet`` seconds (or
``patience`` seconds passed, under steady churn), it calls ``gc.freeze()``,
which costs no pause (it moves the collector's lists, it walks nothing). It
calls ``gc.unfreeze()`` once the subscriptions dropped to half of what they
were at the freeze, so what died among the frozen objects goes back to the
collector. It stays out of a host process that manages the collector
itself: it never freezes when the collector is disabled or objects are
frozen already (by the host), and never unfreezes once the host froze more
after it. Frozen objects are still freed by reference counting; only
garbage cycles among them wait for the unfreeze (measured: 12 objects left
in cycles by 500 finished waits, none by 250 cancelled ones).
``AIRFLOW_PROVIDER_MPI_HUB_GC_FREEZE=0`` turns it off. Measured side by side
with it off and with the user's own freeze in ``bench/bench_scale.py`` and
``bench/bench_scale_real.py`` (docs/benchmarks.md).

:func:`compact` shares the keys and short strings of the objects a hub keeps.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from types import ModuleType
from typing import Any

__all__ = ["HUB_GC", "HUB_GC_ENV", "HubGC", "compact"]

log = logging.getLogger(__name__)

#: Strings up to this length are shared between the objects a hub keeps.
_SHARED_LENGTH = 32


def compact(value: Any) -> Any:
    """The same JSON value, its keys and short strings shared with every other object kept.

    A hub keeps an object per job of the namespace, decoded from separate
    watch events: each its own copy of ``"lastTransitionTime"``, ``"True"``,
    the condition types and reasons, the timestamps of a second. Interned,
    one copy serves them all; longer strings (UIDs, messages) are kept as
    they are.

    Args:
        value: a decoded JSON value.

    Returns:
        An equal value (new dicts and lists, interned strings).
    """
    if isinstance(value, dict):
        return {
            sys.intern(key) if type(key) is str else key: compact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [compact(item) for item in value]
    if type(value) is str and len(value) <= _SHARED_LENGTH:
        return sys.intern(value)
    return value


#: Set to ``0`` to keep the hubs from freezing the collector (see the module doc).
HUB_GC_ENV = "AIRFLOW_PROVIDER_MPI_HUB_GC_FREEZE"


class HubGC:
    """Freezes the collector after a burst of subscriptions, unfreezes as they leave.

    See the module doc. One per process (:data:`HUB_GC`); every hub of every
    event loop reports its joins and leaves to it.

    Args:
        joins: subscriptions joined since the last freeze that make a burst (and
            the fewest subscribed at once for a freeze).
        quiet: seconds without a join that end a burst.
        patience: the longest wait for a quiet moment once a burst is counted.
        collector: the ``gc`` module (a stand-in in tests).
    """

    def __init__(
        self,
        joins: int = 1000,
        quiet: float = 0.5,
        patience: float = 5.0,
        collector: ModuleType | Any = gc,
    ) -> None:
        self.joins = joins
        self.quiet = quiet
        self.patience = patience
        self._gc = collector
        self._joined = 0  # since the last freeze
        self._subscribed = 0  # now, over every hub
        self._last_join = 0.0
        self._burst_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._frozen_at: int | None = None  # subscriptions at our freeze, while frozen
        self._frozen_count = 0  # gc.get_freeze_count() after our freeze
        self.freezes = 0
        self.unfreezes = 0

    @property
    def frozen(self) -> bool:
        """Whether objects are frozen by this policy now."""
        return self._frozen_at is not None

    def enabled(self) -> bool:
        """Whether the policy is on (``AIRFLOW_PROVIDER_MPI_HUB_GC_FREEZE`` is not ``0``)."""
        return os.environ.get(HUB_GC_ENV, "1").strip().lower() not in ("0", "false", "no", "off")

    def joined(self) -> None:
        """A subscription joined a hub (call from the event loop)."""
        self._subscribed += 1
        self._joined += 1
        now = time.monotonic()
        self._last_join = now
        loop = asyncio.get_running_loop()
        if self._timer is not None and self._timer_loop is not loop:
            self._timer = None  # set on an event loop gone since: it will never fire
        burst = self._joined >= self.joins and self._subscribed >= self.joins
        if burst and self._timer is None and self.enabled():
            if self._burst_since is None:
                self._burst_since = now
            self._timer = loop.call_later(self.quiet, self._check)
            self._timer_loop = loop

    def left(self) -> None:
        """A subscription left a hub."""
        self._subscribed -= 1
        frozen_at = self._frozen_at
        if frozen_at is not None and self._subscribed <= frozen_at // 2:
            self._unfreeze()

    def _check(self) -> None:
        self._timer = None
        now = time.monotonic()
        since = self._burst_since if self._burst_since is not None else now
        if now - self._last_join < self.quiet and now - since < self.patience:
            self._timer = asyncio.get_running_loop().call_later(self.quiet, self._check)
            return
        self._burst_since = None
        self._freeze()

    def _freeze(self) -> None:
        if not self._gc.isenabled() or not self.enabled():
            return  # the host runs the collector its own way
        # Frozen objects that die leave the count, so it only ever grows past
        # what we froze when the host froze objects itself: then it is the host's.
        if self._gc.get_freeze_count() > (self._frozen_count if self.frozen else 0):
            return
        self._gc.freeze()
        self._frozen_count = self._gc.get_freeze_count()
        self._frozen_at = max(self._subscribed, self._frozen_at or 0)
        self._joined = 0
        self.freezes += 1
        log.debug("froze %d objects after a burst of subscriptions", self._frozen_count)

    def _unfreeze(self) -> None:
        if self._gc.get_freeze_count() <= self._frozen_count:
            self._gc.unfreeze()  # unless the host froze more after us: that stays
            self.unfreezes += 1
        self._frozen_at = None
        self._frozen_count = 0


#: The process's policy (see :class:`HubGC`).
HUB_GC = HubGC()
