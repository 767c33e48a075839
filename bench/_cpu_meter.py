"""CPU seconds of named processes, read from /proc, for the benchmarks' per-component figures.

A benchmark that shares 2 cores with the server it measures needs to know
which process spent what: :class:`CpuMeter` reads ``utime + stime`` of each
named process (``/proc/<pid>/stat``, all its threads) and of this process
(``time.process_time()``, the client with its threads) at the start and the
end of a measured phase. :meth:`CpuMeter.settle` waits after a phase until
the named processes are quiet again and returns what they spent meanwhile
(work a phase caused that went on after it: an operator reconciling the
jobs just created).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CLIENT", "CpuMeter", "cores", "process_cpu"]

#: The key of this process (the client under test) in a reading.
CLIENT = "client"
_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used so far; 0 once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def cores() -> int:
    """The cores this process may run on (every process of the benchmark shares them)."""
    return len(os.sched_getaffinity(0))


class CpuMeter:
    """Readings of the CPU seconds of named processes, and of this one under ``CLIENT``.

    Args:
        pids: process id by name (the processes whose CPU a reading holds).
    """

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)

    def read(self) -> dict[str, float]:
        """CPU seconds so far, by name, with this process under ``CLIENT``."""
        reading = {name: process_cpu(pid) for name, pid in self.pids.items()}
        reading[CLIENT] = time.process_time()
        return reading

    @staticmethod
    def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
        """CPU seconds between two readings, by name."""
        return {name: after[name] - before.get(name, 0.0) for name in after}

    def rate(self, names: tuple[str, ...], seconds: float) -> float:
        """The cores ``names`` use together, averaged over ``seconds`` from now."""
        first = sum(process_cpu(self.pids[n]) for n in names)
        time.sleep(seconds)
        return (sum(process_cpu(self.pids[n]) for n in names) - first) / seconds

    def settle(
        self,
        names: tuple[str, ...],
        *,
        below: float = 0.15,
        window: float = 1.0,
        limit: float = 30.0,
    ) -> tuple[float, float]:
        """Wait until ``names`` together use less than ``below`` cores over ``window`` seconds.

        Returns:
            The CPU seconds they spent from the call until the start of the first
            quiet window (the tail of the work a phase caused), and the seconds
            that took; gives up after ``limit``.
        """
        began = time.monotonic()
        first = sum(process_cpu(self.pids[n]) for n in names)
        while True:
            start = sum(process_cpu(self.pids[n]) for n in names)
            waited = time.monotonic() - began
            if self.rate(names, window) < below or waited > limit:
                return start - first, waited
