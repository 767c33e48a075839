"""The step protocol: tracker operations as pure generators, and the two runners.

Each tracker operation is written once, in :mod:`.steps` and
:mod:`.array_steps`, as a generator that *yields* what it needs done and
*receives* the answer:

- a :class:`~..client.requests.Request`: the runner sends it and sends back
  the decoded answer (a dict, or the text of a log); a failure is thrown into
  the generator as the translated :class:`DRMAA2Error`, where the step may
  catch it (a 409 of a create, a 404 of a delete);
- a :class:`Pause`: the runner sleeps (a retry's back-off);
- a :class:`Gather`: the runner runs several steps and sends back their
  results in order (the async runner at once, at most ``limit`` in flight);
- a :class:`Gated`: the runner runs a step inside a gate (a thread gate for
  the sync runner, an async one for the asyncio runner) and sends back its
  result: an array's creates pass their submission's AIMD window this way.

:func:`run_sync` drives a step over the ``kubernetes`` transport,
:func:`run_async` over the ``kubernetes_asyncio`` one: the trackers are thin
drivers, and a step never knows which. :func:`retrying` repeats a step that
spans several requests (a create and the read resolving its 409) under the
:class:`~..client.retry.RetryPolicy`. Pure: no client library here; the
transports are passed in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from airflow_provider_mpi.drmaa2.errors import DRMAA2Error
from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.retry import Attempts, RetryPolicy
from airflow_provider_mpi.mpioperator.client.transport import AsyncTransport, SyncTransport

__all__ = [
    "Gated",
    "Gather",
    "Pause",
    "Step",
    "gated",
    "gather",
    "retrying",
    "run_async",
    "run_sync",
    "send",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Pause:
    """Wait this many seconds before going on (a retry's back-off)."""

    seconds: float


@dataclass(frozen=True)
class Gather:
    """Run these steps and answer with their results, in order.

    Attributes:
        steps: the steps.
        limit: at most this many in flight at once (the async runner).
    """

    steps: Sequence[Step[Any]]
    limit: int = 8


@dataclass(frozen=True)
class Gated:
    """Run this step inside a gate, held while it runs, and answer with its result.

    Attributes:
        step: the step.
        gate: a context manager (:func:`run_sync`) or an async one
            (:func:`run_async`), such as :mod:`.submit_window`'s gates.
    """

    step: Step[Any]
    gate: AbstractContextManager[Any] | AbstractAsyncContextManager[Any]


Effect = Request | Pause | Gather | Gated
#: A tracker operation: yields effects, receives their answers, returns a T.
Step = Generator[Effect, Any, T]


def send(request: Request) -> Step[Any]:
    """Make one request a step: its decoded answer (for ``yield from``)."""
    answer = yield request
    return answer


def gather(steps: Sequence[Step[T]], limit: int = 8) -> Step[list[T]]:
    """Make several steps one: their results in order (for ``yield from``)."""
    results = yield Gather(steps, limit)
    return list(results)


def gated(
    step: Step[T], gate: AbstractContextManager[Any] | AbstractAsyncContextManager[Any]
) -> Step[T]:
    """Make a step one that runs inside ``gate`` (for ``yield from``)."""
    result: T = yield Gated(step, gate)
    return result


def retrying(
    make: Callable[[], Step[T]],
    policy: RetryPolicy,
    *,
    what: str,
    clock: Callable[[], float] = time.monotonic,
) -> Step[T]:
    """The step twin of :func:`~..client.retry.call_with_retry`: its pauses are yielded.

    ``make`` builds a fresh attempt each time (a generator runs once).
    """
    attempts = Attempts(policy, what=what, clock=clock)
    while True:
        with attempts:
            return (yield from make())
        yield Pause(attempts.pause)


def _resume(step: Step[T], answer: Any, error: DRMAA2Error | None) -> tuple[bool, Any]:
    """Resume a step with its answer or error: ``(True, result)`` at its end, else the effect."""
    try:
        return False, (step.send(answer) if error is None else step.throw(error))
    except StopIteration as stop:
        return True, stop.value


def _perform(effect: Effect, transport: SyncTransport) -> Any:
    if isinstance(effect, Pause):
        time.sleep(effect.seconds)
        return None
    if isinstance(effect, Gather):
        return [run_sync(each, transport) for each in effect.steps]
    if isinstance(effect, Gated):
        if not isinstance(effect.gate, AbstractContextManager):
            raise TypeError(f"run_sync needs a thread gate, not {effect.gate!r}")
        with effect.gate:
            return run_sync(effect.step, transport)
    return transport.send(effect)


async def _aperform(effect: Effect, transport: AsyncTransport) -> Any:
    if isinstance(effect, Pause):
        await asyncio.sleep(effect.seconds)
        return None
    if isinstance(effect, Gather):
        limit = asyncio.Semaphore(effect.limit)

        async def one(step: Step[Any]) -> Any:
            async with limit:
                return await run_async(step, transport)

        return list(await asyncio.gather(*(one(step) for step in effect.steps)))
    if isinstance(effect, Gated):
        if not isinstance(effect.gate, AbstractAsyncContextManager):
            raise TypeError(f"run_async needs an async gate, not {effect.gate!r}")
        async with effect.gate:
            return await run_async(effect.step, transport)
    return await transport.send(effect)


def run_sync(step: Step[T], transport: SyncTransport) -> T:
    """Drive a step to its end over a synchronous transport (a Gather runs in order).

    Args:
        step: the step.
        transport: sends its requests.

    Returns:
        The step's result.

    Raises:
        DRMAA2Error: what the step let through.
    """
    answer: Any = None
    error: DRMAA2Error | None = None
    while not (done := _resume(step, answer, error))[0]:
        answer, error = None, None
        try:
            answer = _perform(done[1], transport)
        except DRMAA2Error as exc:
            error = exc
    return done[1]  # type: ignore[no-any-return]


async def run_async(step: Step[T], transport: AsyncTransport) -> T:
    """Drive a step to its end over the asyncio transport, as :func:`run_sync` does.

    Only the sending differs: requests and pauses are awaited, and the steps
    of a :class:`Gather` run at once (at most its ``limit`` in flight).
    """
    answer: Any = None
    error: DRMAA2Error | None = None
    while not (done := _resume(step, answer, error))[0]:
        answer, error = None, None
        try:
            answer = await _aperform(done[1], transport)
        except DRMAA2Error as exc:
            error = exc
    return done[1]  # type: ignore[no-any-return]
