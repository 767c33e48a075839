"""What the emulated API server counts: every request, by verb and resource, with latencies.

The server counts each request when it arrives, so a watch still streaming
is counted too, and records its outcome (status, latency, whether a fault
lost its answer) when it is answered, in :class:`RequestCounters`; tests assert on the
counts (a retry really sent one more create) and benchmarks print the
latency summaries. :class:`Verb` is the key, named as the audit log and RBAC
name the verbs; :mod:`.faults` re-exports all three for older imports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["RequestCounters", "RequestStats", "Verb"]


class Verb(str, Enum):
    """Kubernetes API verbs, as the audit log and RBAC name them."""

    GET = "get"
    LIST = "list"
    WATCH = "watch"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    DELETECOLLECTION = "deletecollection"


@dataclass
class RequestStats:
    """Counts and latencies of one (verb, resource) pair.

    Attributes:
        count: requests arrived (answered or not: an open watch counts).
        errors: requests answered with a status >= 400 (or reset).
        latencies: seconds from arrival to response (a watch: until its headers),
            one per request answered.
        lost: requests that took effect but whose answer was lost (also errors).
    """

    count: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0

    def percentile(self, fraction: float) -> float:
        """A latency percentile (nearest rank).

        Args:
            fraction: e.g. 0.95.

        Returns:
            Seconds (0.0 when nothing was recorded).
        """
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[rank]

    def as_dict(self) -> dict[str, float]:
        """Summarise as plain numbers (milliseconds for latencies).

        Returns:
            ``count``, ``errors``, ``lost``, ``mean_ms``, ``p50_ms``, ``p95_ms``, ``max_ms``.
        """
        mean = sum(self.latencies) / len(self.latencies) if self.latencies else 0.0
        return {
            "count": self.count,
            "errors": self.errors,
            "lost": self.lost,
            "mean_ms": mean * 1000,
            "p50_ms": self.percentile(0.5) * 1000,
            "p95_ms": self.percentile(0.95) * 1000,
            "max_ms": max(self.latencies, default=0.0) * 1000,
        }


class RequestCounters:
    """Every request the server received, by (verb, resource); thread-safe and resettable.

    A request is counted when it arrives (:meth:`arrived`) and its outcome is
    recorded when it is answered (:meth:`answered`); a watch is answered when
    its stream ends, so counting on arrival is what shows open watches. A
    request that arrived before a :meth:`reset` and is answered after it adds
    its outcome but not its count.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[Verb, str], RequestStats] = {}

    def _entry(self, verb: Verb, resource: str) -> RequestStats:
        stats = self._stats.get((verb, resource))
        if stats is None:
            stats = self._stats[(verb, resource)] = RequestStats()
        return stats

    def arrived(self, verb: Verb, resource: str) -> None:
        """Count one request as it arrives.

        Args:
            verb: its verb.
            resource: its resource (``""`` for discovery).
        """
        with self._lock:
            self._entry(verb, resource).count += 1

    def record(
        self, verb: Verb, resource: str, status: int, seconds: float, *, lost: bool = False
    ) -> None:
        """Count one request and its outcome at once: :meth:`arrived`, then :meth:`answered`.

        The arguments are :meth:`answered`'s.
        """
        self.arrived(verb, resource)
        self.answered(verb, resource, status, seconds, lost=lost)

    def answered(
        self, verb: Verb, resource: str, status: int, seconds: float, *, lost: bool = False
    ) -> None:
        """Record the outcome of a request counted on arrival.

        Args:
            verb: its verb.
            resource: its resource (``""`` for discovery).
            status: the HTTP status answered (0 for a reset connection).
            seconds: its latency.
            lost: it took effect but its answer was lost (:meth:`FaultInjector.lose_answers`).
        """
        with self._lock:
            stats = self._entry(verb, resource)
            if status >= 400 or status == 0:
                stats.errors += 1
            if lost:
                stats.lost += 1
            stats.latencies.append(seconds)

    def count(self, verb: Verb | str | None = None, resource: str | None = None) -> int:
        """How many requests matched.

        Args:
            verb: only this verb (None: all).
            resource: only this resource (None: all).

        Returns:
            The count.
        """
        wanted = Verb(verb) if verb is not None else None
        with self._lock:
            return sum(
                s.count
                for (v, r), s in self._stats.items()
                if (wanted is None or v is wanted) and (resource is None or r == resource)
            )

    @property
    def total(self) -> int:
        """All requests counted since the last reset."""
        return self.count()

    def snapshot(self) -> dict[tuple[Verb, str], RequestStats]:
        """Copies of the statistics.

        Returns:
            ``{(verb, resource): RequestStats}``.
        """
        with self._lock:
            return {
                key: RequestStats(s.count, s.errors, list(s.latencies), s.lost)
                for key, s in self._stats.items()
            }

    def as_dict(self) -> dict[str, dict[str, float]]:
        """The statistics as plain data, e.g. for a benchmark's JSON output.

        Returns:
            ``{"list mpijobs": {"count": 3, "errors": 0, "lost": 0, "mean_ms": ..., ...}}``.
        """
        return {
            f"{verb.value} {resource}".rstrip(): stats.as_dict()
            for (verb, resource), stats in sorted(self.snapshot().items())
        }

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self._stats.clear()
