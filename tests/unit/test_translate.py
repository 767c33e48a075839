from __future__ import annotations

import asyncio
import http.client
import json
import socket
import ssl
from datetime import datetime, timezone

import aiohttp
import kubernetes.client
import kubernetes_asyncio.client
import pytest
import urllib3.exceptions
from kubernetes.config import ConfigException

from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    BackendError,
    ConflictError,
    DRMAA2Error,
    InvalidStateError,
    JobNotFoundError,
    TransientBackendError,
)
from airflow_provider_mpi.mpioperator.client.translate import (
    ResourceExpiredError,
    parse_retry_after,
    translate_error,
    translated,
)


def status_body(code: int, reason: str, message: str, **details: object) -> str:
    body: dict[str, object] = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return json.dumps(body)


def sync_api_exception(
    status: int, body: str = "", headers: dict[str, str] | None = None
) -> Exception:
    exc = kubernetes.client.ApiException(status=status, reason="reason phrase")
    exc.body = body
    exc.headers = headers or {}
    return exc


def async_api_exception(
    status: int, body: str = "", headers: dict[str, str] | None = None
) -> Exception:
    exc = kubernetes_asyncio.client.ApiException(status=status, reason="reason phrase")
    exc.body = body
    exc.headers = headers or {}
    return exc


API_EXCEPTIONS = [sync_api_exception, async_api_exception]


@pytest.mark.parametrize("make", API_EXCEPTIONS)
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BackendError),
        (401, AuthorizationError),
        (403, AuthorizationError),
        (404, BackendError),
        (408, TransientBackendError),
        (409, ConflictError),
        (410, ResourceExpiredError),
        (422, BackendError),
        (429, TransientBackendError),
        (500, TransientBackendError),
        (501, BackendError),
        (502, TransientBackendError),
        (503, TransientBackendError),
        (504, TransientBackendError),
    ],
)
def test_http_status_mapping(make: object, status: int, cls: type[BackendError]) -> None:
    exc = make(status, status_body(status, "Something", f"the message {status}"))  # type: ignore[operator]
    error = translate_error(exc)
    assert type(error) is cls
    assert error.status == status
    assert error.reason == f"the message {status}"


@pytest.mark.parametrize("make", API_EXCEPTIONS)
def test_not_found_names_the_job(make: object) -> None:
    error = translate_error(make(404, status_body(404, "NotFound", "gone")), not_found="ns/pi")  # type: ignore[operator]
    assert isinstance(error, JobNotFoundError)
    assert error.job_id == "ns/pi"


@pytest.mark.parametrize("make", API_EXCEPTIONS)
@pytest.mark.parametrize(
    ("headers", "body_details", "expected"),
    [
        ({"Retry-After": "3"}, {}, 3.0),
        ({"retry-after": "1.5"}, {}, 1.5),
        ({}, {"retryAfterSeconds": 2}, 2.0),
        ({}, {}, None),
        ({"Retry-After": "soon"}, {}, None),
    ],
)
def test_retry_after(
    make: object, headers: dict[str, str], body_details: dict[str, object], expected: object
) -> None:
    error = translate_error(
        make(429, status_body(429, "TooManyRequests", "slow down", **body_details), headers)
    )  # type: ignore[operator]
    assert isinstance(error, TransientBackendError)
    assert error.retry_after == expected


def test_message_falls_back_to_the_reason_phrase() -> None:
    error = translate_error(sync_api_exception(500, "not json"))
    assert error.reason == "reason phrase"


@pytest.mark.parametrize(
    "exc",
    [
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"),  # type: ignore[arg-type]
        urllib3.exceptions.MaxRetryError(
            None, "/x", urllib3.exceptions.NewConnectionError(None, "refused")
        ),  # type: ignore[arg-type]
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "refused"),
        BrokenPipeError(),
        http.client.IncompleteRead(b"partial"),
        http.client.RemoteDisconnected("closed"),
        TimeoutError(),
        asyncio.TimeoutError(),
        socket.gaierror(-2, "Name or service not known"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("truncated"),
        aiohttp.ClientConnectionError("refused"),
    ],
)
def test_transport_errors_are_transient(exc: BaseException) -> None:
    error = translate_error(exc)
    assert type(error) is TransientBackendError
    assert error.status is None
    assert type(exc).__name__ in error.reason


@pytest.mark.parametrize(
    "exc",
    [
        ssl.SSLError(1, "certificate verify failed"),
        urllib3.exceptions.SSLError("certificate verify failed"),
        urllib3.exceptions.MaxRetryError(
            None,  # type: ignore[arg-type]
            "/x",
            urllib3.exceptions.SSLError("certificate verify failed"),
        ),
        ConfigException("Invalid kube-config file. No configuration found."),
        ValueError("something odd in the client"),
        KeyError("x"),
    ],
)
def test_permanent_without_status(exc: BaseException) -> None:
    error = translate_error(exc)
    assert type(error) is BackendError
    assert error.status is None


def test_aiohttp_response_error() -> None:
    exc = aiohttp.ClientResponseError(
        None,  # type: ignore[arg-type]
        (),
        status=503,
        message="Service Unavailable",
        headers={"Retry-After": "4"},  # type: ignore[arg-type]
    )
    error = translate_error(exc)
    assert isinstance(error, TransientBackendError)
    assert (error.status, error.retry_after) == (503, 4.0)


def test_drmaa2_errors_pass_unchanged() -> None:
    error = InvalidStateError("ns/pi", "Done", "suspend")
    assert translate_error(error) is error


def test_translated_chains_the_cause() -> None:
    cause = sync_api_exception(404, status_body(404, "NotFound", "nope"))
    with pytest.raises(JobNotFoundError) as info, translated(not_found="ns/pi"):
        raise cause
    assert info.value.__cause__ is cause


def test_translated_passes_cancellation_and_drmaa2_errors() -> None:
    with pytest.raises(asyncio.CancelledError), translated():
        raise asyncio.CancelledError
    with pytest.raises(WaitError), translated():
        raise WaitError("x")


class WaitError(DRMAA2Error):
    pass


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 0.25 ", 0.25),
        ("0", 0.0),
        ("-3", 0.0),
        (7, 7.0),
        ("Thu, 01 Jan 2026 12:00:10 GMT", 10.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value: object, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), TransientBackendError),
        (ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"), TransientBackendError),
        (urllib3.exceptions.SSLError(ssl.SSLEOFError(8, "EOF")), TransientBackendError),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), BackendError),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), BackendError),
    ],
)
def test_tls_errors_cut_connection_or_bad_certificate(exc: BaseException, cls: type) -> None:
    assert type(translate_error(exc)) is cls


def test_api_exception_status_zero_after_a_certificate_failure() -> None:
    cause = urllib3.exceptions.SSLError(
        ssl.SSLCertVerificationError(1, "certificate verify failed")
    )
    try:
        try:
            raise cause
        except urllib3.exceptions.SSLError:
            raise kubernetes.client.ApiException(status=0, reason="SSLError\nbad cert") from None
    except kubernetes.client.ApiException as exc:
        exc.__context__ = cause
        error = translate_error(exc)
    assert type(error) is BackendError
