"""What a list or a watch may select on: label and field selectors, checked per resource.

The API server accepts ``metadata.name`` and ``metadata.namespace`` in a field
selector for every kind and a few more fields for some (``status.phase`` of a
pod, ``involvedObject.*`` of an event); anything else is a ``400``.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mpi.testing.store.errors import BadRequest
from airflow_provider_mpi.testing.store.objects import JSONDict
from airflow_provider_mpi.testing.store.resources import ResourceType
from airflow_provider_mpi.testing.store.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)

__all__ = ["compile_field_selector", "compile_label_selector", "field_value"]

#: Extra fields each resource accepts in a field selector (all accept metadata.name/namespace).
_SELECTABLE_FIELDS: dict[str, frozenset[str]] = {
    "pods": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "secrets": frozenset({"type"}),
    "jobs": frozenset({"status.successful"}),
    "namespaces": frozenset({"status.phase"}),
}

_FIELD_PATHS = {"source": "source.component"}


def field_value(obj: JSONDict, path: str) -> str | None:
    """The string value of a selectable field, as field selectors compare it.

    Args:
        obj: the object.
        path: a dotted path such as ``status.phase``.

    Returns:
        The value (booleans as ``true``/``false``), or None when absent or not a scalar.
    """
    current: Any = obj
    for part in _FIELD_PATHS.get(path, path).split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    if current is None or isinstance(current, (dict, list)):
        return None
    return str(current)


_Key = tuple[str, str, str]  # plural, namespace ("" when cluster-scoped), name


def compile_field_selector(rt: ResourceType, text: str | None) -> FieldSelector:
    """Parse a field selector and check its fields are selectable for the resource.

    Args:
        rt: the resource.
        text: the selector text.

    Returns:
        The compiled selector.

    Raises:
        BadRequest: unparseable, or a field the resource does not support.
    """
    try:
        selector = parse_field_selector(text)
    except SelectorError as exc:
        raise BadRequest(str(exc)) from exc
    allowed = _SELECTABLE_FIELDS.get(rt.plural, frozenset()) | {
        "metadata.name",
        "metadata.namespace",
    }
    for key in selector.keys - allowed:
        raise BadRequest(
            f"field label not supported: {key}",
            kind=rt.plural,
        )
    return selector


def compile_label_selector(text: str | None) -> LabelSelector:
    """Parse a label selector.

    Args:
        text: the selector text.

    Returns:
        The compiled selector.

    Raises:
        BadRequest: when it does not parse.
    """
    try:
        return parse_label_selector(text)
    except SelectorError as exc:
        raise BadRequest(str(exc)) from exc
