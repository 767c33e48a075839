"""The node agent's access to the Kubernetes API: JSON in, JSON out, over the ``kubernetes`` client.

The agent speaks to the real API server as a kubelet does, with plain REST
calls on paths (no generated models: objects stay JSON dicts, as the emulator
keeps them). :class:`AgentAPI` is that narrow surface; :class:`RestAPI`
implements it with the connection settings (server, CA, client certificate
or token) of a kubeconfig, and tests can pass any object with the same
methods.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

__all__ = ["AgentAPI", "ApiError", "RestAPI"]

JSONDict = dict[str, Any]
MERGE_PATCH = "application/merge-patch+json"


class ApiError(Exception):
    """The API server answered with an error status.

    Args:
        status: The HTTP status.
        body: The ``Status`` object (or ``{"message": text}``).
    """

    def __init__(self, status: int, body: JSONDict) -> None:
        super().__init__(f"{status}: {body.get('message') or body}")
        self.status = status
        self.body = body


class AgentAPI(Protocol):
    """What the node agent needs of the API server."""

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: JSONDict | None = None,
        content_type: str = "application/json",
    ) -> JSONDict:
        """One call; the decoded answer. Raises :class:`ApiError` on an error status."""

    def watch(self, path: str, query: Mapping[str, str]) -> Iterator[JSONDict]:
        """Watch events of a collection, until the server ends the stream or :meth:`close`."""

    def close(self) -> None:
        """End open watches and release connections."""


class RestAPI:
    """:class:`AgentAPI` over the ``kubernetes`` client's REST layer.

    Args:
        kubeconfig: Path of the kubeconfig (its current context is used).
    """

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        self._client = config.new_client_from_config(config_file=kubeconfig, persist_config=False)
        self._client.configuration.retries = False
        self._host = str(self._client.configuration.host).rstrip("/")
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._client_module = client

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers: dict[str, str] = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        self._client.update_params_for_auth(headers, [], ["BearerToken"])
        return headers

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        body: JSONDict | None,
        content_type: str | None,
        timeout: Any,
    ) -> Any:
        url = self._host + path
        if query:
            url += "?" + urlencode(dict(query))
        rest = self._client.rest_client
        if isinstance(timeout, tuple):
            import urllib3

            timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        try:
            return rest.pool_manager.request(
                method,
                url,
                body=None if body is None else json.dumps(body).encode(),
                headers=self._headers(content_type if body is not None else None),
                preload_content=False,
                timeout=timeout,
                retries=False,
            )
        except Exception as error:  # urllib3 errors: the server is unreachable
            raise ApiError(503, {"message": f"{method} {path}: {error}"}) from error

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: JSONDict | None = None,
        content_type: str = "application/json",
    ) -> JSONDict:
        """One call (see :class:`AgentAPI`)."""
        response = self._send(method, path, query, body, content_type, 30.0)
        try:
            data = response.read()
        finally:
            response.release_conn()
        try:
            decoded = json.loads(data) if data else {}
        except ValueError:
            decoded = {"message": data.decode(errors="replace")}
        if response.status >= 400:
            raise ApiError(response.status, decoded if isinstance(decoded, dict) else {})
        return decoded if isinstance(decoded, dict) else {}

    def watch(self, path: str, query: Mapping[str, str]) -> Iterator[JSONDict]:
        """Stream watch events (see :class:`AgentAPI`)."""
        response = self._send("GET", path, {**query, "watch": "true"}, None, None, (10.0, None))
        with self._lock:
            if self._closed:
                response.release_conn()
                return
            self._open.add(response)
        try:
            if response.status >= 400:
                data = response.read()
                raise ApiError(response.status, json.loads(data) if data else {})
            buffer = b""
            for chunk in response.stream(4096, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except Exception as error:
            if isinstance(error, ApiError):
                raise
            with self._lock:
                if self._closed:
                    return
            raise ApiError(503, {"message": f"watch {path}: {error}"}) from error
        finally:
            with self._lock:
                self._open.discard(response)
            response.release_conn()

    def close(self) -> None:
        """End open watches (their sockets are shut) and the connection pool."""
        with self._lock:
            self._closed = True
            responses = list(self._open)
        for response in responses:
            try:
                response.shutdown()
            except Exception:
                response.close()
        self._client.close()
