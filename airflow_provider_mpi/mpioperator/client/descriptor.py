"""The request descriptor: one request to the Kubernetes API, as plain data.

A :class:`Request` is what a transport (:mod:`.sync` or :mod:`.aio`) needs to
send it, and nothing it has to decide: the verb, the path, the query, the
body, how to read the answer, whether it may be repeated, and what to name
in an error. The requests themselves are built in :mod:`.requests`. Pure.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.drmaa2.errors import BackendError

__all__ = [
    "AUTH_SETTINGS",
    "DEFAULT_REQUEST_TIMEOUT",
    "JSON",
    "MERGE_PATCH",
    "WATCH_READ_SLACK",
    "QueryValue",
    "Read",
    "Request",
    "Verb",
    "call_kwargs",
    "decode_json",
    "headers_of",
    "query",
]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
#: Seconds to connect and to wait for an ordinary (non-streaming) answer.
DEFAULT_REQUEST_TIMEOUT = (10.0, 60.0)
#: Extra read time granted to a watch beyond its server-side timeoutSeconds.
WATCH_READ_SLACK = 15.0

QueryValue = str | int | bool


class Verb(str, enum.Enum):
    """The HTTP verbs the tracker uses."""

    GET = "GET"
    POST = "POST"
    PATCH = "PATCH"
    DELETE = "DELETE"


class Read(enum.Enum):
    """How a transport reads the answer of a request."""

    #: The body is one JSON object, returned as a dict.
    JSON = "json"
    #: The body is text (a log), returned as a str.
    TEXT = "text"
    #: The body streams lines (a watch, a followed log), returned as an iterator.
    LINES = "lines"
    #: The body is read and dropped, returned as None (a create whose answer no one reads:
    #: the API server sends back the whole object, which costs the client a JSON decode).
    DISCARD = "discard"


@dataclass(frozen=True)
class Request:
    """One request to the Kubernetes API, as data.

    Attributes:
        verb: the HTTP verb.
        path: the path below the server's URL (names already quoted).
        query: the query parameters, in order; unset options are left out.
        body: the JSON body, or None.
        content_type: the body's media type (merge patches differ).
        read: how the answer is read.
        idempotent: whether the transport may repeat it on a transient error.
        what: a short description for retry logs.
        not_found: the ID a 404 names in :class:`JobNotFoundError` (None: a
            404 is a plain backend error).
        timeout: seconds to connect and to read (None: no read limit).
    """

    verb: Verb
    path: str
    query: tuple[tuple[str, QueryValue], ...] = ()
    body: Mapping[str, Any] | None = None
    content_type: str = JSON
    read: Read = Read.JSON
    idempotent: bool = True
    what: str = "Kubernetes request"
    not_found: str | None = None
    timeout: tuple[float, float | None] = DEFAULT_REQUEST_TIMEOUT


#: The credentials the clients' ``call_api`` applies (a bearer token when the
#: config has one; client certificates come with the client's TLS setup).
AUTH_SETTINGS = ["BearerToken"]


def headers_of(request: Request) -> dict[str, str]:
    """The headers of a request (both transports send the same).

    JSON is asked for everywhere, as the generated clients do (a log is text
    whatever is asked, and a watch streams JSON events).
    """
    return {"Accept": JSON, "Content-Type": request.content_type}


def call_kwargs(request: Request) -> dict[str, Any]:
    """The keyword arguments of the clients' ``ApiClient.call_api`` for a request.

    Both clients take the same: the answer is read raw (``_preload_content``
    off) and parsed by the transport, with the request's own timeouts.
    """
    return {
        "query_params": list(request.query),
        "header_params": headers_of(request),
        "body": request.body,
        "auth_settings": AUTH_SETTINGS,
        "_preload_content": False,
        "_request_timeout": request.timeout,
    }


def decode_json(data: bytes | str) -> dict[str, Any]:
    """The JSON object of an answer body (an empty body is an empty object).

    Raises:
        BackendError: the body is not a JSON object.
    """
    parsed = json.loads(data) if data else {}
    if not isinstance(parsed, dict):
        raise BackendError(None, f"unexpected response from the Kubernetes API: {data[:200]!r}")
    return parsed


def query(**options: QueryValue | None) -> tuple[tuple[str, QueryValue], ...]:
    """The query options that are set, under their API names (camelCase given), in order."""
    return tuple(
        (key, value) for key, value in options.items() if value is not None and value != ""
    )
