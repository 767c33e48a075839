"""How one extension's string is read and written: the codecs the extension table is made of.

DRMAA2 leaves backend specifics to the template's ``extension_list``, a map of
strings. Each row of the extension table (:mod:`.table`) names a codec from
here: it parses the stored string into a typed value, raising
:class:`InvalidTemplateError` that names the extension and the value, and
formats a typed value back into the string the Go seed or DRMAA2OS would
write. Pure: strings in, values out.
"""

from __future__ import annotations

import abc
import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from airflow_provider_mpi.drmaa2 import InvalidTemplateError

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "WORKER_COMMAND_SEPARATOR",
    "AbsolutePath",
    "Boolean",
    "Choice",
    "Codec",
    "Command",
    "Integer",
    "KeyValues",
    "Names",
    "Text",
]

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: How the Go seed joins the worker command into one string.
WORKER_COMMAND_SEPARATOR = "<!~!>"
_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})

T = TypeVar("T")
V = TypeVar("V")
E = TypeVar("E", bound=enum.Enum)
Check = Callable[[str], "str | None"]


class Codec(abc.ABC, Generic[T, V]):
    """Reads a stored string as a ``T`` and writes a ``V`` as a string.

    Attributes:
        type_doc: how the README's extension table describes the syntax.
    """

    type_doc: str = "string"

    @abc.abstractmethod
    def parse(self, key: str, raw: str) -> T:
        """Read ``raw``, a non-empty stored value.

        Args:
            key: the extension name, for the error.
            raw: the stored string.

        Returns:
            The typed value.

        Raises:
            InvalidTemplateError: ``raw`` is malformed.
        """

    @abc.abstractmethod
    def format(self, key: str, value: V) -> str | None:
        """Write ``value`` as the stored string (None removes the extension).

        Args:
            key: the extension name, for the error.
            value: the typed value.

        Returns:
            The string to store, or None.

        Raises:
            InvalidTemplateError: ``value`` cannot be written.
        """


class Text(Codec[str, str]):
    """A single string; ``check`` says why a value is invalid (None when valid)."""

    def __init__(self, check: Check | None = None, type_doc: str = "string") -> None:
        self.check = check
        self.type_doc = type_doc

    def parse(self, key: str, raw: str) -> str:  # noqa: D102 - see Codec
        if self.check is not None and (error := self.check(raw)) is not None:
            raise InvalidTemplateError(key, raw, error)
        return raw

    def format(self, key: str, value: str) -> str | None:  # noqa: D102
        return value


class AbsolutePath(Text):
    """An absolute path in a container (no ``:``)."""

    def __init__(self) -> None:
        super().__init__(_absolute_path_error, "absolute path")


def _absolute_path_error(raw: str) -> str | None:
    return None if raw.startswith("/") and ":" not in raw else "must be an absolute path"


class Integer(Codec[int, int]):
    """A decimal integer between ``minimum`` and ``maximum``."""

    def __init__(self, minimum: int, maximum: int) -> None:
        self.minimum, self.maximum = minimum, maximum
        upper = {INT32_MAX: "2^31-1", INT64_MAX: "2^63-1"}.get(maximum, str(maximum))
        self.type_doc = f"integer {minimum}..{upper}"

    def parse(self, key: str, raw: str) -> int:  # noqa: D102
        text = raw.strip()
        if not text.lstrip("+-").isdigit() or not text.isascii():
            raise InvalidTemplateError(key, raw, "must be a decimal integer")
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            raise InvalidTemplateError(
                key, raw, f"must be between {self.minimum} and {self.maximum}"
            )
        return value

    def format(self, key: str, value: int) -> str | None:  # noqa: D102
        return str(value)


class Boolean(Codec[bool, bool]):
    """A boolean, written ``true``/``false`` and read as Go's ``strconv.ParseBool`` (any case)."""

    type_doc = "boolean"

    def parse(self, key: str, raw: str) -> bool:  # noqa: D102
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidTemplateError(key, raw, "must be true or false")

    def format(self, key: str, value: bool) -> str | None:  # noqa: D102
        return "true" if value else "false"


class Choice(Codec[E, "E | str"]):
    """One member of a string enum, matched in any case, written in its canonical spelling."""

    def __init__(self, choices: type[E]) -> None:
        self.choices = choices
        self.type_doc = ", ".join(f"`{m.value}`" for m in choices) + " (any case)"

    def _canonical(self, key: str, raw: str) -> E:
        for member in self.choices:
            if raw.strip().lower() == str(member.value).lower():
                return member
        options = ", ".join(str(m.value) for m in self.choices)
        raise InvalidTemplateError(key, raw, "must be one of " + options)

    def parse(self, key: str, raw: str) -> E:  # noqa: D102
        return self._canonical(key, raw)

    def format(self, key: str, value: E | str) -> str | None:  # noqa: D102
        return str(self._canonical(key, str(value)).value)


def _no_check(value: str) -> str | None:
    return None


class KeyValues(Codec[dict[str, str], Mapping[str, str]]):
    """A map written ``k=v,k2=v2`` as DRMAA2OS does, or a JSON object (for values with commas)."""

    type_doc = "`k=v,...` or JSON object"

    def __init__(
        self, check_key: Check, check_value: Check = _no_check, max_bytes: int | None = None
    ) -> None:
        self.check_key, self.check_value, self.max_bytes = check_key, check_value, max_bytes

    def parse(self, key: str, raw: str) -> dict[str, str]:  # noqa: D102
        pairs = _json_pairs(key, raw) if raw.lstrip().startswith("{") else _text_pairs(key, raw)
        result: dict[str, str] = {}
        for name, value in pairs:
            if (error := self.check_key(name)) is not None:
                raise InvalidTemplateError(key, raw, f"key {name!r} {error}")
            if (error := self.check_value(value)) is not None:
                raise InvalidTemplateError(key, raw, f"value {value!r} of {name!r} {error}")
            result[name] = value
        size = sum(len(k.encode()) + len(v.encode()) for k, v in result.items())
        if self.max_bytes is not None and size > self.max_bytes:
            limit = f"{self.max_bytes // 1024} KiB"
            raise InvalidTemplateError(key, raw, f"must be at most {limit} in total")
        return dict(sorted(result.items()))

    def format(self, key: str, value: Mapping[str, str]) -> str | None:  # noqa: D102
        items = sorted((str(k), str(v)) for k, v in value.items())
        if not items:
            return None
        if any(("," in k + v) or ("=" in k) or k != k.strip() or v != v.strip() for k, v in items):
            return json.dumps(dict(items), sort_keys=True, separators=(",", ":"))
        return ",".join(f"{k}={v}" for k, v in items)


def _json_pairs(key: str, raw: str) -> list[tuple[str, str]]:
    try:
        data: Any = json.loads(raw)
    except ValueError as exc:
        raise InvalidTemplateError(key, raw, f"not a JSON object: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise InvalidTemplateError(key, raw, "must be a JSON object of strings")
    return list(data.items())


def _text_pairs(key: str, raw: str) -> list[tuple[str, str]]:
    pairs = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        name, equals, value = item.partition("=")
        if not equals:
            raise InvalidTemplateError(key, raw, f"{item!r} is not key=value")
        pairs.append((name.strip(), value.strip()))
    return pairs


class Names(Codec[list[str], Iterable[str]]):
    """Names joined by ``separator``, each checked by ``check``; no names removes the extension."""

    def __init__(self, separator: str, check: Check) -> None:
        self.separator, self.check = separator, check
        self.type_doc = f"names joined by `{separator}`"

    def parse(self, key: str, raw: str) -> list[str]:  # noqa: D102
        names = [part.strip() for part in raw.split(self.separator) if part.strip()]
        for name in names:
            if (error := self.check(name)) is not None:
                raise InvalidTemplateError(key, raw, f"{name!r} {error}")
        return names

    def format(self, key: str, value: Iterable[str]) -> str | None:  # noqa: D102
        return self.separator.join(value) or None


class Command(Codec[list[str], Sequence[str]]):
    """A command and its arguments joined by ``<!~!>``, as the Go seed stores them."""

    type_doc = "command joined by `<!~!>`"

    def parse(self, key: str, raw: str) -> list[str]:  # noqa: D102
        return raw.split(WORKER_COMMAND_SEPARATOR)

    def format(self, key: str, value: Sequence[str]) -> str | None:  # noqa: D102
        for part in value:
            if WORKER_COMMAND_SEPARATOR in part:
                raise InvalidTemplateError(
                    key, part, f"must not contain {WORKER_COMMAND_SEPARATOR!r}"
                )
        return WORKER_COMMAND_SEPARATOR.join(value) if value else None
