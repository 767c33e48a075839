"""ObjectMeta validation, as the API server applies it to every kind.

Names must be DNS subdomains (DNS labels for namespaces and services), label
keys and values must follow the label syntax, annotation keys the same key
syntax, and all annotations together stay under 256 KiB (why big CRDs need
``kubectl apply --server-side``). The emulator enforces these so that a
tracker that builds a bad label fails in tests as it would on a cluster.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ANNOTATIONS_LIMIT", "metadata_causes"]

#: Total bytes of annotation keys and values an object may carry.
ANNOTATIONS_LIMIT = 256 * 1024

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME_KINDS = frozenset({"namespaces", "services"})

_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_QUALIFIED_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character"
)
_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)


def _cause(
    field: str, value: Any, message: str, reason: str = "FieldValueInvalid"
) -> dict[str, str]:
    return {"reason": reason, "message": f'Invalid value: "{value}": {message}', "field": field}


def _key_causes(field: str, key: Any) -> list[dict[str, str]]:
    if not isinstance(key, str):
        return [_cause(field, key, "must be a string")]
    prefix, _, name = key.rpartition("/")
    causes = []
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        causes.append(_cause(field, key, "prefix part " + _SUBDOMAIN_MESSAGE))
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        causes.append(_cause(field, key, _QUALIFIED_MESSAGE + " (at most 63 characters)"))
    return causes


def metadata_causes(plural: str, meta: dict[str, Any]) -> list[dict[str, str]]:
    """Check an object's metadata.

    Args:
        plural: the resource (namespaces and services need DNS-label names).
        meta: ``metadata`` with the final name filled in.

    Returns:
        One ``StatusCause`` per problem (empty when valid).
    """
    causes: list[dict[str, str]] = []
    name = meta.get("name")
    label_name = plural in _LABEL_NAME_KINDS
    pattern, limit, message = (
        (_DNS_LABEL, 63, _LABEL_MESSAGE)
        if label_name
        else (_DNS_SUBDOMAIN, 253, _SUBDOMAIN_MESSAGE)
    )
    if not isinstance(name, str) or len(name) > limit or not pattern.match(name):
        causes.append(_cause("metadata.name", name, message))
    labels = meta.get("labels")
    if labels is not None and not isinstance(labels, dict):
        causes.append(_cause("metadata.labels", labels, "must be a map of strings"))
    for key, value in (labels or {}).items() if isinstance(labels, dict) else ():
        causes.extend(_key_causes("metadata.labels", key))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                _cause("metadata.labels", value, _VALUE_MESSAGE + " (at most 63 characters)")
            )
    annotations = meta.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        causes.append(_cause("metadata.annotations", annotations, "must be a map of strings"))
    elif annotations:
        size = 0
        for key, value in annotations.items():
            causes.extend(_key_causes("metadata.annotations", key))
            if not isinstance(value, str):
                causes.append(_cause("metadata.annotations", key, "values must be strings"))
                continue
            size += len(str(key)) + len(value.encode())
        if size > ANNOTATIONS_LIMIT:
            causes.append(
                {
                    "reason": "FieldValueTooLong",
                    "message": f"Too long: must have at most {ANNOTATIONS_LIMIT} bytes",
                    "field": "metadata.annotations",
                }
            )
    return causes
