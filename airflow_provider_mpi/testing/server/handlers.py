"""Resource handlers of the emulated API server: CRUD, patch, list, delete and admission.

Each handler turns a parsed request (:class:`~.routing.Target`) into store
calls and a response, with the API server's semantics on top of the store's:
status cleared on create, the ``/status`` split, schema validation and
pruning of MPIJobs, the patch formats, ``limit``/``continue`` paging, delete
options and ``Table`` output for ``kubectl get``; deleting a
CustomResourceDefinition deletes every object of its resource first, as a
real server's CRD finalizer does. Watches and logs live in :mod:`~.streams`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import yaml
from aiohttp import web

from airflow_provider_mpi.testing.server import discovery
from airflow_provider_mpi.testing.server.patch import (
    PatchError,
    PatchTestFailed,
    PatchType,
    apply_configuration,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from airflow_provider_mpi.testing.server.routing import Target
from airflow_provider_mpi.testing.server.schema import validate_mpijob
from airflow_provider_mpi.testing.store import (
    RESOURCES,
    BadRequest,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    ResourceType,
    Store,
    StoreError,
    copy_json,
)

__all__ = [
    "ApiHandlers",
    "MethodNotAllowed",
    "UnsupportedMediaType",
    "Validator",
    "json_response",
    "read_body",
    "wants_table",
]

JSONDict = dict[str, Any]
#: Admission for one resource: returns the pruned object and the unknown fields dropped.
Validator = Callable[[JSONDict], tuple[JSONDict, list[str]]]

_TABLE_MEDIA = "as=table"
_CRDS = "customresourcedefinitions"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PATCH_RETRIES = 8


class UnsupportedMediaType(StoreError):
    """415: a body format the endpoint does not accept."""

    code = 415
    reason = "UnsupportedMediaType"


class MethodNotAllowed(StoreError):
    """405: the method is not supported on this path."""

    code = 405
    reason = "MethodNotAllowed"


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


def _encode_continue(resource_version: int, namespace: str, name: str) -> str:
    raw = json.dumps({"rv": resource_version, "start": [namespace, name]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from exc


class ApiHandlers:
    """CRUD, patch, list and delete over a :class:`Store`.

    Args:
        store: the store.
        now: the clock (ages in tables).
        validators: admission per plural (default: MPIJob schema validation).
    """

    def __init__(
        self,
        store: Store,
        now: Callable[[], datetime],
        validators: dict[str, Validator] | None = None,
    ) -> None:
        self.store = store
        self._now = now
        self._validators = validators if validators is not None else {"mpijobs": validate_mpijob}
        self._applied: dict[tuple[str, str, str | None], JSONDict] = {}

    # ----------------------------------------------------------- admission

    def _admit(
        self, rt: ResourceType, obj: JSONDict, request: web.Request, subresource: str | None
    ) -> tuple[JSONDict, list[str]]:
        """Validate and prune; returns the object and the warnings to send."""
        if not isinstance(obj, dict):
            raise BadRequest(f"the body must be a {rt.kind} object")
        if subresource is None and "status" in rt.subresources:
            # A write to the main resource cannot change the status: the API server
            # restores the stored one before validating, so a bad status is moot.
            obj.pop("status", None)
        if rt.plural == "secrets" and "stringData" in obj:
            # stringData is write-only: the API server folds it into data (base64).
            string_data = obj.pop("stringData") or {}
            if not isinstance(string_data, dict):
                raise BadRequest("stringData must be a map of strings")
            data = obj.setdefault("data", {}) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data
        validator = self._validators.get(rt.plural)
        if validator is None:
            return obj, []
        pruned, unknown = validator(obj)
        mode = request.query.get("fieldValidation", "Warn")
        if unknown and mode.lower() == "strict":
            fields = ", ".join(f'unknown field "{f}"' for f in unknown)
            raise BadRequest(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {fields}"
            )
        warnings = [] if mode.lower() == "ignore" else [f'unknown field "{f}"' for f in unknown]
        return pruned, warnings

    @staticmethod
    def _warning_headers(warnings: list[str]) -> dict[str, str]:
        if not warnings:
            return {}
        # RFC 7234 warn-text is a quoted-string: inner quotes and backslashes escaped,
        # as the API server writes them.
        texts = (w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings)
        return {"Warning": ", ".join(f'299 - "{text}"' for text in texts)}

    @staticmethod
    def _check_type(rt: ResourceType, obj: JSONDict) -> None:
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

    async def _read_object(self, request: web.Request, rt: ResourceType) -> JSONDict:
        """The request body: an object whose ``apiVersion`` and ``kind``, if set, are ``rt``'s."""
        body = await read_body(request)
        if not isinstance(body, dict):
            raise BadRequest(f"the body must be a {rt.kind} object")
        self._check_type(rt, body)
        return body

    def _bind_to_path(self, target: Target, body: JSONDict, name: str) -> None:
        """Give ``body`` the name and namespace of the URL; refuse different ones."""
        meta = body.setdefault("metadata", {})
        if meta.get("name") not in (None, name):
            raise BadRequest(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        meta["name"] = name
        self._match_namespace(target, meta)

    def _table_response(
        self, request: web.Request, rt: ResourceType, items: list[JSONDict], list_metadata: JSONDict
    ) -> web.Response:
        """A ``meta.k8s.io`` Table of ``items``, as ``kubectl get`` asks for."""
        include_object = request.query.get("includeObject", "Metadata")
        return json_response(
            discovery.table(
                rt,
                items,
                now=self._now(),
                include_object=include_object,
                list_metadata=list_metadata,
            )
        )

    def _prepare_create(self, rt: ResourceType, obj: JSONDict) -> JSONDict:
        """What the API server's create strategy does before storing."""
        if "status" in rt.subresources:
            obj.pop("status", None)
        if rt.plural == "pods":
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif rt.plural == "namespaces":
            obj["status"] = {"phase": "Active"}
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        elif rt.plural == "customresourcedefinitions":
            spec = obj.get("spec") or {}
            stored = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
            obj["status"] = {
                "acceptedNames": copy_json(spec.get("names") or {}),
                "storedVersions": stored,
                "conditions": [
                    {
                        "type": "NamesAccepted",
                        "status": "True",
                        "reason": "NoConflicts",
                        "message": "no conflicts found",
                    },
                    {
                        "type": "Established",
                        "status": "True",
                        "reason": "InitialNamesAccepted",
                        "message": "the initial names have been accepted",
                    },
                ],
            }
        return obj

    # ----------------------------------------------------------- verbs

    async def create(self, request: web.Request, target: Target) -> web.Response:
        """POST a collection.

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            201 with the created object.
        """
        rt = self._rt(target)
        dry_run = self._dry_run(request)
        body = await self._read_object(request, rt)
        obj, warnings = self._admit(rt, body, request, target.subresource)
        obj = self._prepare_create(rt, obj)
        created = self.store.create(rt.plural, obj, namespace=target.namespace, dry_run=dry_run)
        return json_response(created, 201, self._warning_headers(warnings))

    async def get(self, request: web.Request, target: Target) -> web.Response:
        """GET one object (or its ``/status``).

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            200 with the object (a one-row Table when asked for).
        """
        rt = self._rt(target)
        obj = self.store.get(rt.plural, target.namespace, self._name(target))
        if wants_table(request) and target.subresource is None:
            list_metadata = {"resourceVersion": obj["metadata"]["resourceVersion"]}
            return self._table_response(request, rt, [obj], list_metadata)
        return json_response(obj)

    async def list(self, request: web.Request, target: Target) -> web.Response:
        """GET a collection, with selectors and ``limit``/``continue`` paging.

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            200 with a ``<Kind>List`` (or a Table).

        Raises:
            Gone: a continue token older than the store's history.
        """
        rt = self._rt(target)
        query = request.query
        items, list_rv = self.store.list(
            rt.plural,
            target.namespace,
            label_selector=query.get("labelSelector"),
            field_selector=query.get("fieldSelector"),
        )
        token = query.get("continue")
        if token:
            token_rv, start = _decode_continue(token)
            if token_rv < self.store.oldest_resource_version:
                raise Gone(
                    "The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use "
                    "the continue token in this response to retrieve the remainder of the "
                    "results. Continuing with the provided token results in an inconsistent "
                    "list - objects that were created, modified, or deleted between the time "
                    "the first chunk was returned and now may show up in the list."
                )
            list_rv = token_rv
            items = [
                i
                for i in items
                if (i["metadata"].get("namespace", ""), i["metadata"]["name"]) > start
            ]
        metadata: JSONDict = {"resourceVersion": str(list_rv)}
        limit_text = query.get("limit")
        if limit_text:
            try:
                limit = int(limit_text)
            except ValueError:
                raise BadRequest(f"limit: invalid value {limit_text!r}") from None
            if limit > 0 and len(items) > limit:
                last = items[limit - 1]["metadata"]
                metadata["continue"] = _encode_continue(
                    list_rv, last.get("namespace", ""), last["name"]
                )
                metadata["remainingItemCount"] = len(items) - limit
                items = items[:limit]
        if wants_table(request):
            return self._table_response(request, rt, items, metadata)
        return json_response(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": metadata,
                "items": items,
            }
        )

    async def update(self, request: web.Request, target: Target) -> web.Response:
        """PUT an object or its ``/status``.

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            200 with the stored object.
        """
        rt = self._rt(target)
        dry_run = self._dry_run(request)
        body = await self._read_object(request, rt)
        self._bind_to_path(target, body, self._name(target))
        obj, warnings = self._admit(rt, body, request, target.subresource)
        updated = self.store.update(rt.plural, obj, subresource=target.subresource, dry_run=dry_run)
        return json_response(updated, 200, self._warning_headers(warnings))

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        """PATCH an object or its ``/status`` in any of the four patch formats.

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            200 with the stored object (201 when an apply created it).

        Raises:
            UnsupportedMediaType: an unknown format, or a strategic merge on an MPIJob.
        """
        rt = self._rt(target)
        dry_run = self._dry_run(request)
        media = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            patch_type = PatchType(media)
        except ValueError:
            raise UnsupportedMediaType(
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(p.value for p in PatchType)}"
            ) from None
        custom = rt.plural == "mpijobs"
        if custom and patch_type is PatchType.STRATEGIC:
            raise UnsupportedMediaType(
                "the body of the request was in an unknown format - accepted media types "
                "include: application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml"
            )
        body = await read_body(request, yaml_ok=patch_type is PatchType.APPLY)
        name = self._name(target)
        if patch_type is PatchType.APPLY:
            return await self._apply(request, target, rt, name, body, strategic=not custom)
        explicit_rv = isinstance(body, dict) and bool(
            (body.get("metadata") or {}).get("resourceVersion")
        )
        for _ in range(_PATCH_RETRIES):
            current = self.store.get(rt.plural, target.namespace, name)
            try:
                if patch_type is PatchType.JSON:
                    patched = json_patch(current, body)
                elif patch_type is PatchType.MERGE:
                    patched = merge_patch(current, body)
                else:
                    patched = strategic_merge_patch(current, body)
            except PatchTestFailed as exc:
                raise Invalid(str(exc), name=name, group=rt.group, kind=rt.kind) from exc
            except PatchError as exc:
                raise BadRequest(str(exc)) from exc
            if not isinstance(patched, dict):
                raise BadRequest("the patched object is not an object")
            meta = patched.setdefault("metadata", {})
            meta["name"] = name
            self._match_namespace(target, meta)
            if not explicit_rv:
                meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            obj, warnings = self._admit(rt, patched, request, target.subresource)
            try:
                updated = self.store.update(
                    rt.plural, obj, subresource=target.subresource, dry_run=dry_run
                )
            except Conflict:
                if explicit_rv:
                    raise
                continue
            return json_response(updated, 200, self._warning_headers(warnings))
        raise Conflict(f"too many concurrent updates to {rt.qualified} {name!r}")

    async def _apply(
        self,
        request: web.Request,
        target: Target,
        rt: ResourceType,
        name: str,
        body: Any,
        *,
        strategic: bool,
    ) -> web.Response:
        dry_run = self._dry_run(request)
        manager = request.query.get("fieldManager")
        if not manager:
            raise BadRequest("PATCH, application/apply-patch+yaml requires fieldManager")
        if not isinstance(body, dict):
            raise BadRequest("an apply configuration must be an object")
        self._check_type(rt, body)
        self._bind_to_path(target, body, name)
        key_ns = target.namespace or ""
        for _ in range(_PATCH_RETRIES):
            try:
                live: JSONDict | None = self.store.get(rt.plural, target.namespace, name)
            except NotFound:
                live = None
            if live is None:
                fresh = apply_configuration(None, body, strategic=strategic)
                obj, warnings = self._admit(rt, fresh, request, target.subresource)
                if target.subresource is None:
                    obj = self._prepare_create(rt, obj)
                created = self.store.create(
                    rt.plural, obj, namespace=target.namespace, dry_run=dry_run
                )
                if not dry_run:
                    self._applied[(created["metadata"]["uid"], manager, target.subresource)] = body
                return json_response(created, 201, self._warning_headers(warnings))
            uid = live["metadata"]["uid"]
            previous = self._applied.get((uid, manager, target.subresource))
            merged = apply_configuration(live, body, previous, strategic=strategic)
            merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            obj, warnings = self._admit(rt, merged, request, target.subresource)
            try:
                updated = self.store.update(
                    rt.plural, obj, subresource=target.subresource, dry_run=dry_run
                )
            except Conflict:
                continue
            if not dry_run:
                self._applied[(uid, manager, target.subresource)] = body
            return json_response(updated, 200, self._warning_headers(warnings))
        raise Conflict(f"too many concurrent updates to {rt.qualified} {key_ns}/{name}")

    async def delete(self, request: web.Request, target: Target) -> web.Response:
        """DELETE one object, with ``propagationPolicy`` and preconditions.

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            200 with the deleted object.
        """
        rt = self._rt(target)
        dry_run = self._dry_run(request)
        name = self._name(target)
        policy, preconditions = await self._delete_options(request, rt)
        if preconditions:
            current = self.store.get(rt.plural, target.namespace, name)
            for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = preconditions.get(key)
                if wanted and wanted != current["metadata"].get(key):
                    raise Conflict(
                        f"Precondition failed: {label} in precondition: {wanted}, {label} in "
                        f"object meta: {current['metadata'].get(key)}",
                        name=name,
                        group=rt.group,
                        kind=rt.plural,
                    )
        with self.store.lock:  # a CRD and its objects go in one step
            if rt.plural == _CRDS and not dry_run:
                self.store.get(rt.plural, None, name)  # 404 before touching anything
                self._delete_custom_objects(name)
            deleted = self.store.delete(
                rt.plural, target.namespace, name, propagation_policy=policy, dry_run=dry_run
            )
        self._forget_applied(deleted)
        return json_response(deleted)

    async def delete_collection(self, request: web.Request, target: Target) -> web.Response:
        """DELETE a collection (by selectors).

        Args:
            request: the request.
            target: the parsed path.

        Returns:
            200 with the list of deleted objects.
        """
        rt = self._rt(target)
        dry_run = self._dry_run(request)
        policy, _ = await self._delete_options(request, rt)
        items, _ = self.store.list(
            rt.plural,
            target.namespace,
            label_selector=request.query.get("labelSelector"),
            field_selector=request.query.get("fieldSelector"),
        )
        deleted = []
        for item in items:
            meta = item["metadata"]
            if rt.plural == _CRDS and not dry_run:
                self._delete_custom_objects(meta["name"])
            try:
                deleted.append(
                    self.store.delete(
                        rt.plural,
                        meta.get("namespace"),
                        meta["name"],
                        propagation_policy=policy,
                        dry_run=dry_run,
                    )
                )
            except NotFound:  # already collected as a dependent
                continue
        return json_response(
            {
                "kind": f"{rt.kind}List",
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    # ----------------------------------------------------------- helpers

    def _delete_custom_objects(self, crd_name: str) -> None:
        """Delete every object of the custom resource a CRD defines (its dependents too).

        kube-apiserver does this before it lets a deleted CRD go (the
        ``customresourcecleanup.apiextensions.k8s.io`` finalizer).
        """
        for rt in RESOURCES.values():
            if not rt.custom or rt.qualified != crd_name:
                continue
            with self.store.lock:
                items, _ = self.store.list(rt.plural)
                for item in items:
                    meta = item["metadata"]
                    try:
                        gone = self.store.delete(rt.plural, meta.get("namespace"), meta["name"])
                    except NotFound:
                        continue
                    self._forget_applied(gone)

    def _forget_applied(self, deleted: JSONDict) -> None:
        uid = deleted["metadata"]["uid"]
        for applied in [k for k in self._applied if k[0] == uid]:
            del self._applied[applied]

    async def _delete_options(self, request: web.Request, rt: ResourceType) -> tuple[str, JSONDict]:
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

    @staticmethod
    def _dry_run(request: web.Request) -> bool:
        values = request.query.getall("dryRun", [])
        for value in values:
            if value != "All":
                raise BadRequest(f'dryRun: Unsupported value: "{value}": supported values: "All"')
        return bool(values)

    @staticmethod
    def _rt(target: Target) -> ResourceType:
        if target.rt is None:
            raise NotFound("the server could not find the requested resource")
        return target.rt

    @staticmethod
    def _name(target: Target) -> str:
        if target.name is None:
            raise MethodNotAllowed("the method is not allowed on a collection")
        return target.name

    @staticmethod
    def _match_namespace(target: Target, meta: JSONDict) -> None:
        if target.namespace is None:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") not in (None, "", target.namespace):
            raise BadRequest(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = target.namespace
