"""The ``Status`` answers of the emulated API server: errors, and the faults it injects.

Injected errors carry the messages kube-apiserver and its front proxies send
(429 with ``Retry-After``, 500, 503, 504), so clients classify them as they
would on a cluster.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airflow_provider_mpi.testing.faults import FaultDecision, FaultKind
from airflow_provider_mpi.testing.server.requests import json_response
from airflow_provider_mpi.testing.server.routing import Target
from airflow_provider_mpi.testing.store.errors import status_object

__all__ = ["fault_response", "injected_error", "not_found_response", "status_response"]

_MESSAGES = {
    429: "the server has received too many requests and has asked us to try again later",
    500: 'an error on the server ("internal error injected by the emulator") has prevented '
    "the request from succeeding",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be "
    "processing the request",
}


def not_found_response() -> web.Response:
    """The answer for a path nothing serves (an unknown resource or group).

    A ``Status`` with reason ``NotFound`` and the message clients show for it.
    (kube-apiserver's last handler is Go's ``http.NotFound``, a plain-text
    ``404 page not found`` that client-go and the Python clients turn into
    that same ``NotFound`` error; the emulator sends the ``Status`` directly.)

    Returns:
        The response.
    """
    return status_response(404, "the server could not find the requested resource", "NotFound")


def status_response(
    code: int, message: str, reason: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    """A ``Status`` error response.

    Args:
        code: the HTTP status.
        message: the human-readable message.
        reason: the ``StatusReason`` (derived from the code when None, see
            :data:`~airflow_provider_mpi.testing.store.errors.STATUS_REASONS`).
        headers: extra headers (``Retry-After``).

    Returns:
        The response.
    """
    details: dict[str, Any] | None = None
    if code in (429, 500, 503, 504):
        details = {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]}
        if headers and "Retry-After" in headers:
            details["retryAfterSeconds"] = int(headers["Retry-After"])
    return json_response(status_object(code, message, reason, details), code, headers)


def injected_error(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """The ``Status`` of an error the faults inject (a failed or a lost answer).

    Args:
        status: the HTTP status.
        headers: extra headers (``Retry-After``).

    Returns:
        The response.
    """
    message = _MESSAGES.get(status, f"injected error {status}")
    return status_response(status, message, headers=headers)


def fault_response(decision: FaultDecision, target: Target) -> web.Response:
    """The answer an injected error or ``forbid`` fault sends instead of handling the request.

    Args:
        decision: the faults drawn for the request (its ``error`` is set).
        target: the parsed path.

    Returns:
        The ``Status`` response.
    """
    fault = decision.error
    assert fault is not None
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else None
    if fault.kind is FaultKind.FORBID:
        rt = target.rt
        resource = rt.plural if rt else target.path
        group = rt.group if rt else ""
        return status_response(
            403,
            f'{resource} is forbidden: User "system:serviceaccount:emulator:client" cannot '
            f'{target.verb.value} resource "{resource}" in API group "{group}" in the '
            f'namespace "{target.namespace}"',
        )
    return injected_error(fault.status, headers)
