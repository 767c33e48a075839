"""Label and field selectors, parsed and matched as the Kubernetes API server does.

The store filters lists and the server filters watch streams with the same
compiled selectors, so a selector is parsed once per request and then matched
against many objects cheaply. The grammar follows
``k8s.io/apimachinery/pkg/labels`` (equality and set-based requirements) and
``k8s.io/apimachinery/pkg/fields`` (equality only).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = [
    "FieldSelector",
    "LabelSelector",
    "Operator",
    "Requirement",
    "SelectorError",
    "parse_field_selector",
    "parse_label_selector",
]

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class SelectorError(ValueError):
    """A selector string that does not parse; the server answers 400 BadRequest."""


class Operator(str, Enum):
    """Operators of a selector requirement."""

    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = "gt"
    LESS_THAN = "lt"


@dataclass(frozen=True)
class Requirement:
    """One requirement of a selector: ``key <operator> values``."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Tell whether a label (or field) map satisfies the requirement.

        Args:
            labels: the object's labels, or its selectable fields.

        Returns:
            True when satisfied; ``!=`` and ``notin`` match a missing key, as upstream.
        """
        present = self.key in labels
        value = labels.get(self.key)
        op = self.operator
        if op is Operator.EQUALS or op is Operator.IN:
            return present and value in self.values
        if op is Operator.NOT_EQUALS or op is Operator.NOT_IN:
            return not present or value not in self.values
        if op is Operator.EXISTS:
            return present
        if op is Operator.DOES_NOT_EXIST:
            return not present
        if not present:
            return False
        try:
            number = int(str(value))
        except ValueError:
            return False
        (bound,) = self.values
        return number > int(bound) if op is Operator.GREATER_THAN else number < int(bound)


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: all requirements must hold (an empty one selects all)."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Tell whether an object with these labels is selected.

        Args:
            labels: ``metadata.labels`` of the object (None for none).

        Returns:
            True when every requirement holds.
        """
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def matches_object(self, obj: Mapping[str, Any]) -> bool:
        """Tell whether an object (a Kubernetes dict) is selected by its labels.

        Args:
            obj: the object.

        Returns:
            True when selected.
        """
        if not self.requirements:
            return True
        return self.matches(obj.get("metadata", {}).get("labels"))


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unable to parse requirement: unbalanced ')' in {text!r}")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise SelectorError(f"unable to parse requirement: unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return parts


def _check_key(key: str, whole: str) -> str:
    if not _KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r} in {whole!r}")
    return key


def _check_value(value: str, whole: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise SelectorError(
            f"unable to parse requirement: invalid label value {value!r} in {whole!r}"
        )
    return value


_SET_RE = re.compile(r"^\s*(?P<key>\S+?)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)\s*$")


def _parse_label_requirement(text: str, whole: str) -> Requirement:
    stripped = text.strip()
    if not stripped:
        raise SelectorError(f"unable to parse requirement: empty requirement in {whole!r}")
    set_match = _SET_RE.match(stripped)
    if set_match:
        key = _check_key(set_match["key"], whole)
        values = frozenset(
            _check_value(v.strip(), whole) for v in set_match["values"].split(",") if v.strip()
        )
        if not values:
            raise SelectorError(f"unable to parse requirement: empty value set in {whole!r}")
        op = Operator.IN if set_match["op"] == "in" else Operator.NOT_IN
        return Requirement(key, op, values)
    for token, op in (("!=", Operator.NOT_EQUALS), ("==", Operator.EQUALS), ("=", Operator.EQUALS)):
        if token in stripped:
            key, _, value = stripped.partition(token)
            return Requirement(
                _check_key(key.strip(), whole), op, frozenset({_check_value(value.strip(), whole)})
            )
    for token, op in ((">", Operator.GREATER_THAN), ("<", Operator.LESS_THAN)):
        if token in stripped:
            key, _, value = stripped.partition(token)
            if not value.strip().lstrip("-").isdigit():
                raise SelectorError(
                    f"unable to parse requirement: {value.strip()!r} is not an integer in {whole!r}"
                )
            return Requirement(_check_key(key.strip(), whole), op, frozenset({value.strip()}))
    if stripped.startswith("!"):
        return Requirement(_check_key(stripped[1:].strip(), whole), Operator.DOES_NOT_EXIST)
    return Requirement(_check_key(stripped, whole), Operator.EXISTS)


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a label selector as sent in ``?labelSelector=``.

    Args:
        text: e.g. ``"app=x,tier in (a,b),!legacy"``; None or empty selects everything.

    Returns:
        The compiled selector.

    Raises:
        SelectorError: when the text does not parse; the message names the part.
    """
    if text is None or not text.strip():
        return LabelSelector()
    return LabelSelector(
        tuple(_parse_label_requirement(part, text) for part in _split_top_level(text))
    )


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector over a resource's selectable fields."""

    requirements: tuple[Requirement, ...] = ()

    @property
    def keys(self) -> frozenset[str]:
        """The field paths the selector uses."""
        return frozenset(r.key for r in self.requirements)

    def equals(self, key: str) -> str | None:
        """The value a requirement pins a field to with ``=``, if any.

        Args:
            key: a field path such as ``metadata.name``.

        Returns:
            The value, or None when the selector does not pin that field.
        """
        for req in self.requirements:
            if req.key == key and req.operator is Operator.EQUALS:
                (value,) = req.values
                return value
        return None

    def matches(self, fields: Callable[[str], str | None]) -> bool:
        """Tell whether an object's fields satisfy every requirement.

        Args:
            fields: returns the string value of a field path (None when absent,
                which compares as the empty string, as upstream).

        Returns:
            True when selected.
        """
        for req in self.requirements:
            value = fields(req.key) or ""
            (wanted,) = req.values
            if (value == wanted) != (req.operator is Operator.EQUALS):
                return False
        return True


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse a field selector as sent in ``?fieldSelector=``.

    Args:
        text: e.g. ``"metadata.name=x,status.phase!=Running"``.

    Returns:
        The compiled selector (field names are checked by the store per resource).

    Raises:
        SelectorError: when the text does not parse.
    """
    if text is None or not text.strip():
        return FieldSelector()
    requirements = []
    for part in text.split(","):
        stripped = part.strip()
        for token, op in (
            ("!=", Operator.NOT_EQUALS),
            ("==", Operator.EQUALS),
            ("=", Operator.EQUALS),
        ):
            if token in stripped:
                key, _, value = stripped.partition(token)
                if not key.strip():
                    raise SelectorError(f"invalid selector: {text!r}; empty field name")
                requirements.append(Requirement(key.strip(), op, frozenset({value.strip()})))
                break
        else:
            raise SelectorError(f"invalid selector: {text!r}; expected 'field=value' in {part!r}")
    return FieldSelector(tuple(requirements))
