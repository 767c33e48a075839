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
from typing import TypeAlias

from airflow_provider_mpi.testing.faults.counters import Verb
from airflow_provider_mpi.testing.faults.model import (
    NO_FAULT,
    Fault,
    FaultDecision,
    FaultKind,
    RequestInfo,
)

__all__ = ["FaultInjector"]


#: The ``verb`` argument of the helpers: one verb, its name, several, or None (all).
_Verbs: TypeAlias = "Verb | str | Iterable[Verb | str] | None"
#: The ``resource`` and ``namespace`` arguments: one name, several, or None (all).
_Names: TypeAlias = "str | Iterable[str] | None"


def _frozen(values: str | Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return frozenset({values})
    return frozenset(values)


def _count_hit(fault: Fault) -> None:
    fault.hits += 1
    if fault.times is not None:
        fault.times -= 1


class FaultInjector:
    """A thread-safe set of faults with a seeded random generator.

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
        self,
        kind: FaultKind,
        verb: _Verbs,
        resource: _Names,
        namespace: _Names,
        rate: float,
        times: int | None,
        **extra: float | int | bool | None,
    ) -> Fault:
        verbs: frozenset[Verb] | None = None
        if verb is not None:
            raw = [verb] if isinstance(verb, (str, Verb)) else list(verb)
            verbs = frozenset(Verb(v) for v in raw)
        return self.add(
            Fault(
                kind,
                rate=rate,
                times=times,
                verbs=verbs,
                resources=_frozen(resource),
                namespaces=_frozen(namespace),
                **extra,  # type: ignore[arg-type]
            )
        )

    def fail(
        self,
        status: int = 500,
        *,
        rate: float = 1.0,
        times: int | None = None,
        verb: _Verbs = None,
        resource: _Names = None,
        namespace: _Names = None,
        retry_after: int | None = None,
        skip: int = 0,
    ) -> Fault:
        """Answer matching requests with an error ``Status``.

        Args:
            status: 500, 503, 429, 504... (any 4xx/5xx).
            rate: probability per matching request.
            times: at most this many requests (None: until removed).
            verb: limit to these verbs.
            resource: limit to these resources (``pods`` includes ``pods/log``).
            namespace: limit to these namespaces.
            retry_after: send ``Retry-After`` (seconds); 429 defaults to 1.
            skip: let this many matching requests through first.

        Returns:
            The fault.

        Raises:
            ValueError: a status that is not an error.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"status must be a 4xx or 5xx code, got {status!r}")
        if retry_after is None and status == 429:
            retry_after = 1
        return self._new(
            FaultKind.ERROR,
            verb=verb,
            resource=resource,
            namespace=namespace,
            rate=rate,
            times=times,
            status=status,
            retry_after=retry_after,
            skip=skip,
        )

    def throttle(
        self,
        *,
        retry_after: int = 1,
        rate: float = 1.0,
        times: int | None = None,
        verb: _Verbs = None,
        resource: _Names = None,
        namespace: _Names = None,
    ) -> Fault:
        """Answer ``429 TooManyRequests`` with ``Retry-After``, as API priority and fairness does.

        Args:
            retry_after: seconds in the ``Retry-After`` header.
            rate: probability per matching request.
            times: at most this many requests.
            verb: limit to these verbs.
            resource: limit to these resources.
            namespace: limit to these namespaces.

        Returns:
            The fault.
        """
        return self.fail(
            429,
            rate=rate,
            times=times,
            verb=verb,
            resource=resource,
            namespace=namespace,
            retry_after=retry_after,
        )

    def delay(
        self,
        seconds: float,
        *,
        rate: float = 1.0,
        times: int | None = None,
        verb: _Verbs = None,
        resource: _Names = None,
        namespace: _Names = None,
    ) -> Fault:
        """Add latency before matching requests are handled (delays add up).

        Args:
            seconds: the added latency.
            rate: probability per matching request.
            times: at most this many requests.
            verb: limit to these verbs.
            resource: limit to these resources.
            namespace: limit to these namespaces.

        Returns:
            The fault.
        """
        return self._new(FaultKind.LATENCY, verb, resource, namespace, rate, times, seconds=seconds)

    def reset_connections(
        self,
        *,
        rate: float = 1.0,
        times: int | None = None,
        verb: _Verbs = None,
        resource: _Names = None,
        namespace: _Names = None,
    ) -> Fault:
        """Reset the TCP connection (RST) instead of answering.

        Args:
            rate: probability per matching request.
            times: at most this many requests.
            verb: limit to these verbs.
            resource: limit to these resources.
            namespace: limit to these namespaces.

        Returns:
            The fault.
        """
        return self._new(FaultKind.RESET, verb, resource, namespace, rate, times)

    def drop_watches(
        self,
        *,
        after_events: int | None = None,
        after_seconds: float | None = None,
        abort: bool = False,
        rate: float = 1.0,
        times: int | None = None,
        resource: _Names = None,
        namespace: _Names = None,
    ) -> Fault:
        """End matching watch streams early.

        By default the client sees a clean end of stream, as when the API
        server's watch timeout expires; with ``abort`` the connection is reset
        mid-stream, as a load balancer does (the client sees a broken response).

        Args:
            after_events: end after delivering this many events.
            after_seconds: end after this many seconds.
            abort: reset the connection instead of ending the stream.
            rate: probability per matching watch.
            times: at most this many watches.
            resource: limit to these resources.
            namespace: limit to these namespaces.

        Returns:
            The fault.

        Raises:
            ValueError: neither limit given.
        """
        if after_events is None and after_seconds is None:
            raise ValueError("drop_watches needs after_events or after_seconds")
        return self._new(
            FaultKind.DROP_WATCH,
            verb=Verb.WATCH,
            resource=resource,
            namespace=namespace,
            rate=rate,
            times=times,
            after_events=after_events,
            seconds=after_seconds or 0.0,
            abort=abort,
        )

    def expire_watches(
        self,
        *,
        rate: float = 1.0,
        times: int | None = None,
        resource: _Names = None,
        namespace: _Names = None,
    ) -> Fault:
        """Answer watches resumed from a resourceVersion with a ``410 Gone`` ERROR event.

        Args:
            rate: probability per matching watch.
            times: at most this many watches.
            resource: limit to these resources.
            namespace: limit to these namespaces.

        Returns:
            The fault.
        """
        return self._new(FaultKind.EXPIRE_WATCH, Verb.WATCH, resource, namespace, rate, times)

    def lose_answers(
        self,
        status: int | None = None,
        *,
        rate: float = 1.0,
        times: int | None = None,
        verb: _Verbs = None,
        resource: _Names = None,
        namespace: _Names = None,
    ) -> Fault:
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
            rate: probability per matching request that succeeded.
            times: at most this many requests.
            verb: limit to these verbs.
            resource: limit to these resources.
            namespace: limit to these namespaces.

        Returns:
            The fault.

        Raises:
            ValueError: a status that is not a 5xx code.
        """
        if status is not None and not 500 <= status <= 599:
            raise ValueError(f"status of a lost answer must be a 5xx code, got {status!r}")
        return self._new(
            FaultKind.LOST_ANSWER,
            verb=verb,
            resource=resource,
            namespace=namespace,
            rate=rate,
            times=times,
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
        return self._new(FaultKind.FORBID, verb, resource, namespace, 1.0, None, status=403)

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
