"""The patch formats the Kubernetes API accepts, applied to plain JSON objects.

``PATCH`` requests name their format by ``Content-Type``; this module turns a
stored object and a patch into the new object, without touching either
argument, so the server stays a thin HTTP layer:

- ``application/merge-patch+json``: RFC 7386 JSON merge patch;
- ``application/json-patch+json``: RFC 6902 JSON patch;
- ``application/strategic-merge-patch+json``: Kubernetes' strategic merge
  patch for built-in kinds (lists merged by their merge key, ``$patch``,
  ``$retainKeys``, ``$setElementOrder`` and ``$deleteFromPrimitiveList``
  directives), which ``kubectl apply`` and ``kubectl edit`` send;
- ``application/apply-patch+yaml``: server-side apply, modelled as a
  strategic merge of the applied configuration plus the removal of fields the
  same field manager applied before and no longer applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from airflow_provider_mpi.testing.store import copy_json

__all__ = [
    "PatchError",
    "PatchTestFailed",
    "PatchType",
    "apply_configuration",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]


class PatchType(str, Enum):
    """Patch formats by their ``Content-Type``."""

    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


class PatchError(ValueError):
    """A patch that is malformed (the server answers 400 BadRequest)."""


class PatchTestFailed(PatchError):
    """A JSON patch ``test`` (or a path) that does not hold (422 Invalid)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON merge patch.

    Args:
        target: the current document.
        patch: the merge patch (``null`` values delete keys).

    Returns:
        The patched document (a new object).
    """
    if not isinstance(patch, dict):
        return copy_json(patch)
    result = copy_json(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise PatchError(f"invalid JSON pointer {pointer!r}")
    return [_unescape(t) for t in pointer.split("/")[1:]] if pointer else []


def _resolve(doc: Any, tokens: list[str], pointer: str) -> Any:
    current = doc
    for token in tokens:
        if isinstance(current, dict):
            if token not in current:
                raise PatchTestFailed(f"path {pointer!r} does not exist")
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, pointer, allow_end=False)]
        else:
            raise PatchTestFailed(f"path {pointer!r} does not exist")
    return current


def _index(container: list[Any], token: str, pointer: str, *, allow_end: bool) -> int:
    if allow_end and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchTestFailed(f"invalid array index {token!r} in {pointer!r}")
    index = int(token)
    limit = len(container) if allow_end else len(container) - 1
    if index > limit:
        raise PatchTestFailed(f"array index {index} out of bounds in {pointer!r}")
    return index


def _add(doc: Any, pointer: str, value: Any) -> Any:
    tokens = _split_pointer(pointer)
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1], pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, pointer, allow_end=True), value)
    else:
        raise PatchTestFailed(f"cannot add at {pointer!r}: parent is not a container")
    return doc


def _remove(doc: Any, pointer: str) -> tuple[Any, Any]:
    tokens = _split_pointer(pointer)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _resolve(doc, tokens[:-1], pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchTestFailed(f"cannot remove {pointer!r}: it does not exist")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, pointer, allow_end=False))
    raise PatchTestFailed(f"cannot remove {pointer!r}: parent is not a container")


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 JSON patch.

    Args:
        target: the current document.
        operations: the list of operations (``add``, ``remove``, ``replace``,
            ``move``, ``copy``, ``test``).

    Returns:
        The patched document (a new object).

    Raises:
        PatchError: a malformed patch.
        PatchTestFailed: a failed ``test`` or a path that does not exist.
    """
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy_json(target)
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"operation {number} needs 'op' and 'path': {operation!r}")
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise PatchError(f"operation {number} ({op}) needs a 'value'")
        if op == "add":
            doc = _add(doc, path, copy_json(operation["value"]))
        elif op == "remove":
            doc, _ = _remove(doc, path)
        elif op == "replace":
            doc, _ = _remove(doc, path) if _split_pointer(path) else (doc, None)
            doc = _add(doc, path, copy_json(operation["value"]))
        elif op in ("move", "copy"):
            source = operation.get("from")
            if source is None:
                raise PatchError(f"operation {number} ({op}) needs 'from'")
            if op == "move":
                doc, value = _remove(doc, source)
            else:
                value = copy_json(_resolve(doc, _split_pointer(source), source))
            doc = _add(doc, path, value)
        elif op == "test":
            actual = _resolve(doc, _split_pointer(path), path)
            if actual != operation["value"]:
                raise PatchTestFailed(
                    f"test failed at {path!r}: {actual!r} != {operation['value']!r}"
                )
        else:
            raise PatchError(f"operation {number}: unknown op {op!r}")
    return doc


#: Merge keys of the list fields that built-in kinds merge (patchMergeKey).
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
#: Primitive lists merged as sets (patchStrategy merge).
_MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})

_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return _MERGE_KEYS.get(field)


def _strategic_list(field: str, current: Any, patch: list[Any]) -> Any:
    if field in _MERGED_PRIMITIVE_LISTS and isinstance(current, list):
        return list(current) + [v for v in patch if v not in current]
    key = _merge_key(field, patch)
    if key is None or not isinstance(current, list):
        return [_strip_directives(v) for v in patch if not _is_delete(v)]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [_strip_directives(v) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
    result = copy_json(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(copy_json(item))
            continue
        position = next(
            (i for i, v in enumerate(result) if isinstance(v, dict) and v.get(key) == item[key]),
            None,
        )
        if _is_delete(item):
            if position is not None:
                result.pop(position)
        elif position is None:
            result.append(_strip_directives(item))
        else:
            result[position] = strategic_merge_patch(result[position], item)
    return result


def _is_delete(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$patch") == "delete"


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") and v is not None
        }
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a Kubernetes strategic merge patch to a built-in kind.

    Args:
        target: the current object (or sub-object).
        patch: the patch; ``null`` deletes, lists with a merge key merge by it.

    Returns:
        The patched object (a new object).

    Raises:
        PatchError: an unknown ``$patch`` directive.
    """
    if not isinstance(patch, dict):
        return copy_json(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return None
    if directive is not None:
        raise PatchError(f"unknown $patch directive {directive!r}")
    result = copy_json(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key.startswith(_SET_ORDER) or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _strategic_list(key, result.get(key), value)
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _removals(previous: Any, applied: Any) -> Any:
    """A strategic patch that deletes what ``previous`` set and ``applied`` no longer sets."""
    if not isinstance(previous, Mapping) or not isinstance(applied, Mapping):
        return None
    patch: dict[str, Any] = {}
    for key, old in previous.items():
        if key not in applied:
            # Remove only what the manager set: a map keeps the keys others own.
            patch[key] = _removals(old, {}) if isinstance(old, Mapping) and old else None
        else:
            nested = _removals(old, applied[key])
            if nested:
                patch[key] = nested
    return patch


def apply_configuration(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    previous: dict[str, Any] | None = None,
    *,
    strategic: bool = True,
) -> dict[str, Any]:
    """Server-side apply: merge an applied configuration into the live object.

    Fields the same field manager applied before (``previous``) and no longer
    applies are removed; fields set by others are kept. Conflicts between
    managers are not modelled (every apply behaves as ``--force-conflicts``).

    Args:
        live: the stored object, or None when the apply creates it.
        applied: the configuration sent by the field manager.
        previous: what that manager applied last time, if anything.
        strategic: merge lists by merge key (built-in kinds); custom
            resources replace lists (their schema has no merge keys).

    Returns:
        The object to store (a new object).
    """
    merge = strategic_merge_patch if strategic else merge_patch
    base: Any = copy_json(live) if live is not None else {}
    removals = _removals(previous or {}, applied)
    if removals:
        base = merge(base, removals)
    result: dict[str, Any] = merge(base, _strip_directives(applied))
    return result
