"""The store's errors: each class's HTTP status and ``StatusReason``, as its ``Status`` says."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.testing.store.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Gone,
    Invalid,
    MethodNotAllowed,
    NotFound,
    StoreError,
    UnsupportedMediaType,
)


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (StoreError, 500, "InternalError"),
        (NotFound, 404, "NotFound"),
        (AlreadyExists, 409, "AlreadyExists"),
        (Conflict, 409, "Conflict"),
        (Invalid, 422, "Invalid"),
        (Gone, 410, "Expired"),
        (BadRequest, 400, "BadRequest"),
        (UnsupportedMediaType, 415, "UnsupportedMediaType"),
        (MethodNotAllowed, 405, "MethodNotAllowed"),
    ],
)
def test_each_error_renders_its_code_and_reason(
    error: type[StoreError], code: int, reason: str
) -> None:
    status = error("refused", name="job", kind="mpijobs").to_status()
    assert (status["code"], status["reason"], status["message"]) == (code, reason, "refused")
    assert status["details"] == {"name": "job", "kind": "mpijobs"}
    assert (error.code, error.reason) == (code, reason)


def test_a_subclass_keeps_what_its_class_statement_does_not_name() -> None:
    class NamespaceGone(NotFound):
        """404 still, for a namespace."""

    class Throttled(StoreError, code=429):
        """429, with the base's reason."""

    assert (NamespaceGone.code, NamespaceGone.reason) == (404, "NotFound")
    assert (Throttled.code, Throttled.reason) == (429, "InternalError")
    assert (NotFound.code, StoreError.code) == (404, 500)
