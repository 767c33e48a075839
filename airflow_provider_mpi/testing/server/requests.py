"""Reading a request to the emulated API server, and writing a JSON answer.

The parts every resource verb shares: the body (JSON, or YAML for apply),
the object's type and the URL's name and namespace, ``dryRun``,
``DeleteOptions``, ``limit``/``continue`` tokens and ``Warning`` headers (the
405/415 errors sit with the other Status errors in :mod:`..store.errors`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import yaml
from aiohttp import web

from airflow_provider_mpi.testing.server.routing import Target
from airflow_provider_mpi.testing.store import BadRequest, NotFound, ResourceType
from airflow_provider_mpi.testing.store.errors import MethodNotAllowed

__all__ = [
    "bind_to_path",
    "check_type",
    "decode_continue",
    "delete_options",
    "encode_continue",
    "is_dry_run",
    "json_response",
    "match_namespace",
    "read_body",
    "read_object",
    "target_name",
    "target_rt",
    "wants_table",
    "warning_headers",
]

JSONDict = dict[str, Any]

_TABLE_MEDIA = "as=table"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response.

    Args:
        body: the document.
        status: the HTTP status.
        headers: extra headers.

    Returns:
        The response.
    """
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def wants_table(request: web.Request) -> bool:
    """Tell whether the client asked for the server-side ``Table`` format (``kubectl get``).

    Args:
        request: the request.

    Returns:
        True when the Accept header lists ``as=Table``.
    """
    return _TABLE_MEDIA in request.headers.get("Accept", "").replace(" ", "").lower()


async def read_body(request: web.Request, *, yaml_ok: bool = False) -> Any:
    """Parse a JSON (or, for apply, YAML) request body.

    Args:
        request: the request.
        yaml_ok: accept YAML.

    Returns:
        The document.

    Raises:
        BadRequest: an empty or malformed body.
    """
    raw = await request.read()
    if not raw.strip():
        raise BadRequest("the request body is empty")
    try:
        return json.loads(raw)
    except ValueError as exc:
        if not yaml_ok:
            raise BadRequest(f"couldn't decode the request body: {exc}") from exc
    try:  # JSON is YAML: only real YAML gets here (the C loader when available)
        return yaml.load(raw, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise BadRequest(f"couldn't decode the request body: {exc}") from exc


def encode_continue(resource_version: int, namespace: str, name: str) -> str:
    """The ``continue`` token of a list page that ends at ``namespace/name``."""
    raw = json.dumps({"rv": resource_version, "start": [namespace, name]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    """The list's resourceVersion and the last key of a ``continue`` token.

    Raises:
        BadRequest: a token this server did not write.
    """
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from exc


def warning_headers(warnings: list[str]) -> dict[str, str]:
    """The ``Warning`` header of admission warnings (none: no header)."""
    if not warnings:
        return {}
    # RFC 7234 warn-text is a quoted-string: inner quotes and backslashes escaped,
    # as the API server writes them.
    texts = (w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings)
    return {"Warning": ", ".join(f'299 - "{text}"' for text in texts)}


def check_type(rt: ResourceType, obj: JSONDict) -> None:
    """Refuse a body whose ``apiVersion`` or ``kind``, if set, are not ``rt``'s."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version and api_version != rt.api_version:
        raise BadRequest(
            f"the API version in the data ({api_version}) does not match the expected "
            f"API version ({rt.api_version})"
        )
    if kind and kind != rt.kind:
        raise BadRequest(
            f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
        )


async def read_object(request: web.Request, rt: ResourceType) -> JSONDict:
    """The request body: an object whose ``apiVersion`` and ``kind``, if set, are ``rt``'s."""
    body = await read_body(request)
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a {rt.kind} object")
    check_type(rt, body)
    return body


def bind_to_path(target: Target, body: JSONDict, name: str) -> None:
    """Give ``body`` the name and namespace of the URL; refuse different ones."""
    meta = body.setdefault("metadata", {})
    if meta.get("name") not in (None, name):
        raise BadRequest(
            f"the name of the object ({meta.get('name')}) does not match the name on the "
            f"URL ({name})"
        )
    meta["name"] = name
    match_namespace(target, meta)


async def delete_options(request: web.Request, rt: ResourceType) -> tuple[str, JSONDict]:
    """The propagation policy and the preconditions of a delete (query or ``DeleteOptions``)."""
    options: JSONDict = {}
    if request.can_read_body:
        raw = await request.read()
        if raw.strip():
            try:
                options = json.loads(raw)
            except ValueError as exc:
                raise BadRequest(f"couldn't decode DeleteOptions: {exc}") from exc
            if not isinstance(options, dict):
                raise BadRequest("DeleteOptions must be an object")
    policy = request.query.get("propagationPolicy") or options.get("propagationPolicy")
    orphan = request.query.get("orphanDependents") or options.get("orphanDependents")
    if policy is None and orphan is not None:
        policy = "Orphan" if str(orphan).lower() == "true" else "Background"
    if policy is None:
        # batch/v1 Jobs orphan their pods by default on the REST API (kubectl
        # always sends Background); everything else is collected in the background.
        policy = "Orphan" if rt.plural == "jobs" else "Background"
    return str(policy), options.get("preconditions") or {}


def is_dry_run(request: web.Request) -> bool:
    """Whether the request is a ``dryRun=All`` (any other value is refused)."""
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise BadRequest(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def target_rt(target: Target) -> ResourceType:
    """The resource the path names (404 for a path that names none)."""
    if target.rt is None:
        raise NotFound("the server could not find the requested resource")
    return target.rt


def target_name(target: Target) -> str:
    """The object the path names (405 on a collection)."""
    if target.name is None:
        raise MethodNotAllowed("the method is not allowed on a collection")
    return target.name


def match_namespace(target: Target, meta: JSONDict) -> None:
    """Give ``meta`` the URL's namespace; refuse a different one."""
    if target.namespace is None:
        meta.pop("namespace", None)
        return
    if meta.get("namespace") not in (None, "", target.namespace):
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    meta["namespace"] = target.namespace
