"""The error hierarchy: the tree of docs/internals.md, messages, pickling."""

from __future__ import annotations

import pickle

import pytest

from airflow_provider_mpi.drmaa2 import (
    AuthorizationError,
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidArgumentError,
    InvalidStateError,
    InvalidTemplateError,
    JobControlAction,
    JobNotFoundError,
    JobState,
    TransientBackendError,
    UnsupportedAttributeError,
    WaitTimeoutError,
    backend_error_for_status,
)

# class, its parents (ours and builtin)
TREE = [
    (InvalidArgumentError, (DRMAA2Error, ValueError)),
    (InvalidTemplateError, (InvalidArgumentError, ValueError)),
    (UnsupportedAttributeError, (InvalidTemplateError, InvalidArgumentError)),
    (InvalidStateError, (DRMAA2Error,)),
    (JobNotFoundError, (DRMAA2Error, LookupError)),
    (WaitTimeoutError, (DRMAA2Error, TimeoutError)),
    (BackendError, (DRMAA2Error,)),
    (AuthorizationError, (BackendError,)),
    (ConflictError, (BackendError,)),
    (TransientBackendError, (BackendError,)),
]


@pytest.mark.parametrize(("cls", "parents"), TREE)
def test_tree(cls: type[Exception], parents: tuple[type[Exception], ...]) -> None:
    for parent in parents:
        assert issubclass(cls, parent)


# error, attributes, message
CASES = [
    (
        InvalidArgumentError("minSlots", "two", "must be an integer"),
        {"field": "minSlots", "value": "two", "reason": "must be an integer"},
        "invalid value for minSlots: 'two' (must be an integer)",
    ),
    (
        InvalidTemplateError("jobCategory", ""),
        {"field": "jobCategory", "value": ""},
        "invalid value for jobCategory: ''",
    ),
    (
        UnsupportedAttributeError("email", ["a@b"], "the cluster sends no mail"),
        {"field": "email", "value": ["a@b"], "backend": "the MPI operator tracker"},
        "JobTemplate field 'email' is not supported by the MPI operator tracker: "
        "the cluster sends no mail",
    ),
    (
        InvalidStateError("default/pi", JobState.DONE, JobControlAction.SUSPEND),
        {"job_id": "default/pi", "state": JobState.DONE, "action": JobControlAction.SUSPEND},
        "cannot suspend job 'default/pi' in state Done",
    ),
    (
        JobNotFoundError("default/pi"),
        {"job_id": "default/pi"},
        "job 'default/pi' not found",
    ),
    (
        WaitTimeoutError("default/pi", 2.5, JobState.RUNNING),
        {"job_id": "default/pi", "timeout": 2.5, "last_state": JobState.RUNNING},
        "timed out after 2.5s waiting for job 'default/pi' (last state Running)",
    ),
    (
        WaitTimeoutError("default/pi", 0),
        {"last_state": None},
        "timed out after 0s waiting for job 'default/pi'",
    ),
    (
        BackendError(422, "MPIJob is invalid"),
        {"status": 422, "reason": "MPIJob is invalid"},
        "HTTP 422: MPIJob is invalid",
    ),
    (
        AuthorizationError(403, "forbidden"),
        {"status": 403},
        "HTTP 403: forbidden",
    ),
    (
        ConflictError(409, "already exists"),
        {"status": 409},
        "HTTP 409: already exists",
    ),
    (
        TransientBackendError(429, "slow down", retry_after=1.5),
        {"status": 429, "retry_after": 1.5},
        "HTTP 429: slow down",
    ),
    (
        TransientBackendError(None, "connection reset"),
        {"status": None, "retry_after": None},
        "connection reset",
    ),
    (
        InvalidTemplateError("x", 1, message="custom text"),
        {"field": "x", "value": 1},
        "custom text",
    ),
]


@pytest.mark.parametrize(("error", "attributes", "message"), CASES)
def test_attributes_and_message(
    error: DRMAA2Error, attributes: dict[str, object], message: str
) -> None:
    for name, value in attributes.items():
        assert getattr(error, name) == value
    assert str(error) == message


@pytest.mark.parametrize(("error", "attributes", "message"), CASES)
def test_pickle_keeps_class_attributes_and_message(
    error: DRMAA2Error, attributes: dict[str, object], message: str
) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == message
    assert copy.args == error.args
    for name, value in attributes.items():
        assert getattr(copy, name) == value


class _ExpiredError(BackendError):
    """A subclass with its own constructor, as other layers define them."""

    def __init__(self, resource_version: int) -> None:
        self.resource_version = resource_version
        super().__init__(410, f"resourceVersion {resource_version} is too old")


def test_subclasses_with_their_own_constructor_pickle() -> None:
    copy = pickle.loads(pickle.dumps(_ExpiredError(42)))
    assert type(copy) is _ExpiredError
    assert copy.resource_version == 42
    assert copy.status == 410
    assert str(copy) == "HTTP 410: resourceVersion 42 is too old"


def test_translated_errors_chain_their_cause() -> None:
    def call() -> None:
        try:
            raise OSError("reset")
        except OSError as exc:
            raise TransientBackendError(None, "connection reset") from exc

    with pytest.raises(TransientBackendError) as info:
        call()
    assert isinstance(info.value.__cause__, OSError)
    assert pickle.loads(pickle.dumps(info.value)).reason == "connection reset"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (None, TransientBackendError),
        (400, BackendError),
        (401, AuthorizationError),
        (403, AuthorizationError),
        (404, BackendError),
        (408, TransientBackendError),
        (409, ConflictError),
        (422, BackendError),
        (429, TransientBackendError),
        (500, TransientBackendError),
        (502, TransientBackendError),
        (503, TransientBackendError),
        (504, TransientBackendError),
        (501, BackendError),
    ],
)
def test_backend_error_for_status(status: int | None, cls: type[BackendError]) -> None:
    error = backend_error_for_status(status, "why", retry_after=2.0)
    assert type(error) is cls
    assert error.status == status
    assert error.reason == "why"
    if cls is TransientBackendError:
        assert isinstance(error, TransientBackendError)
        assert error.retry_after == 2.0


def test_the_base_class_pickles_with_its_message_and_attributes() -> None:
    error = DRMAA2Error("plain")
    error.note = "kept"  # type: ignore[attr-defined]
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DRMAA2Error
    assert copy.args == ("plain",)
    assert copy.message == error.message == "plain"  # every error keeps its message
    assert copy.note == "kept"  # type: ignore[attr-defined]
