"""The tracker's steps, run by both runners against a scripted transport (no cluster).

Each step is a generator over request descriptors, so its decisions can be
checked request by request: what is sent, in which order, and what a 409, a
404 or a lost answer makes it do. Every test runs the same step with
``run_sync`` and ``run_async`` and expects the same requests and result.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2.errors import (
    ConflictError,
    DRMAA2Error,
    InvalidStateError,
    JobNotFoundError,
    TransientBackendError,
)
from airflow_provider_mpi.drmaa2.state import JobControlAction
from airflow_provider_mpi.drmaa2.template import JobTemplate
from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.descriptor import Request, Verb
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.tracker import array_steps, steps
from airflow_provider_mpi.mpioperator.tracker.ids import JobRef
from airflow_provider_mpi.mpioperator.tracker.run import Step, gather, run_async, run_sync, send
from airflow_provider_mpi.mpioperator.tracker.submission import prepare_job
from airflow_provider_mpi.mpioperator.tracker.submit_window import (
    AimdWindow,
    AsyncSubmitGate,
    SubmitGate,
)

NO_WAIT = RetryPolicy(max_attempts=4, initial_delay=0.0, max_delay=0.0, jitter=0.0)
REF = JobRef("team", "pi")


class Scripted:
    """A transport that answers each request from a script and records it."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[Verb, str]] = []
        self.api_client: Any = None
        self.retry = NO_WAIT

    def _answer(self, request: Request) -> Any:
        self.sent.append((request.verb, request.path))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer(request) if callable(answer) else answer

    def send(self, request: Request) -> Any:
        return self._answer(request)

    def lines(self, request: Request) -> Iterator[bytes]:
        raise AssertionError("steps never stream")


class AsyncScripted(Scripted):
    async def send(self, request: Request) -> Any:  # type: ignore[override]
        await asyncio.sleep(0)
        return self._answer(request)

    async def lines(self, request: Request) -> AsyncIterator[bytes]:  # type: ignore[override]
        raise AssertionError("steps never stream")
        yield b""


def both(
    make: Callable[[], Step[Any]], script: Callable[[], list[Any]]
) -> tuple[Any, list[tuple[Verb, str]]]:
    """Run a fresh step with each runner and a fresh script; both must send and return the same."""
    sync = Scripted(*script())
    try:
        result: Any = run_sync(make(), sync)
    except DRMAA2Error as exc:
        result = exc
    asynchronous = AsyncScripted(*script())
    try:
        other: Any = asyncio.run(run_async(make(), asynchronous))
    except DRMAA2Error as exc:
        other = exc
    assert sync.sent == asynchronous.sent
    assert type(result) is type(other)
    if not isinstance(result, DRMAA2Error):
        assert result == other
    return result, sync.sent


def mpijob(state: str = "Running", *, uid: str = "u1", version: str = "7") -> dict[str, Any]:
    conditions = [{"type": "Created", "status": "True"}]
    if state == "Running":
        conditions.append({"type": "Running", "status": "True"})
    if state == "Succeeded":
        conditions.append({"type": "Succeeded", "status": "True"})
    return {
        "metadata": {"name": "pi", "namespace": "team", "uid": uid, "resourceVersion": version},
        "status": {"conditions": conditions},
    }


PATH = "/apis/kubeflow.org/v2beta1/namespaces/team/mpijobs"


def template(command: str) -> JobTemplate:
    return JobTemplate(remote_command=command, job_name="pi", job_category="mpi:1", min_slots=1)


def test_a_create_whose_answer_was_lost_is_resolved_by_its_token() -> None:
    job = prepare_job(template("true"), namespace="team")
    reset = TransientBackendError(None, "connection reset")
    job_id, sent = both(
        lambda: steps.create(job, NO_WAIT),
        lambda: [
            reset,  # the create took effect, its answer was lost
            ConflictError(409, "exists"),  # the repeat meets the object
            job,  # ... which carries this submission's token: success
        ],
    )
    assert job_id == "team/pi"
    assert sent == [(Verb.POST, PATH), (Verb.POST, PATH), (Verb.GET, f"{PATH}/pi")]


def test_a_create_meeting_another_submission_is_a_conflict() -> None:
    job = prepare_job(template("true"), namespace="team")
    other = prepare_job(template("false"), namespace="team")
    error, sent = both(
        lambda: steps.create(job, NO_WAIT), lambda: [ConflictError(409, "exists"), other]
    )
    assert isinstance(error, ConflictError)
    assert sent == [(Verb.POST, PATH), (Verb.GET, f"{PATH}/pi")]


def test_job_control_decides_again_on_a_stale_resource_version() -> None:
    patches: list[dict[str, Any]] = []

    def record(request: Request) -> dict[str, Any]:
        patches.append(dict(request.body or {}))
        return mpijob()

    def stale(request: Request) -> dict[str, Any]:
        record(request)
        raise ConflictError(409, "the object has been modified")

    _, sent = both(
        lambda: steps.job_control(REF, JobControlAction.SUSPEND),
        lambda: [mpijob(version="7"), stale, mpijob(version="8"), record],
    )
    assert sent == [(Verb.GET, f"{PATH}/pi"), (Verb.PATCH, f"{PATH}/pi")] * 2
    versions = [p["metadata"]["resourceVersion"] for p in patches]
    assert versions == ["7", "8", "7", "8"]  # the sync run, then the async run


def test_delete_refuses_a_running_job_before_any_write() -> None:
    error, sent = both(lambda: steps.delete_job(REF), lambda: [mpijob("Running")])
    assert isinstance(error, InvalidStateError)
    assert sent == [(Verb.GET, f"{PATH}/pi")]


def test_delete_binds_the_uid_and_takes_a_lost_answer_as_done() -> None:
    bodies: list[Any] = []

    def gone(request: Request) -> Any:
        bodies.append(request.body)
        raise JobNotFoundError("team/pi")

    result, sent = both(
        lambda: steps.delete_job(REF), lambda: [mpijob("Succeeded", uid="u9"), gone]
    )
    assert result is None
    assert sent[-1] == (Verb.DELETE, f"{PATH}/pi")
    assert bodies[0]["preconditions"] == {"uid": "u9"}


def test_an_array_task_create_passes_the_gate_and_a_throttle_narrows_it() -> None:
    job = prepare_job(template("true"), namespace="team")
    script = [TransientBackendError(429, "slow down"), job]  # throttled, then created
    sync_gate, async_gate = SubmitGate(AimdWindow(8)), AsyncSubmitGate(AimdWindow(8))
    sync = Scripted(*script)
    run_sync(array_steps.create_task(job, sync_gate, NO_WAIT), sync)
    asynchronous = AsyncScripted(*script)
    asyncio.run(run_async(array_steps.create_task(job, async_gate, NO_WAIT), asynchronous))
    assert sync.sent == asynchronous.sent == [(Verb.POST, PATH), (Verb.POST, PATH)]
    for gate in (sync_gate, async_gate):
        assert (gate.window.size, gate.window.in_flight) == (4, 0)  # halved once; slots freed


def test_a_runner_refuses_the_other_runners_gate() -> None:
    job = prepare_job(template("true"), namespace="team")
    with pytest.raises(TypeError, match="thread gate"):
        run_sync(array_steps.create_task(job, AsyncSubmitGate(), NO_WAIT), Scripted())
    with pytest.raises(TypeError, match="async gate"):
        asyncio.run(run_async(array_steps.create_task(job, SubmitGate(), NO_WAIT), AsyncScripted()))


def test_gather_answers_in_order() -> None:
    def three() -> Step[list[Any]]:
        return gather([send(rq.list_pods("team", f"app={n}")) for n in "abc"], limit=2)

    result, sent = both(three, lambda: [{"n": 1}, {"n": 2}, {"n": 3}])
    assert result == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [path for _, path in sent] == ["/api/v1/namespaces/team/pods"] * 3


@pytest.mark.parametrize(
    ("request_", "verb", "path", "idempotent"),
    [
        (rq.get_owner("team", "arr"), Verb.GET, "/api/v1/namespaces/team/configmaps/arr", True),
        (rq.create_owner("team", {}), Verb.POST, "/api/v1/namespaces/team/configmaps", False),
        (
            rq.get_crd(),
            Verb.GET,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/mpijobs.kubeflow.org",
            True,
        ),
        (rq.get_mpi_job("team", "a/b", job_id="x"), Verb.GET, f"{PATH}/a%2Fb", True),
    ],
)
def test_requests_are_spelled_once(
    request_: Request, verb: Verb, path: str, idempotent: bool
) -> None:
    assert (request_.verb, request_.path, request_.idempotent) == (verb, path, idempotent)
