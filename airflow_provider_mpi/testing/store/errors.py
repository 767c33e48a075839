"""Errors of the emulated API server's store, each one a Kubernetes ``Status`` in waiting.

The store raises them; the server renders them with :meth:`StoreError.to_status`
and the controller catches them, so code and reason are decided once, where
the refusal happens. :func:`status_object` is the one place a ``Status`` body
is written, for these errors and for the server's own answers.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "STATUS_REASONS",
    "AlreadyExists",
    "BadRequest",
    "Conflict",
    "Gone",
    "Invalid",
    "MethodNotAllowed",
    "NotFound",
    "StoreError",
    "UnsupportedMediaType",
    "status_object",
]

JSONDict = dict[str, Any]

#: The ``StatusReason`` sent with each code when the caller names none.
STATUS_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_object(
    code: int, message: str, reason: str | None = None, details: JSONDict | None = None
) -> JSONDict:
    """A failure ``Status`` object, as kube-apiserver sends it.

    Args:
        code: the HTTP status.
        message: the human-readable message.
        reason: the ``StatusReason`` (from :data:`STATUS_REASONS` when None).
        details: the ``details`` (name, kind, causes...), left out when empty.

    Returns:
        ``{"kind": "Status", "apiVersion": "v1", "status": "Failure", ...}``.
    """
    status: JSONDict = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or STATUS_REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        status["details"] = details
    return status


class StoreError(Exception):
    """A request the store refuses; carries what a Kubernetes ``Status`` needs.

    Each subclass names its HTTP status and ``StatusReason`` in its class
    statement, ``class NotFound(StoreError, code=404, reason="NotFound")``;
    the base itself is a 500 ``InternalError``.
    """

    code: ClassVar[int] = 500
    reason: ClassVar[str] = "InternalError"

    def __init_subclass__(
        cls, *, code: int | None = None, reason: str | None = None, **kwargs: Any
    ) -> None:
        """Give a subclass its HTTP status and ``StatusReason``.

        Args:
            code: the HTTP status the error is sent with (the parent's when None).
            reason: the ``StatusReason`` of the ``Status`` body (the parent's when None).
            **kwargs: passed on to :meth:`object.__init_subclass__`.
        """
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if reason is not None:
            cls.reason = reason

    def __init__(
        self,
        message: str,
        *,
        causes: list[JSONDict] | None = None,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.causes: list[JSONDict] = causes or []
        self.name = name
        self.group = group
        self.kind = kind

    def to_status(self) -> JSONDict:
        """Render the error as a Kubernetes ``Status`` object.

        Returns:
            ``{"kind": "Status", "apiVersion": "v1", "status": "Failure", ...}``.
        """
        details: JSONDict = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        return status_object(self.code, self.message, self.reason, details)


class NotFound(StoreError, code=404, reason="NotFound"):
    """404: the object (or its namespace) does not exist."""


class AlreadyExists(StoreError, code=409, reason="AlreadyExists"):
    """409: an object of that name exists."""


class Conflict(StoreError, code=409, reason="Conflict"):
    """409: the update was based on a stale resourceVersion."""


class Invalid(StoreError, code=422, reason="Invalid"):
    """422: the object breaks validation; ``causes`` name the fields."""


class Gone(StoreError, code=410, reason="Expired"):
    """410: the requested resourceVersion has been compacted away."""


class BadRequest(StoreError, code=400, reason="BadRequest"):
    """400: a malformed request (bad selector, namespace mismatch...)."""


class UnsupportedMediaType(StoreError, code=415, reason="UnsupportedMediaType"):
    """415: a body format the endpoint does not accept."""


class MethodNotAllowed(StoreError, code=405, reason="MethodNotAllowed"):
    """405: the method is not supported on this path."""
