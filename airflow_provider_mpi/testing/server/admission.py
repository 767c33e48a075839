"""Admission in the emulated API server: what a write passes through before the store.

Schema validation and pruning (MPIJobs, by the CRD's schema), the
``fieldValidation`` modes, the write-only ``stringData`` of secrets, a main
write that cannot touch the status, and the create strategies (a new pod is
``Pending``, a namespace ``Active``, a CRD ``Established``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from airflow_provider_mpi.testing.store import BadRequest, ResourceType, copy_json

__all__ = ["Validator", "admit", "prepare_create"]

JSONDict = dict[str, Any]
#: Admission for one resource: returns the pruned object and the unknown fields dropped.
Validator = Callable[[JSONDict], tuple[JSONDict, list[str]]]


def admit(
    rt: ResourceType,
    obj: JSONDict,
    subresource: str | None,
    validator: Validator | None,
    field_validation: str,
) -> tuple[JSONDict, list[str]]:
    """Validate and prune an object a write sends.

    Args:
        rt: the resource.
        obj: the object; changed in place.
        subresource: None or ``"status"``.
        validator: the resource's schema check, if it has one.
        field_validation: the ``fieldValidation`` query (``Strict``, ``Warn``, ``Ignore``).

    Returns:
        The object to store and the warnings to send.

    Raises:
        BadRequest: not an object, or an unknown field under ``Strict``.
    """
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
    if validator is None:
        return obj, []
    pruned, unknown = validator(obj)
    mode = field_validation
    if unknown and mode.lower() == "strict":
        fields = ", ".join(f'unknown field "{f}"' for f in unknown)
        raise BadRequest(
            f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
            f"strict decoding error: {fields}"
        )
    warnings = [] if mode.lower() == "ignore" else [f'unknown field "{f}"' for f in unknown]
    return pruned, warnings


def prepare_create(rt: ResourceType, obj: JSONDict) -> JSONDict:
    """What the API server's create strategy does before storing.

    Args:
        rt: the resource.
        obj: the admitted object; changed in place.

    Returns:
        ``obj``.
    """
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
