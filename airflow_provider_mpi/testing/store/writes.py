"""What a write stores, decided without the store: pure checks and merges over JSON.

The store holds the lock, the objects and the resourceVersion; these functions
say whether a write may happen (metadata rules, preconditions) and what object
it leaves behind (an update keeps the server-owned fields, a status update
changes only the status, an orphaned dependent loses its ownerReference).
"""

from __future__ import annotations

from airflow_provider_mpi.testing.store.errors import Conflict, Invalid
from airflow_provider_mpi.testing.store.metadata import metadata_causes
from airflow_provider_mpi.testing.store.objects import JSONDict, copy_json
from airflow_provider_mpi.testing.store.resources import ResourceType

__all__ = [
    "GENERATION_KINDS",
    "check_metadata",
    "check_preconditions",
    "name_required",
    "orphaned",
    "replaced",
]

#: Kinds whose ``metadata.generation`` counts spec changes.
GENERATION_KINDS = frozenset({"mpijobs", "jobs", "customresourcedefinitions", "pods"})

#: Metadata an update cannot change: the stored values win.
_FIXED_METADATA = ("uid", "creationTimestamp", "namespace", "name", "generation")


def check_metadata(rt: ResourceType, meta: JSONDict) -> None:
    """Reject metadata the API server would reject (names, labels, annotations).

    Args:
        rt: the resource.
        meta: the object's ``metadata``.

    Raises:
        Invalid: with one cause per broken field.
    """
    causes = metadata_causes(rt.plural, meta)
    if not causes:
        return
    name = meta.get("name")
    details = [f"{c['field']}: {c['message']}" for c in causes]
    joined = details[0] if len(details) == 1 else "[" + ", ".join(details) + "]"
    raise Invalid(
        f'{rt.kind}{"." + rt.group if rt.group else ""} "{name}" is invalid: {joined}',
        causes=causes,
        name=str(name),
        group=rt.group,
        kind=rt.kind,
    )


def name_required(rt: ResourceType) -> Invalid:
    """The error of a create with neither ``name`` nor ``generateName``.

    Args:
        rt: the resource.

    Returns:
        The ``422 Invalid`` to raise.
    """
    return Invalid(
        f"{rt.kind} is invalid: metadata.name: Required value: name or generateName is required",
        causes=[
            {
                "reason": "FieldValueRequired",
                "message": "Required value: name or generateName is required",
                "field": "metadata.name",
            }
        ],
        group=rt.group,
        kind=rt.kind,
    )


def check_preconditions(rt: ResourceType, stored: JSONDict, meta_in: JSONDict) -> None:
    """Reject an update whose ``resourceVersion`` or ``uid`` names another version.

    Args:
        rt: the resource.
        stored: the object as stored.
        meta_in: the update's ``metadata``.

    Raises:
        Conflict: a precondition is set and stale.
    """
    old_meta = stored["metadata"]
    wanted_rv = meta_in.get("resourceVersion")
    wanted_uid = meta_in.get("uid")
    if (wanted_rv and str(wanted_rv) != old_meta["resourceVersion"]) or (
        wanted_uid and wanted_uid != old_meta["uid"]
    ):
        name = old_meta["name"]
        raise Conflict(
            f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has '
            "been modified; please apply your changes to the latest version and try again",
            name=name,
            group=rt.group,
            kind=rt.plural,
        )


def replaced(
    rt: ResourceType, stored: JSONDict, obj: JSONDict, subresource: str | None
) -> JSONDict:
    """The object an update (PUT) leaves, with the stored resourceVersion still on it.

    A status update takes only the status; a main update keeps the stored
    status (for kinds with a status subresource) and the server-owned
    metadata, and bumps ``generation`` when the spec changes.

    Args:
        rt: the resource.
        stored: the object as stored; not modified.
        obj: the update's object; not modified.
        subresource: None or ``"status"``.

    Returns:
        A new object.
    """
    old_meta = stored["metadata"]
    if subresource == "status":
        new = copy_json(stored)
        if "status" in obj:
            new["status"] = copy_json(obj["status"])
        else:
            new.pop("status", None)
    else:
        new = copy_json(obj)
        new["kind"] = rt.kind
        new["apiVersion"] = rt.api_version
        if "status" in rt.subresources:
            if "status" in stored:
                new["status"] = copy_json(stored["status"])
            else:
                new.pop("status", None)
        meta = new.setdefault("metadata", {})
        for fixed in _FIXED_METADATA:
            if fixed in old_meta:
                meta[fixed] = old_meta[fixed]
            else:
                meta.pop(fixed, None)
        if rt.plural in GENERATION_KINDS and new.get("spec") != stored.get("spec"):
            meta["generation"] = int(old_meta.get("generation", 0)) + 1
    new["metadata"]["resourceVersion"] = old_meta["resourceVersion"]
    return new


def orphaned(child: JSONDict, owner_uid: str) -> JSONDict:
    """A dependent without its ownerReference to ``owner_uid`` (an ``Orphan`` delete).

    Args:
        child: the dependent as stored; not modified.
        owner_uid: the deleted owner's uid.

    Returns:
        A new object (no ``ownerReferences`` key when none is left).
    """
    new = copy_json(child)
    new["metadata"]["ownerReferences"] = [
        r for r in new["metadata"].get("ownerReferences", []) if r.get("uid") != owner_uid
    ]
    if not new["metadata"]["ownerReferences"]:
        del new["metadata"]["ownerReferences"]
    return new
