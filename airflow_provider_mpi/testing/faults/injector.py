"""Faults the emulated API server injects into requests, by rate or on cue.

A real cluster misbehaves: the API server answers 500 or 503 during an
upgrade, 429 with ``Retry-After`` under priority-and-fairness, slows down,
drops watch streams, answers ``410 Gone`` to a watch resumed from a compacted
resourceVersion, and connections are reset by load balancers, sometimes after
the request took effect, so the client never learns that its create or patch
was committed. The tracker must survive all of that, so the emulator can do
each of it, by rate (a seeded RNG keeps runs reproducible) or on cue
(``times=1``), limited to verbs, resources and namespaces. The server asks
:meth:`FaultInjector.decide` once per request before handling it,
:meth:`FaultInjector.lose_answer` once after handling it, and records every
request in :class:`~airflow_provider_mpi.testing.faults.counters.RequestCounters`.

Example::

    faults = FaultInjector(seed=1)
    faults.fail(503, times=2, verb="create", resource="mpijobs")
    faults.throttle(retry_after=1, rate=0.1)
    faults.drop_watches(after_events=3)
    faults.lose_answers(verb="create", resource="mpijobs", times=1)  # committed, then RST
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeAlias, TypedDict

from airflow_provider_mpi.testing.faults.counters import Verb
from airflow_provider_mpi.testing.faults.model import (
    NO_FAULT,
    Fault,
    FaultDecision,
    FaultKind,
    RequestInfo,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["FaultInjector", "RequestMatch", "WatchMatch"]


#: The ``verb`` argument of the helpers: one verb, its name, several, or None (all).
_Verbs: TypeAlias = "Verb | str | Iterable[Verb | str] | None"
#: The ``resource`` and ``namespace`` arguments: one name, several, or None (all).
_Names: TypeAlias = "str | Iterable[str] | None"


class WatchMatch(TypedDict, total=False):
    """The keywords every watch fault takes: which watches it hits, how often, how many times.

    Attributes:
        rate: probability per matching request (default 1.0: every one).
        times: at most this many requests (default None: until removed).
        resource: limit to these resources (``pods`` includes ``pods/log``).
        namespace: limit to these namespaces.
    """

    rate: float
    times: int | None
    resource: _Names
    namespace: _Names


class RequestMatch(WatchMatch, total=False):
    """The keywords every request fault takes: those of :class:`WatchMatch`, and the verbs.

    Attributes:
        verb: limit to these verbs (a :class:`Verb`, its name, or several).
    """

    verb: _Verbs


def _frozen(values: str | Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return frozenset({values})
    return frozenset(values)


def _verbs(verb: _Verbs) -> frozenset[Verb] | None:
    if verb is None:
        return None
    raw = [verb] if isinstance(verb, (str, Verb)) else list(verb)
    return frozenset(Verb(v) for v in raw)


def _checked(match: WatchMatch, allowed: type[WatchMatch]) -> None:
    """Refuse a keyword the helper does not take, as a plain signature would."""
    unknown = sorted(set(match) - allowed.__annotations__.keys())
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")


def _count_hit(fault: Fault) -> None:
    fault.hits += 1
    if fault.times is not None:
        fault.times -= 1


class FaultInjector:
    """A thread-safe set of faults with a seeded random generator.

    Every helper takes the keywords of :class:`RequestMatch` (the watch
    helpers those of :class:`WatchMatch`): ``rate``, ``times``, ``verb``,
    ``resource`` and ``namespace``, which say which requests it hits, how
    often and how many times.

    Args:
        seed: the RNG seed, so a run with rates is reproducible.
    """

    def __init__(self, seed: int | None = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    @property
    def faults(self) -> list[Fault]:
        """The active faults, in the order they were added."""
        with self._lock:
            return list(self._faults)

    def add(self, fault: Fault) -> Fault:
        """Activate a fault.

        Args:
            fault: the fault.

        Returns:
            The same fault (pass it to :meth:`remove`).
        """
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Deactivate a fault (no error when it is not active).

        Args:
            fault: a fault returned by :meth:`add` or a helper.
        """
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        """Deactivate every fault."""
        with self._lock:
            self._faults.clear()

    def _new(
        self, kind: FaultKind, match: RequestMatch, **fields: float | int | bool | None
    ) -> Fault:
        _checked(match, RequestMatch)
        return self.add(
            Fault(
                kind,
                rate=match.get("rate", 1.0),
                times=match.get("times"),
                verbs=_verbs(match.get("verb")),
                resources=_frozen(match.get("resource")),
                namespaces=_frozen(match.get("namespace")),
                **fields,  # type: ignore[arg-type]
            )
        )

    def _new_watch(
        self, kind: FaultKind, match: WatchMatch, **fields: float | int | bool | None
    ) -> Fault:
        _checked(match, WatchMatch)
        return self._new(kind, {**match, "verb": Verb.WATCH}, **fields)

    def fail(
        self,
        status: int = 500,
        *,
        retry_after: int | None = None,
        skip: int = 0,
        **match: Unpack[RequestMatch],
    ) -> Fault:
        """Answer matching requests with an error ``Status``.

        Args:
            status: 500, 503, 429, 504... (any 4xx/5xx).
            retry_after: send ``Retry-After`` (seconds); 429 defaults to 1.
            skip: let this many matching requests through first.
            **match: which requests (:class:`RequestMatch`).

        Returns:
            The fault.

        Raises:
            ValueError: a status that is not an error.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"status must be a 4xx or 5xx code, got {status!r}")
        if retry_after is None and status == 429:
            retry_after = 1
        return self._new(FaultKind.ERROR, match, status=status, retry_after=retry_after, skip=skip)

    def throttle(self, *, retry_after: int = 1, **match: Unpack[RequestMatch]) -> Fault:
        """Answer ``429 TooManyRequests`` with ``Retry-After``, as API priority and fairness does.

        Args:
            retry_after: seconds in the ``Retry-After`` header.
            **match: which requests (:class:`RequestMatch`).

        Returns:
            The fault.
        """
        return self.fail(429, retry_after=retry_after, **match)

    def delay(self, seconds: float, **match: Unpack[RequestMatch]) -> Fault:
        """Add latency before matching requests are handled (delays add up).

        Args:
            seconds: the added latency.
            **match: which requests (:class:`RequestMatch`).

        Returns:
            The fault.
        """
        return self._new(FaultKind.LATENCY, match, seconds=seconds)

    def reset_connections(self, **match: Unpack[RequestMatch]) -> Fault:
        """Reset the TCP connection (RST) instead of answering.

        Args:
            **match: which requests (:class:`RequestMatch`).

        Returns:
            The fault.
        """
        return self._new(FaultKind.RESET, match)

    def drop_watches(
        self,
        *,
        after_events: int | None = None,
        after_seconds: float | None = None,
        abort: bool = False,
        **match: Unpack[WatchMatch],
    ) -> Fault:
        """End matching watch streams early.

        By default the client sees a clean end of stream, as when the API
        server's watch timeout expires; with ``abort`` the connection is reset
        mid-stream, as a load balancer does (the client sees a broken response).

        Args:
            after_events: end after delivering this many events.
            after_seconds: end after this many seconds.
            abort: reset the connection instead of ending the stream.
            **match: which watches (:class:`WatchMatch`).

        Returns:
            The fault.

        Raises:
            ValueError: neither limit given.
        """
        if after_events is None and after_seconds is None:
            raise ValueError("drop_watches needs after_events or after_seconds")
        return self._new_watch(
            FaultKind.DROP_WATCH,
            match,
            after_events=after_events,
            seconds=after_seconds or 0.0,
            abort=abort,
        )

    def expire_watches(self, **match: Unpack[WatchMatch]) -> Fault:
        """Answer watches resumed from a resourceVersion with a ``410 Gone`` ERROR event.

        Args:
            **match: which watches (:class:`WatchMatch`).

        Returns:
            The fault.
        """
        return self._new_watch(FaultKind.EXPIRE_WATCH, match)

    def lose_answers(self, status: int | None = None, **match: Unpack[RequestMatch]) -> Fault:
        """Handle matching requests, then lose their answers.

        The request takes effect (a create is stored, a patch applied, a
        delete done) and its answer never reaches the client: the connection
        is reset, as when a load balancer drops it, or, with ``status``, a
        5xx error replaces the real answer, as a gateway timing out (504) or
        failing (502, 503) after forwarding the request does. Only requests
        the server answered with a success are hit, so ``times`` counts
        requests that took effect (losing an error answer would look to the
        client like :meth:`reset_connections` or :meth:`fail`). Watches are
        never hit (see :meth:`drop_watches` with ``abort``), nor are answers
        already streaming (``follow`` logs).

        Args:
            status: answer with this 5xx ``Status`` instead of the real
                answer; None (the default) resets the connection.
            **match: which requests (:class:`RequestMatch`; ``rate`` is drawn
                per matching request that succeeded).

        Returns:
            The fault.

        Raises:
            ValueError: a status that is not a 5xx code.
        """
        if status is not None and not 500 <= status <= 599:
            raise ValueError(f"status of a lost answer must be a 5xx code, got {status!r}")
        return self._new(
            FaultKind.LOST_ANSWER,
            match,
            status=status if status is not None else 500,
            abort=status is None,
        )

    def forbid(
        self,
        namespace: str | Iterable[str],
        *,
        verb: _Verbs = None,
        resource: _Names = None,
    ) -> Fault:
        """Answer ``403 Forbidden`` in these namespaces, as RBAC would.

        Args:
            namespace: the forbidden namespaces.
            verb: limit to these verbs.
            resource: limit to these resources.

        Returns:
            The fault.
        """
        match = RequestMatch(namespace=namespace, verb=verb, resource=resource)
        return self._new(FaultKind.FORBID, match, status=403)

    def _drawn(self, fault: Fault, info: RequestInfo) -> bool:
        """Whether ``fault`` matches ``info`` and its rate is drawn (the caller holds the lock)."""
        if not fault.matches(info):
            return False
        if fault.skip > 0:
            fault.skip -= 1
            return False
        return fault.rate >= 1.0 or self._rng.random() < fault.rate

    def decide(self, info: RequestInfo) -> FaultDecision:
        """Draw the faults for one request (consumes ``times``, draws the RNG).

        Args:
            info: the request.

        Returns:
            The combined decision (latencies add up; the first error or reset wins).
        """
        with self._lock:
            if not self._faults:
                return NO_FAULT
            latency = 0.0
            error: Fault | None = None
            reset = expire = False
            drop_events: int | None = None
            drop_seconds: float | None = None
            drop_abort = False
            for fault in self._faults:
                if fault.kind is FaultKind.LOST_ANSWER or not self._drawn(fault, info):
                    continue
                if fault.kind in (FaultKind.ERROR, FaultKind.FORBID, FaultKind.RESET):
                    if error is not None or reset:
                        continue  # the first error or reset wins
                    if fault.kind is FaultKind.RESET:
                        reset = True
                    else:
                        error = fault
                elif fault.kind is FaultKind.LATENCY:
                    latency += fault.seconds
                elif fault.kind is FaultKind.EXPIRE_WATCH:
                    expire = True
                else:
                    drop_events = fault.after_events
                    drop_seconds = fault.seconds or None
                    drop_abort = fault.abort
                _count_hit(fault)
            return FaultDecision(
                latency, error, reset, drop_events, drop_seconds, expire, drop_abort
            )

    def lose_answer(self, info: RequestInfo, status: int) -> Fault | None:
        """Draw whether the answer to a handled request is lost (consumes ``times``).

        The server calls this after the request took effect; only
        :meth:`lose_answers` faults take part, and only answers with a
        status below 400.

        Args:
            info: the request.
            status: the HTTP status the server was about to answer.

        Returns:
            The first lost-answer fault drawn (its ``abort``: reset the
            connection; else answer its ``status``), or None to answer.
        """
        if status >= 400:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind is FaultKind.LOST_ANSWER and self._drawn(fault, info):
                    _count_hit(fault)
                    return fault
            return None
