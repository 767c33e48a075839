from __future__ import annotations

import random

import pytest

from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidArgumentError,
    JobNotFoundError,
    TransientBackendError,
)
from airflow_provider_mpi.mpioperator.client.retry import (
    Attempts,
    RetryPolicy,
    acall_with_retry,
    call_with_retry,
)
from airflow_provider_mpi.mpioperator.tracker.run import Pause, Step, retrying

NO_JITTER = RetryPolicy(
    max_attempts=5,
    initial_delay=0.1,
    max_delay=1.0,
    multiplier=2.0,
    jitter=0.0,
    max_retry_after=10.0,
    total_timeout=20.0,
)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (TransientBackendError(503, "unavailable"), True),
        (TransientBackendError(429, "slow down", retry_after=1), True),
        (TransientBackendError(None, "reset"), True),
        (BackendError(500, "plain backend error"), False),
        (BackendError(422, "invalid"), False),
        (AuthorizationError(403, "forbidden"), False),
        (ConflictError(409, "exists"), False),
        (JobNotFoundError("ns/pi"), False),
        (InvalidArgumentError("x", 1), False),
    ],
)
def test_is_retryable(error: DRMAA2Error, retryable: bool) -> None:
    assert NO_JITTER.is_retryable(error) is retryable
    delay = NO_JITTER.delay_before_retry(error, 1, 0.0, random.Random(0))
    assert (delay is not None) is retryable


@pytest.mark.parametrize(
    ("retry", "delay"), [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)]
)
def test_backoff_grows_and_is_capped(retry: int, delay: float) -> None:
    assert NO_JITTER.backoff(retry, random.Random(0)) == pytest.approx(delay)


def test_jitter_only_shortens() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=1.0, jitter=0.5)
    rng = random.Random(42)
    delays = [policy.backoff(1, rng) for _ in range(500)]
    assert all(0.5 <= d <= 1.0 for d in delays)
    assert max(delays) - min(delays) > 0.3  # really random


@pytest.mark.parametrize(
    ("error", "retry", "elapsed", "expected"),
    [
        (TransientBackendError(503, "x"), 1, 0.0, 0.1),
        (TransientBackendError(503, "x"), 4, 0.0, 0.8),
        (TransientBackendError(503, "x"), 5, 0.0, None),  # attempts used up
        (TransientBackendError(429, "x", retry_after=3.0), 1, 0.0, 3.0),  # Retry-After wins
        (TransientBackendError(429, "x", retry_after=0.0), 1, 0.0, 0.0),
        (TransientBackendError(429, "x", retry_after=11.0), 1, 0.0, None),  # too long
        (TransientBackendError(429, "x", retry_after=3.0), 1, 18.0, None),  # past total
        (TransientBackendError(503, "x"), 1, 19.95, None),
        (TransientBackendError(503, "x"), 1, 19.85, 0.1),
    ],
)
def test_delay_before_retry(
    error: DRMAA2Error, retry: int, elapsed: float, expected: float | None
) -> None:
    delay = NO_JITTER.delay_before_retry(error, retry, elapsed, random.Random(0))
    assert delay == (pytest.approx(expected) if expected is not None else None)


def test_no_total_cap() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=0.0, total_timeout=None)
    assert (
        policy.delay_before_retry(TransientBackendError(503, "x"), 1, 1e9, random.Random()) == 0.1
    )


def test_never() -> None:
    assert (
        RetryPolicy.never().delay_before_retry(
            TransientBackendError(503, "x"), 1, 0, random.Random()
        )
        is None
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", 1.5),
        ("initial_delay", -1),
        ("max_delay", -0.1),
        ("multiplier", 0.5),
        ("jitter", 1.5),
        ("jitter", -0.1),
        ("max_retry_after", -1),
        ("total_timeout", -1),
    ],
)
def test_policy_validation(field: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        RetryPolicy(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def flaky(failures: list[DRMAA2Error], result: str = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return result

    return calls, fn


def test_call_with_retry_recovers() -> None:
    clock = FakeClock()
    calls, fn = flaky([TransientBackendError(503, "a"), TransientBackendError(None, "reset")])
    assert call_with_retry(fn, NO_JITTER, sleep=clock.sleep, clock=clock) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 3
    assert clock.sleeps == pytest.approx([0.1, 0.2])


def test_call_with_retry_honours_retry_after() -> None:
    clock = FakeClock()
    _, fn = flaky([TransientBackendError(429, "slow", retry_after=2.0)])
    call_with_retry(fn, NO_JITTER, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert clock.sleeps == [2.0]


def test_call_with_retry_gives_up_with_the_last_error() -> None:
    clock = FakeClock()
    errors: list[DRMAA2Error] = [TransientBackendError(503, str(i)) for i in range(10)]
    calls, fn = flaky(errors)
    with pytest.raises(TransientBackendError) as info:
        call_with_retry(fn, NO_JITTER, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert len(calls) == NO_JITTER.max_attempts
    assert info.value.reason == str(NO_JITTER.max_attempts - 1)


def test_call_with_retry_permanent_error_at_once() -> None:
    clock = FakeClock()
    calls, fn = flaky([AuthorizationError(403, "no")])
    with pytest.raises(AuthorizationError):
        call_with_retry(fn, NO_JITTER, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert len(calls) == 1
    assert clock.sleeps == []


async def test_acall_with_retry_sleeps_like_the_sync_face() -> None:
    clock = FakeClock()
    failures: list[DRMAA2Error] = [TransientBackendError(503, "a"), TransientBackendError(503, "b")]

    async def fn() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert await acall_with_retry(fn, NO_JITTER, sleep=clock.asleep, clock=clock) == "ok"
    assert clock.sleeps == pytest.approx([0.1, 0.2])


def test_retrying_step_yields_the_pauses_the_call_sleeps() -> None:
    clock = FakeClock()
    failures: list[DRMAA2Error] = [
        TransientBackendError(503, "a"),
        TransientBackendError(None, "b"),
    ]

    def attempt() -> Step[str]:
        if failures:
            raise failures.pop(0)
        return "ok"
        yield  # a generator: the runner drives it

    step = retrying(attempt, NO_JITTER, what="test", clock=clock)
    pauses: list[float] = []
    result = None
    try:
        while True:
            effect = next(step)
            assert isinstance(effect, Pause)
            pauses.append(effect.seconds)
            clock.sleep(effect.seconds)
    except StopIteration as stop:
        result = stop.value
    assert result == "ok"
    assert pauses == pytest.approx([0.1, 0.2])


def test_attempts_pass_other_exceptions_and_raise_the_last_error_as_it_was() -> None:
    attempts = Attempts(NO_JITTER, what="test", clock=FakeClock())
    with pytest.raises(KeyError), attempts:
        raise KeyError("a bug, not a failed request: never retried")
    with attempts:
        raise TransientBackendError(503, "passes")
    assert attempts.pause == pytest.approx(0.1)
    last = AuthorizationError(403, "no")
    with pytest.raises(AuthorizationError) as info, attempts:
        raise last
    assert info.value is last


def test_retry_state_reset() -> None:
    state = NO_JITTER.start(0.0, random.Random(0))
    for _ in range(4):
        assert state.next_delay(TransientBackendError(503, "x"), 0.0) is not None
    assert state.next_delay(TransientBackendError(503, "x"), 0.0) is None
    state.reset(100.0)
    assert state.next_delay(TransientBackendError(503, "x"), 100.0) == pytest.approx(0.1)


def test_expiries_never_use_up_the_attempts() -> None:
    policy = RetryPolicy(max_attempts=2, initial_delay=0.1, max_delay=0.4, jitter=0.0)
    state = policy.start(0.0)
    delays = [state.after_expiry() for _ in range(6)]
    assert delays == [0.1, 0.2, 0.4, 0.4, 0.4, 0.4]  # backs off, capped, never gives up
    assert state.retries == 0
    state.reset(1.0)
    assert state.after_expiry() == 0.1
