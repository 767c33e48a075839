"""What a fault is and what it makes the server do: the data the injector draws from.

:class:`Fault` is one active fault (kind, filters, rate, remaining ``times``);
:class:`RequestInfo` is what the server knows of a request when it asks;
:class:`FaultDecision` is the combined answer for one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from airflow_provider_mpi.testing.faults.counters import Verb

__all__ = ["NO_FAULT", "Fault", "FaultDecision", "FaultKind", "RequestInfo"]


class FaultKind(str, Enum):
    """What a fault does to a matching request."""

    ERROR = "error"
    LATENCY = "latency"
    RESET = "reset"
    DROP_WATCH = "drop-watch"
    EXPIRE_WATCH = "expire-watch"
    FORBID = "forbid"
    LOST_ANSWER = "lost-answer"


@dataclass(frozen=True)
class RequestInfo:
    """What the server knows of a request when it consults the faults.

    Attributes:
        verb: the API verb.
        resource: the plural, ``plural/subresource`` (``pods/log``), or ``""``
            for discovery and other non-resource paths.
        namespace: the namespace in the path, if any.
        name: the object name in the path, if any.
        resource_version: the ``resourceVersion`` query parameter, if any.
    """

    verb: Verb
    resource: str
    namespace: str | None = None
    name: str | None = None
    resource_version: str | None = None


@dataclass
class Fault:
    """One injected fault; returned by the :class:`FaultInjector` helpers.

    Attributes:
        kind: what it does.
        status: the HTTP status of an ``ERROR`` (500, 503, 429...) or of a
            ``LOST_ANSWER`` that is not a reset.
        rate: probability that a matching request is hit (0..1).
        times: how many more requests it may hit (None: no limit).
        verbs: verbs it applies to (None: all).
        resources: resources it applies to; ``pods`` also covers ``pods/log``.
        namespaces: namespaces it applies to (None: all).
        seconds: added latency, or the lifetime of a watch before it is dropped.
        after_events: events a watch delivers before it is dropped.
        retry_after: the ``Retry-After`` header (seconds) of an error.
        abort: a dropped watch is reset (RST) instead of ended cleanly; a lost
            answer is a reset instead of the ``status`` error.
        skip: let this many matching requests through untouched first (so a
            fault can start with the second create of a submission).
        hits: how many requests it hit so far.
    """

    kind: FaultKind
    status: int = 500
    rate: float = 1.0
    times: int | None = None
    verbs: frozenset[Verb] | None = None
    resources: frozenset[str] | None = None
    namespaces: frozenset[str] | None = None
    seconds: float = 0.0
    after_events: int | None = None
    retry_after: int | None = None
    abort: bool = False
    skip: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {self.rate!r}")
        if self.times is not None and self.times < 0:
            raise ValueError(f"times must be >= 0, got {self.times!r}")
        if self.seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {self.seconds!r}")
        if self.skip < 0:
            raise ValueError(f"skip must be >= 0, got {self.skip!r}")

    def matches(self, info: RequestInfo) -> bool:
        """Tell whether the fault applies to a request (before the rate is drawn).

        Args:
            info: the request.

        Returns:
            True when verb, resource and namespace match and hits remain.
        """
        if self.times is not None and self.times <= 0:
            return False
        if self.verbs is not None and info.verb not in self.verbs:
            return False
        if self.resources is not None and not any(
            info.resource == r or info.resource.startswith(r + "/") for r in self.resources
        ):
            return False
        if self.namespaces is not None and info.namespace not in self.namespaces:
            return False
        if self.kind is FaultKind.LOST_ANSWER and info.verb is Verb.WATCH:
            return False  # a watch's answer is a stream: see drop_watches(abort=True)
        if self.kind in (FaultKind.DROP_WATCH, FaultKind.EXPIRE_WATCH):
            if info.verb is not Verb.WATCH:
                return False
            if self.kind is FaultKind.EXPIRE_WATCH and info.resource_version in (None, "", "0"):
                return False
        return True


@dataclass(frozen=True)
class FaultDecision:
    """What the server must do to one request.

    Attributes:
        latency: seconds to wait before handling it.
        error: the error fault to answer with (status, Retry-After), if any.
        reset: reset the connection instead of answering.
        drop_after_events: end a watch after this many events.
        drop_after_seconds: end a watch after this many seconds.
        expire: answer a watch with a ``410 Gone`` ERROR event.
        drop_abort: reset the connection when dropping the watch.
    """

    latency: float = 0.0
    error: Fault | None = None
    reset: bool = False
    drop_after_events: int | None = None
    drop_after_seconds: float | None = None
    expire: bool = False
    drop_abort: bool = False


#: The decision for a request no fault matched.
NO_FAULT = FaultDecision()
