"""The one error hierarchy of the provider.

Every layer raises these classes and nothing else: the DRMAA2 model for bad
input, the MPI operator tracker for job and API trouble, the Airflow faces for
both. Errors of the Kubernetes clients (``kubernetes``, ``kubernetes_asyncio``,
``aiohttp``, ``urllib3``) are translated at the API boundary with
``raise ... from`` so callers catch one family and never import a client
library to handle an error. The HTTP status, when there is one, travels on
:class:`BackendError`.

The tree::

    DRMAA2Error
     ├── InvalidArgumentError (ValueError)       field, value
     │    └── InvalidTemplateError               field, value, errors (every broken field)
     │         └── UnsupportedAttributeError     field, value   (a field this backend cannot honour)
     ├── InvalidStateError                       job_id, state, action
     ├── JobNotFoundError (LookupError)          job_id
     ├── WaitTimeoutError (TimeoutError)         job_id, timeout, last_state
     └── BackendError                            status (HTTP status or None), reason
          ├── AuthorizationError                 401, 403
          ├── ConflictError                      409
          └── TransientBackendError              408, 429, 500, 502, 503, 504, resets, timeouts

Every error pickles with its attributes (Airflow ships exceptions between
processes, triggers serialise them): :class:`DRMAA2Error` defines
``__reduce__`` for all of them.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthorizationError",
    "BackendError",
    "ConflictError",
    "DRMAA2Error",
    "InvalidArgumentError",
    "InvalidStateError",
    "InvalidTemplateError",
    "JobNotFoundError",
    "TransientBackendError",
    "UnsupportedAttributeError",
    "WaitTimeoutError",
    "backend_error_for_status",
]

#: HTTP statuses worth retrying (with back-off) rather than failing at once.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


#: The longest ``repr`` of a value an error message quotes in full.
SHORT_VALUE = 80


def shorten(value: object, limit: int = SHORT_VALUE) -> str:
    """The ``repr`` of a value, cut to a readable length for an error message.

    Args:
        value: the value the user wrote.
        limit: the longest ``repr`` quoted whole.

    Returns:
        ``repr(value)``, or its start followed by ``...`` and the value's size.

    Example:
        >>> shorten("x" * 1_000_000)
        "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (1,000,000 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, (str, bytes)) else None
    if size is None and hasattr(value, "__len__"):
        size = f"{len(value):,} items"
    head = repr(value[: limit - 20]) if isinstance(value, (str, bytes)) else text[: limit - 20]
    return f"{head}... ({size or f'{len(text):,} characters'})"


class DRMAA2Error(Exception):
    """Base class of every error raised by the provider.

    The subclasses' ``__init__`` take other arguments than ``Exception``'s, so
    an error pickles as its class, its attributes and its message, and is
    rebuilt from them without calling ``__init__`` again.

    Args:
        message: what went wrong; a subclass composes it from its attributes
            unless the caller gives its own.

    Attributes:
        message: the message (also ``str(error)``).
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.__dict__.copy(), str(self)))


class InvalidArgumentError(DRMAA2Error, ValueError):
    """An argument or input field has an invalid value.

    Attributes:
        field: the name of the argument or field, as the caller spelled it.
        value: the rejected value.
        reason: what a valid value looks like (may be empty).
    """

    def __init__(
        self, field: str, value: object, reason: str = "", *, message: str | None = None
    ) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        if message is None:
            message = f"invalid value for {field}: {shorten(value)}"
            if reason:
                message += f" ({reason})"
        super().__init__(message)


class InvalidTemplateError(InvalidArgumentError):
    """A JobTemplate field or extension has an invalid value (or several do).

    One error may report every broken field of a template at once
    (:meth:`aggregate`); ``field``, ``value`` and ``reason`` are then those of
    the first, and :attr:`errors` lists them all.

    Attributes:
        errors: ``(field, value, reason)`` of every broken field, in the order
            they were found; one entry for a single error.
    """

    @property
    def errors(self) -> list[tuple[str, object, str]]:
        """Every broken field as ``(field, value, reason)``."""
        found = self.__dict__.get("_errors")
        if found is None:
            return [(self.field, self.value, self.reason)]
        return list(found)

    @property
    def fields(self) -> list[str]:
        """The names of every broken field or extension."""
        return [field for field, _, _ in self.errors]

    @classmethod
    def aggregate(cls, errors: list[InvalidTemplateError]) -> InvalidTemplateError:
        """One error that lists several, in one message.

        Args:
            errors: the errors found (at least one), in order.

        Returns:
            The only error when there is one; else an error of the first
            one's class whose message lists them all, numbered.
        """
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        lines = "; ".join(f"({n}) {error.message}" for n, error in enumerate(errors, 1))
        message = f"the job template has {len(errors)} errors: {lines}"
        combined = type(first).__new__(type(first))
        InvalidTemplateError.__init__(
            combined, first.field, first.value, first.reason, message=message
        )
        combined.__dict__.update(
            {k: v for k, v in first.__dict__.items() if k not in combined.__dict__}
        )
        combined.__dict__["_errors"] = [item for error in errors for item in error.errors]
        return combined


class UnsupportedAttributeError(InvalidTemplateError):
    """A JobTemplate field is set that this backend cannot honour.

    Attributes:
        backend: a short description of the backend, used in the message.
    """

    def __init__(
        self,
        field: str,
        value: object,
        reason: str = "",
        *,
        backend: str = "the MPI operator tracker",
        message: str | None = None,
    ) -> None:
        self.backend = backend
        if message is None:
            message = f"JobTemplate field {field!r} is not supported by {backend}"
            if reason:
                message += f": {reason}"
        super().__init__(field, value, reason, message=message)


class InvalidStateError(DRMAA2Error):
    """The job is in a state that does not allow the requested action.

    Attributes:
        job_id: the job.
        state: the job's state when the action was refused (a ``JobState``).
        action: the refused action (a ``JobControlAction`` or a method name).
    """

    def __init__(
        self, job_id: str, state: object, action: object, *, message: str | None = None
    ) -> None:
        self.job_id = job_id
        self.state = state
        self.action = action
        if message is None:
            message = f"cannot {action} job {job_id!r} in state {state}"
        super().__init__(message)


class JobNotFoundError(DRMAA2Error, LookupError):
    """No job (or array job) with this ID exists.

    Attributes:
        job_id: the ID that was looked up.
    """

    def __init__(self, job_id: str, *, message: str | None = None) -> None:
        self.job_id = job_id
        if message is None:
            message = f"job {job_id!r} not found"
        super().__init__(message)


class WaitTimeoutError(DRMAA2Error, TimeoutError):
    """A wait ended before the job reached one of the awaited states.

    Attributes:
        job_id: the job waited for.
        timeout: the timeout in seconds.
        last_state: the last state seen (a ``JobState``), or None if none was seen.
    """

    def __init__(
        self,
        job_id: str,
        timeout: float | None,
        last_state: object = None,
        *,
        message: str | None = None,
    ) -> None:
        self.job_id = job_id
        self.timeout = timeout
        self.last_state = last_state
        if message is None:
            message = f"timed out after {timeout}s waiting for job {job_id!r}"
            if last_state is not None:
                message += f" (last state {last_state})"
        super().__init__(message)


class BackendError(DRMAA2Error):
    """The backend (the Kubernetes API) refused or failed a request.

    Attributes:
        status: the HTTP status, or None when no response arrived.
        reason: the backend's explanation (a Kubernetes ``Status`` message or
            the transport error).
    """

    def __init__(self, status: int | None, reason: str, *, message: str | None = None) -> None:
        self.status = status
        self.reason = reason
        if message is None:
            message = reason if status is None else f"HTTP {status}: {reason}"
        super().__init__(message)


class AuthorizationError(BackendError):
    """The backend rejected the credentials (HTTP 401) or the permission (403)."""


class ConflictError(BackendError):
    """The request conflicts with the current object (HTTP 409).

    The object already exists or was changed concurrently.
    """


class TransientBackendError(BackendError):
    """A failure that may pass when retried: 429, 5xx, connection resets, timeouts.

    Attributes:
        retry_after: seconds the backend asked to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        status: int | None,
        reason: str,
        *,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status, reason, message=message)


def backend_error_for_status(
    status: int | None, reason: str, *, retry_after: float | None = None
) -> BackendError:
    """Choose the BackendError subclass that fits an HTTP status.

    A 404 is returned as a plain :class:`BackendError`: only the caller knows
    whether it means :class:`JobNotFoundError`.

    Args:
        status: the HTTP status, or None for a transport failure (reset,
            timeout), which counts as transient.
        reason: the backend's explanation.
        retry_after: the ``Retry-After`` delay in seconds, if given.

    Returns:
        An error instance ready to be raised.
    """
    if status is None or status in TRANSIENT_STATUSES:
        return TransientBackendError(status, reason, retry_after=retry_after)
    if status in (401, 403):
        return AuthorizationError(status, reason)
    if status == 409:
        return ConflictError(status, reason)
    return BackendError(status, reason)


def _rebuild(cls: type[DRMAA2Error], state: dict[str, Any], message: str) -> DRMAA2Error:
    """Recreate an error from its attributes when unpickling."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error
