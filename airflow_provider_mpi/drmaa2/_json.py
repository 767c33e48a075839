"""Shared reading and writing of Go ``encoding/json`` values.

``JobTemplate`` and ``JobInfo`` describe their fields once, as a table of
:class:`Field` rows (Python name, Go JSON key, kind); this module turns a row
and a value into Go JSON and back, with Go's ``omitempty`` rules and strict
type checks that name the offending key. Times follow Go's ``time.Time``
(RFC 3339 with up to nanoseconds; Python keeps microseconds, so the last three
digits are truncated) and Go's zero time ``0001-01-01T00:00:00Z`` means unset.
Durations are Go ``time.Duration``: integer nanoseconds.
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
import enum
import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from airflow_provider_mpi.drmaa2._gotime import (
    DURATION_DESCRIPTION,
    GO_ZERO_TIME,
    TIME_DESCRIPTION,
    check_int64,
    format_duration,
    format_time,
    parse_duration,
    parse_time,
)
from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.state import JobState

__all__ = [
    "GO_ZERO_TIME",
    "Field",
    "GoJSONText",
    "Kind",
    "check_value",
    "encode_value",
    "format_duration",
    "format_time",
    "from_mapping",
    "parse_duration",
    "parse_time",
    "to_mapping",
    "unknown_key",
]


_Go = TypeVar("_Go", bound="GoJSONText")


class GoJSONText(abc.ABC):
    """``from_json`` and ``to_json`` for a class that reads and writes Go JSON keys.

    The class gives :meth:`from_dict`, :meth:`to_dict` and the error it raises
    (``json_error``); the text round trip is the same for a template and a job info.
    """

    json_error: ClassVar[type[InvalidArgumentError]] = InvalidArgumentError

    @classmethod
    @abc.abstractmethod
    def from_dict(cls: type[_Go], data: Mapping[str, Any]) -> _Go:
        """Build one from Go JSON keys or snake_case names."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Dump as Go would marshal it."""

    @classmethod
    def from_json(cls: type[_Go], text: str | bytes) -> _Go:
        """Build one from Go JSON text.

        Raises:
            InvalidArgumentError: the text is not JSON or not valid for the class
                (the class's ``json_error``, e.g. ``InvalidTemplateError``).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise cls.json_error(cls.__name__, text, f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    def to_json(self, *, indent: int | None = None) -> str:
        """Dump as Go JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)


class Kind(enum.Enum):
    """The Go type of a field, which decides checking and encoding.

    The value is the description used in error messages ("must be ...").
    """

    STR = (1, "a string")
    BOOL = (2, "a boolean")
    INT = (3, "an integer")
    OPT_INT = (4, "an integer")  # None when unset; Go's -1/-3 "unset" markers read as None
    STR_LIST = (5, "a list of strings")
    STR_MAP = (6, "a mapping of strings to strings")
    TIME = (7, TIME_DESCRIPTION)
    DURATION = (8, DURATION_DESCRIPTION)
    STATE = (9, "a job state (integer or name)")

    @property
    def description(self) -> str:
        """What a valid value looks like."""
        return self.value[1]


@dataclasses.dataclass(frozen=True)
class Field:
    """One row of a model's field table."""

    name: str
    key: str
    kind: Kind
    #: What Go writes for an unset ``OPT_INT`` (``UnsetNum`` -1 or ``UnsetTime``
    #: -3); written for None so that Go reads "unset", not 0. None: omitted.
    unset: int | None = None
    #: Other keys accepted on input (spellings of older Go releases).
    aliases: tuple[str, ...] = ()


def check_value(kind: Kind, key: str, value: object, error: type[InvalidArgumentError]) -> Any:
    """Type-check and convert one JSON (or Python) value of a field.

    Returns:
        The value as the dataclass stores it (copies of lists and dicts).

    Raises:
        InvalidArgumentError: (or the given subclass) naming ``key`` and ``value``.
    """
    reason = f"must be {kind.description}"
    if kind is Kind.STR:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
    elif kind is Kind.BOOL:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
    elif kind is Kind.INT:
        if value is None:
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            return check_int64(key, value, error)
    elif kind is Kind.OPT_INT:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return None if value in (-1, -3) else check_int64(key, value, error)
    elif kind is Kind.STR_LIST:
        if value is None:
            return []
        if isinstance(value, (list, tuple)):
            for item in value:
                if not isinstance(item, str):
                    raise error(key, value, f"{reason}; item {item!r} is not a string")
            return list(value)
    elif kind is Kind.STR_MAP:
        if value is None:
            return {}
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise error(key, value, f"{reason}; entry {k!r}: {v!r} is not string to string")
            return dict(value)
    elif kind is Kind.TIME:
        return parse_time(value, key, error)
    elif kind is Kind.DURATION:
        return parse_duration(value, key, error)
    elif kind is Kind.STATE:
        if value is None:
            return JobState.UNSET
        try:
            return JobState.parse(value)
        except InvalidArgumentError as exc:
            raise error(key, value, exc.reason) from None
    raise error(key, value, reason)


def encode_value(kind: Kind, key: str, value: Any, error: type[InvalidArgumentError]) -> Any:
    """Encode one field value as Go JSON, or return ``_OMIT`` when Go omits it.

    ``omitempty`` as in Go: empty strings, False, 0 (for plain integers), empty
    lists and maps are omitted. Optional values (``None`` = unset) are omitted
    when None and written otherwise, zero included, so they read back the same.
    """
    if kind is Kind.TIME:
        return _OMIT if value is None else format_time(value, key, error)
    if kind is Kind.DURATION:
        return _OMIT if value is None else format_duration(value)
    if kind is Kind.OPT_INT:
        return _OMIT if value is None else int(value)
    if kind is Kind.STATE:
        return int(value) if value else _OMIT
    if kind is Kind.STR_LIST:
        return list(value) if value else _OMIT
    if kind is Kind.STR_MAP:
        return dict(value) if value else _OMIT
    return value if value else _OMIT


_OMIT: Any = object()


def unknown_key(
    key: str, known: Iterable[str], what: str, error: type[InvalidArgumentError], value: object
) -> InvalidArgumentError:
    """Build the error for a key the model does not have, with a suggestion."""
    known = list(known)
    message = f"unknown {what} key {key!r}"
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {lowered[close[0]]!r}?"
    return error(key, value, "unknown key", message=message)


def from_mapping(
    data: object,
    fields: tuple[Field, ...],
    what: str,
    error: type[InvalidArgumentError],
    null_keys: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Read a Go JSON object (or its snake_case twin) into dataclass kwargs.

    Accepts each field under its Go key or its Python name (not both), and the
    extensions as ``{"extension": {"extensionList": {...}}}`` or as
    ``extension_list``.

    Raises:
        InvalidArgumentError: (or the given subclass) not a mapping, unknown or
            duplicated key, or a value of the wrong type.
    """
    if not isinstance(data, Mapping):
        raise error(what, data, "must be a mapping (JSON object)")
    by_key: dict[str, Field] = {}
    for f in fields:
        by_key[f.key] = f
        by_key[f.name] = f
        for alias in f.aliases:
            by_key[alias] = f
    kwargs: dict[str, Any] = {}
    given: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise error(str(key), value, "keys must be strings")
        if key in null_keys and value is None:
            continue
        if key in ("extension", "extension_list"):
            target, converted = "extension_list", _read_extension(key, value, error)
        elif key in by_key:
            f = by_key[key]
            target, converted = f.name, check_value(f.kind, key, value, error)
        else:
            names = [f.key for f in fields] + ["extension"]
            raise unknown_key(key, names, what, error, value)
        if target in given:
            raise error(key, value, f"given twice, also as {given[target]!r}")
        given[target] = key
        kwargs[target] = converted
    return kwargs


def _read_extension(key: str, value: object, error: type[InvalidArgumentError]) -> dict[str, str]:
    if key == "extension_list":
        result: dict[str, str] = check_value(Kind.STR_MAP, key, value, error)
        return result
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise error(key, value, 'must be {"extensionList": {...}}')
    for inner in value:
        if inner != "extensionList":
            raise unknown_key(
                f"extension.{inner}", ["extension.extensionList"], "extension", error, value
            )
    inner_value = value.get("extensionList")
    converted: dict[str, str] = check_value(
        Kind.STR_MAP, "extension.extensionList", inner_value, error
    )
    return converted


def to_mapping(
    obj: Any, fields: tuple[Field, ...], error: type[InvalidArgumentError]
) -> dict[str, Any]:
    """Write a model dataclass as a Go JSON object (``omitempty`` applied)."""
    result: dict[str, Any] = {}
    extensions: dict[str, str] = obj.extension_list
    if extensions:
        result["extension"] = {"extensionList": dict(extensions)}
    for f in fields:
        value = getattr(obj, f.name)
        if value is None and f.unset is not None:
            result[f.key] = f.unset
            continue
        encoded = encode_value(f.kind, f.key, value, error)
        if encoded is not _OMIT:
            result[f.key] = encoded
    return result
