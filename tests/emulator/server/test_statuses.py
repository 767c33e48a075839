"""Every ``Status`` body the emulator sends, written by one function: the exact shapes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from airflow_provider_mpi.testing.server.statuses import status_response
from airflow_provider_mpi.testing.store import AlreadyExists, Invalid


def _body(response: web.Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def test_a_store_error_is_a_status_with_its_details() -> None:
    causes = [{"reason": "FieldValueRequired", "message": "Required value", "field": "spec"}]
    error = Invalid("bad", causes=causes, name="pi", group="kubeflow.org", kind="MPIJob")
    assert error.to_status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "bad",
        "reason": "Invalid",
        "code": 422,
        "details": {"name": "pi", "group": "kubeflow.org", "kind": "MPIJob", "causes": causes},
    }
    bare = AlreadyExists("taken").to_status()
    assert (bare["reason"], bare["code"], "details" in bare) == ("AlreadyExists", 409, False)


def test_a_server_answer_takes_its_reason_from_the_code() -> None:
    response = status_response(429, "slow down", headers={"Retry-After": "2"})
    assert response.status == 429
    assert response.headers["Retry-After"] == "2"
    assert _body(response) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "slow down",
        "reason": "TooManyRequests",
        "code": 429,
        "details": {
            "causes": [{"reason": "UnexpectedServerResponse", "message": "slow down"}],
            "retryAfterSeconds": 2,
        },
    }
    assert _body(status_response(418, "teapot"))["reason"] == "Unknown"
    assert "details" not in _body(status_response(401, "Unauthorized"))
