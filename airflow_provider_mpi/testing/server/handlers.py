"""Resource handlers of the emulated API server: CRUD, patch, list, delete and admission.

Each handler turns a parsed request (:class:`~.routing.Target`) into store
calls and a response, with the API server's semantics on top of the store's:
status cleared on create, the ``/status`` split, schema validation and
pruning of MPIJobs, the patch formats, ``limit``/``continue`` paging, delete
options and ``Table`` output for ``kubectl get``; deleting a
CustomResourceDefinition deletes every object of its resource first, as a
real server's CRD finalizer does. Watches and logs live in :mod:`~.streams`,
reading a request in :mod:`~.requests`, admission in :mod:`~.admission`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from airflow_provider_mpi.testing.server import tables
from airflow_provider_mpi.testing.server.admission import Validator, admit, prepare_create
from airflow_provider_mpi.testing.server.patch import (
    PatchError,
    PatchTestFailed,
    PatchType,
    apply_configuration,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)
from airflow_provider_mpi.testing.server.requests import (
    bind_to_path,
    check_type,
    decode_continue,
    delete_options,
    encode_continue,
    is_dry_run,
    json_response,
    match_namespace,
    read_body,
    read_object,
    target_name,
    target_rt,
    wants_table,
    warning_headers,
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
)
from airflow_provider_mpi.testing.store.errors import UnsupportedMediaType

__all__ = ["ApiHandlers"]

JSONDict = dict[str, Any]

_CRDS = "customresourcedefinitions"
_PATCH_RETRIES = 8


class ApiHandlers:
    """CRUD, patch, list and delete over a :class:`Store`.

    The verb handlers share one signature: each takes the aiohttp ``request``
    and its parsed path ``target`` (:class:`~.routing.Target`) and returns the
    response; a refusal is raised as a :class:`StoreError`, which the server
    renders as a ``Status``. Their answers:

    - :meth:`create`: 201 with the created object.
    - :meth:`get`: 200 with the object (a one-row Table when asked for).
    - :meth:`list`: 200 with a ``<Kind>List`` (or a Table).
    - :meth:`update`: 200 with the stored object.
    - :meth:`patch`: 200 with the stored object (201 when an apply created it).
    - :meth:`delete`: 200 with the deleted object.
    - :meth:`delete_collection`: 200 with the list of deleted objects.

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

    def _table_response(
        self, request: web.Request, rt: ResourceType, items: list[JSONDict], list_metadata: JSONDict
    ) -> web.Response:
        """A ``meta.k8s.io`` Table of ``items``, as ``kubectl get`` asks for."""
        include_object = request.query.get("includeObject", "Metadata")
        return json_response(
            tables.table(
                rt,
                items,
                now=self._now(),
                include_object=include_object,
                list_metadata=list_metadata,
            )
        )

    def _admit(
        self, request: web.Request, rt: ResourceType, obj: JSONDict, subresource: str | None
    ) -> tuple[JSONDict, list[str]]:
        """Validate and prune (:func:`.admission.admit`); the object and its warnings."""
        validator = self._validators.get(rt.plural)
        mode = request.query.get("fieldValidation", "Warn")
        return admit(rt, obj, subresource, validator, mode)

    def _write(
        self,
        request: web.Request,
        target: Target,
        rt: ResourceType,
        obj: JSONDict,
        *,
        dry_run: bool,
        create: bool = False,
    ) -> tuple[JSONDict, web.Response]:
        """Admit ``obj``, then create it (201) or update it (200).

        The one write path of create, update, patch and apply: validation and
        pruning, the create strategy for a new object, and the admission
        warnings as ``Warning`` headers.

        Args:
            request: the request (``fieldValidation``).
            target: the parsed path (namespace, subresource).
            rt: the resource.
            obj: the object to write, bound to the path.
            dry_run: ``dryRun=All``: admit and answer, but store nothing.
            create: create a new object rather than update the stored one.

        Returns:
            The stored object and the response that carries it.

        Raises:
            Conflict: an update based on a stale resourceVersion (patch and apply retry).
        """
        obj, warnings = self._admit(request, rt, obj, target.subresource)
        if create:
            if target.subresource is None:
                obj = prepare_create(rt, obj)
            stored = self.store.create(rt.plural, obj, namespace=target.namespace, dry_run=dry_run)
            return stored, json_response(stored, 201, warning_headers(warnings))
        stored = self.store.update(rt.plural, obj, subresource=target.subresource, dry_run=dry_run)
        return stored, json_response(stored, 200, warning_headers(warnings))

    async def _write_request_object(
        self, request: web.Request, target: Target, *, create: bool
    ) -> web.Response:
        """Store the whole object a POST (``create``) or a PUT carries.

        A PUT's object is bound to the name in its path; a POST's names itself.
        """
        rt = target_rt(target)
        dry_run = is_dry_run(request)
        body = await read_object(request, rt)
        if not create:
            bind_to_path(target, body, target_name(target))
        _, response = self._write(request, target, rt, body, dry_run=dry_run, create=create)
        return response

    # ----------------------------------------------------------- verbs

    async def create(self, request: web.Request, target: Target) -> web.Response:
        """POST a collection."""
        return await self._write_request_object(request, target, create=True)

    async def get(self, request: web.Request, target: Target) -> web.Response:
        """GET one object (or its ``/status``)."""
        rt = target_rt(target)
        obj = self.store.get(rt.plural, target.namespace, target_name(target))
        if wants_table(request) and target.subresource is None:
            list_metadata = {"resourceVersion": obj["metadata"]["resourceVersion"]}
            return self._table_response(request, rt, [obj], list_metadata)
        return json_response(obj)

    async def list(self, request: web.Request, target: Target) -> web.Response:
        """GET a collection, with selectors and ``limit``/``continue`` paging.

        Raises:
            Gone: a continue token older than the store's history.
        """
        rt = target_rt(target)
        query = request.query
        items, list_rv = _select(self.store, request, rt, target.namespace)
        token = query.get("continue")
        if token:
            token_rv, start = decode_continue(token)
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
                metadata["continue"] = encode_continue(
                    list_rv, last.get("namespace", ""), last["name"]
                )
                metadata["remainingItemCount"] = len(items) - limit
                items = items[:limit]
        if wants_table(request):
            return self._table_response(request, rt, items, metadata)
        return json_response(_list_object(rt, items, metadata))

    async def update(self, request: web.Request, target: Target) -> web.Response:
        """PUT an object or its ``/status``."""
        return await self._write_request_object(request, target, create=False)

    async def patch(self, request: web.Request, target: Target) -> web.Response:
        """PATCH an object or its ``/status`` in any of the four patch formats.

        Raises:
            UnsupportedMediaType: an unknown format, or a strategic merge on an MPIJob.
        """
        rt = target_rt(target)
        dry_run = is_dry_run(request)
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
        name = target_name(target)
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
            match_namespace(target, meta)
            if not explicit_rv:
                meta["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                _, response = self._write(request, target, rt, patched, dry_run=dry_run)
            except Conflict:
                if explicit_rv:
                    raise
                continue
            return response
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
        dry_run = is_dry_run(request)
        manager = request.query.get("fieldManager")
        if not manager:
            raise BadRequest("PATCH, application/apply-patch+yaml requires fieldManager")
        if not isinstance(body, dict):
            raise BadRequest("an apply configuration must be an object")
        check_type(rt, body)
        bind_to_path(target, body, name)
        key_ns = target.namespace or ""
        for _ in range(_PATCH_RETRIES):
            try:
                live: JSONDict | None = self.store.get(rt.plural, target.namespace, name)
            except NotFound:
                live = None
            if live is None:
                fresh = apply_configuration(None, body, strategic=strategic)
                created, response = self._write(
                    request, target, rt, fresh, dry_run=dry_run, create=True
                )
                if not dry_run:
                    self._applied[(created["metadata"]["uid"], manager, target.subresource)] = body
                return response
            uid = live["metadata"]["uid"]
            previous = self._applied.get((uid, manager, target.subresource))
            merged = apply_configuration(live, body, previous, strategic=strategic)
            merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
            try:
                _, response = self._write(request, target, rt, merged, dry_run=dry_run)
            except Conflict:
                continue
            if not dry_run:
                self._applied[(uid, manager, target.subresource)] = body
            return response
        raise Conflict(f"too many concurrent updates to {rt.qualified} {key_ns}/{name}")

    async def delete(self, request: web.Request, target: Target) -> web.Response:
        """DELETE one object, with ``propagationPolicy`` and preconditions."""
        rt = target_rt(target)
        dry_run = is_dry_run(request)
        name = target_name(target)
        policy, preconditions = await delete_options(request, rt)
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
        """DELETE a collection (by selectors)."""
        rt = target_rt(target)
        dry_run = is_dry_run(request)
        policy, _ = await delete_options(request, rt)
        items, _ = _select(self.store, request, rt, target.namespace)
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
        metadata = {"resourceVersion": str(self.store.resource_version)}
        return json_response(_list_object(rt, deleted, metadata))

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


def _list_object(rt: ResourceType, items: list[JSONDict], metadata: JSONDict) -> JSONDict:
    """A ``<Kind>List`` of ``items``."""
    return {
        "kind": f"{rt.kind}List",
        "apiVersion": rt.api_version,
        "metadata": metadata,
        "items": items,
    }


def _select(
    store: Store, request: web.Request, rt: ResourceType, namespace: str | None
) -> tuple[list[JSONDict], int]:
    """The objects the request's ``labelSelector`` and ``fieldSelector`` pick; the list's RV."""
    return store.list(
        rt.plural,
        namespace,
        label_selector=request.query.get("labelSelector"),
        field_selector=request.query.get("fieldSelector"),
    )
