"""Translate Kubernetes client and transport errors into the provider's errors.

The tracker talks to the cluster through ``kubernetes`` (urllib3 below it) and
``kubernetes_asyncio`` (aiohttp below it). Their exceptions are many, differ
between the two stacks and change between releases; letting them out would
make every caller import both clients to handle a 409 or a reset. So every
call that leaves the process goes through :func:`translated`, and callers see
only :mod:`airflow_provider_mpi.drmaa2.errors`:

============================================  =================================
cause                                         raised
============================================  =================================
HTTP 401, 403                                 AuthorizationError
HTTP 404 on a job                             JobNotFoundError
HTTP 409                                      ConflictError
HTTP 410 (resourceVersion expired)            ResourceExpiredError
HTTP 408, 429, 500, 502, 503, 504             TransientBackendError (Retry-After kept)
other HTTP statuses                           BackendError (status kept)
reset, refused, timeout, truncated stream     TransientBackendError (status None)
TLS failure, bad configuration                BackendError (status None)
============================================  =================================

The HTTP status and the ``Status`` message of the API server travel on the
error; the original exception is chained (``raise ... from``).

Pure: the client libraries' exception classes are recognised by their
qualified names (:func:`_is_a`), never imported, so the modules that only
handle errors (the shared watches) load no client library.
"""

from __future__ import annotations

import asyncio
import email.utils
import http.client
import json
import socket
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.drmaa2.errors import (
    BackendError,
    DRMAA2Error,
    JobNotFoundError,
    TransientBackendError,
    backend_error_for_status,
)

__all__ = [
    "ResourceExpiredError",
    "parse_retry_after",
    "translate_error",
    "translated",
]

#: The client libraries' exceptions, by ``(top-level package, class name)``:
#: recognised on the exception's class or any base of it.
_API_EXCEPTIONS = (("kubernetes", "ApiException"), ("kubernetes_asyncio", "ApiException"))
_CONFIG_EXCEPTIONS = (("kubernetes", "ConfigException"), ("kubernetes_asyncio", "ConfigException"))
_RESPONSE_ERRORS = (("aiohttp", "ClientResponseError"),)
_CLIENT_TLS_ERRORS = (("urllib3", "SSLError"), ("aiohttp", "ClientSSLError"))
_MAX_RETRY_ERRORS = (("urllib3", "MaxRetryError"),)
_URLLIB3_SSL_ERRORS = (("urllib3", "SSLError"),)
#: The base exceptions of the HTTP stacks below the clients: transport errors.
_CLIENT_TRANSPORT_ERRORS = (("urllib3", "HTTPError"), ("aiohttp", "ClientError"))
_TLS_ERRORS: tuple[type[BaseException], ...] = (ssl.SSLError, ssl.CertificateError)
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
    socket.gaierror,
)


def _is_a(exc: BaseException, kinds: tuple[tuple[str, str], ...]) -> bool:
    """Whether the exception's class, or a base of it, is one of ``kinds``."""
    for cls in type(exc).__mro__:
        package = cls.__module__.partition(".")[0]
        if (package, cls.__name__) in kinds:
            return True
    return False


def _is_tls(exc: BaseException) -> bool:
    return isinstance(exc, _TLS_ERRORS) or _is_a(exc, _CLIENT_TLS_ERRORS)


class ResourceExpiredError(BackendError):
    """HTTP 410: the resourceVersion a list or watch started from is gone.

    Not transient in the retry sense: retrying the same request fails the same
    way. A watcher answers it by listing afresh (the watch code handles it;
    callers of the tracker never see it).
    """


def parse_retry_after(value: object, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header value.

    Args:
        value: delay seconds (``"3"``, ``"1.5"``) or an HTTP date.
        now: the current time for an HTTP date (defaults to the clock).

    Returns:
        The delay in seconds (never negative), or ``None`` when absent or unreadable.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or inf
        return None
    return max(0.0, seconds)


def _header(headers: object, name: str) -> object:
    if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
        return None
    getter: Any = headers
    value = getter.get(name)
    if value is None:
        value = getter.get(name.lower())
    return value


def _status_body(body: object) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str) or not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _from_api_exception(exc: Any, not_found: str | None) -> DRMAA2Error:
    status = getattr(exc, "status", None)
    status = int(status) if isinstance(status, int) and status > 0 else None
    body = _status_body(getattr(exc, "body", None))
    message = str(body.get("message") or getattr(exc, "reason", None) or exc).strip()
    if status == 404 and not_found is not None:
        return JobNotFoundError(not_found)
    if status == 410:
        return ResourceExpiredError(status, message)
    retry_after = parse_retry_after(_header(getattr(exc, "headers", None), "Retry-After"))
    details = body.get("details")
    if retry_after is None and isinstance(details, dict):
        retry_after = parse_retry_after(details.get("retryAfterSeconds"))
    if status is None:
        tls = _tls_error(exc)
        if tls is not None and _tls_is_permanent(tls):
            return BackendError(None, f"TLS failure talking to the Kubernetes API: {tls}")
        return TransientBackendError(None, message or "no response", retry_after=retry_after)
    return backend_error_for_status(status, message, retry_after=retry_after)


_PERMANENT_TLS_WORDS = ("CERTIFICATE", "WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HANDSHAKE")


def _tls_error(exc: BaseException) -> BaseException | None:
    """The TLS error behind an exception (its causes and urllib3 wrappers), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    found = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_tls(current):
            found = current
        reason = getattr(current, "reason", None)
        if _is_a(current, _MAX_RETRY_ERRORS) and isinstance(reason, BaseException):
            current = reason
        elif (
            _is_a(current, _URLLIB3_SSL_ERRORS)
            and current.args
            and isinstance(current.args[0], BaseException)
        ):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__
    return found


def _tls_is_permanent(error: BaseException) -> bool:
    """A certificate or protocol mismatch stays; a connection cut during TLS passes."""
    if isinstance(error, (ssl.SSLCertVerificationError, ssl.CertificateError)):
        return True
    if isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)):
        return False
    text = str(error).upper().replace(" ", "_")
    return any(word in text for word in _PERMANENT_TLS_WORDS)


def translate_error(exc: BaseException, *, not_found: str | None = None) -> DRMAA2Error:
    """Map one client or transport exception to the provider's error.

    Args:
        exc: the exception raised by ``kubernetes``, ``kubernetes_asyncio``,
            urllib3, aiohttp or the socket layer.
        not_found: the job ID to name in :class:`JobNotFoundError` when the
            answer is 404; without it a 404 is a plain :class:`BackendError`.

    Returns:
        The error to raise (``raise translate_error(exc) from exc``). A
        :class:`DRMAA2Error` is returned unchanged.
    """
    if isinstance(exc, DRMAA2Error):
        return exc
    if _is_a(exc, _API_EXCEPTIONS):
        return _from_api_exception(exc, not_found)
    if _is_a(exc, _RESPONSE_ERRORS):
        response: Any = exc
        if response.status == 404 and not_found is not None:
            return JobNotFoundError(not_found)
        retry_after = parse_retry_after(_header(response.headers, "Retry-After"))
        return backend_error_for_status(
            response.status, response.message or str(exc), retry_after=retry_after
        )
    if _is_a(exc, _CONFIG_EXCEPTIONS):
        return BackendError(None, f"Kubernetes configuration: {exc}")
    tls = _tls_error(exc)
    if tls is not None:
        if _tls_is_permanent(tls):
            return BackendError(None, f"TLS failure talking to the Kubernetes API: {tls}")
        return TransientBackendError(None, f"TLS connection broken: {tls}")
    if isinstance(exc, _TRANSPORT_ERRORS) or _is_a(exc, _CLIENT_TRANSPORT_ERRORS):
        text = str(exc) or type(exc).__name__
        return TransientBackendError(None, f"{type(exc).__name__}: {text}")
    return BackendError(None, f"unexpected {type(exc).__name__} from the Kubernetes client: {exc}")


@contextmanager
def translated(*, not_found: str | None = None) -> Iterator[None]:
    """Translate every exception raised in the block (``raise ... from``).

    Works around ``await`` as well: the translation happens when the
    exception leaves the block. ``asyncio.CancelledError``,
    ``KeyboardInterrupt`` and ``GeneratorExit`` pass through untouched.

    Args:
        not_found: the job ID to report when the API answers 404.

    Raises:
        DRMAA2Error: the translated error.

    Example:
        >>> with translated(not_found="default/pi"):  # doctest: +SKIP
        ...     api.get_namespaced_custom_object(...)
    """
    try:
        yield
    except DRMAA2Error:
        raise
    except Exception as exc:
        raise translate_error(exc, not_found=not_found) from exc
