"""A small HTTPS JSON client for the harness' own requests to the real API server.

The harness bootstraps the cluster (namespaces, RBAC, the CRD, tokens) as the
admin, before any Kubernetes client library is needed; a few standard-library
calls keep ``RealCluster.start`` fast and free of client-library quirks.
"""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["APIError", "RestClient"]


class APIError(Exception):
    """A non-2xx answer: the HTTP status and the ``Status`` object (or text) sent back."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else str(body)[:300]
        super().__init__(f"{method} {path}: {status} {message}")


class RestClient:
    """JSON requests to ``https://127.0.0.1:<port>`` with a client certificate or a token.

    Args:
        port: The API server's port on 127.0.0.1.
        ca: The CA certificate file.
        cert: The client certificate file (with ``key``).
        key: The client key file.
        token: A bearer token instead of a certificate.
        timeout: Seconds per request.
    """

    def __init__(
        self,
        port: int,
        ca: Path,
        *,
        cert: Path | None = None,
        key: Path | None = None,
        token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.port = port
        self._context = ssl.create_default_context(cafile=str(ca))
        if cert is not None:
            self._context.load_cert_chain(str(cert), str(key) if key else None)
        self._token = token
        self._timeout = timeout

    def request(
        self, method: str, path: str, body: Any = None, *, query: dict[str, str] | None = None
    ) -> Any:
        """Send one request and decode the JSON answer.

        Args:
            method: The HTTP method.
            path: The path (``/api/v1/namespaces``).
            body: A JSON-serialisable body.
            query: Query parameters.

        Returns:
            The decoded body (text when it is not JSON).

        Raises:
            APIError: On a non-2xx answer.
            OSError: When the server cannot be reached.
        """
        if query:
            path += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
        headers = {"Accept": "application/json", "User-Agent": "airflow-provider-mpi-real-cluster"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=self._context, timeout=self._timeout
        )
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:
            decoded = raw.decode("utf-8", "replace")
        if not 200 <= response.status < 300:
            raise APIError(method, path, response.status, decoded)
        return decoded

    def create(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to a collection; an existing object (409) is left as it is."""
        try:
            return self.request("POST", path, body)
        except APIError as exc:
            if exc.status == 409:
                return None
            raise
