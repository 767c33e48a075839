"""A row of the extension table: one extension's key, Go name, codec, default and doc.

An :class:`Extension` reads its value from a template (the key or one of its
aliases, an empty string meaning unset as in Go), writes it into a new
template, and hands out the public Go-named functions
(``get_worker_image_extension`` for the Go seed's ``GetWorkerImageExtension``)
as typed callables with their own docstrings, so the table is the only place
an extension is described. A :class:`ResourceFamily` does the same for a
prefix family (``resourceRequestWorker-<resource>``).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.template.codecs import Codec
from airflow_provider_mpi.mpioperator.template.quantity import (
    is_negative_quantity,
    quantity_syntax_error,
)
from airflow_provider_mpi.mpioperator.template.validation import qualified_name_error

__all__ = ["Extension", "Getter", "ResourceFamily", "Setter", "python_name", "with_extensions"]

G = TypeVar("G")
V = TypeVar("V")
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def python_name(go_name: str) -> str:
    """The snake-case stem of a Go name (``SSHMountPath`` -> ``ssh_mount_path``).

    Args:
        go_name: the part between ``Get``/``Set`` and ``Extension`` of the Go function.

    Returns:
        The stem of the Python function names.
    """
    return _WORD.sub("_", go_name).lower()


def with_extensions(
    jt: JobTemplate, updates: Mapping[str, str | None], aliases: Mapping[str, str] | None = None
) -> JobTemplate:
    """Return a deep copy of ``jt`` with extensions written (None removes a key).

    Args:
        jt: the template, left untouched.
        updates: extension names and their new string values.
        aliases: other spellings of a key (alias -> key), removed when the key
            is written so a value cannot be shadowed.

    Returns:
        The new template.
    """
    extensions = dict(jt.extension_list or {})
    for key, value in updates.items():
        for alias, canonical in (aliases or {}).items():
            if canonical == key:
                extensions.pop(alias, None)
        if value is None:
            extensions.pop(key, None)
        else:
            extensions[key] = value
    return jt.replace(extension_list=extensions)


class Getter(Generic[G]):
    """A public ``get_<name>_extension`` function made from a table row."""

    def __init__(self, read: Callable[[JobTemplate], G], go_name: str, doc: str) -> None:
        self._read = read
        self.__name__ = self.__qualname__ = f"get_{python_name(go_name)}_extension"
        self.__module__ = "airflow_provider_mpi.mpioperator.template"
        self.__doc__ = doc

    def __call__(self, jt: JobTemplate) -> G:  # noqa: D102 - the docstring is the row's
        return self._read(jt)

    def __repr__(self) -> str:
        return f"<function {self.__name__}>"


class Setter(Generic[V]):
    """A public ``set_<name>_extension`` function made from a table row."""

    def __init__(
        self, write: Callable[[JobTemplate, V], JobTemplate], go_name: str, doc: str
    ) -> None:
        self._write = write
        self.__name__ = self.__qualname__ = f"set_{python_name(go_name)}_extension"
        self.__module__ = "airflow_provider_mpi.mpioperator.template"
        self.__doc__ = doc

    def __call__(self, jt: JobTemplate, value: V) -> JobTemplate:  # noqa: D102
        return self._write(jt, value)

    def __repr__(self) -> str:
        return f"<function {self.__name__}>"


def _getter_doc(go_name: str, what: str, key: str, default: str, syntax: str) -> str:
    return (
        f"{what} (Go ``Get{go_name}Extension``).\n\nArgs:\n    jt: the template.\n\n"
        f"Returns:\n    The value of ``{key}``; {default} when unset or empty.\n\n"
        f"Raises:\n    InvalidTemplateError: the stored string is not {syntax}.\n"
    )


def _setter_doc(go_name: str, what: str, key: str, syntax: str) -> str:
    return (
        f"{what} (Go ``Set{go_name}Extension``).\n\nArgs:\n    jt: the template, left "
        f"untouched.\n    value: the new value.\n\nReturns:\n    A new template with "
        f"``{key}`` written.\n\nRaises:\n    InvalidTemplateError: the value is not {syntax}.\n"
    )


@dataclasses.dataclass(frozen=True)
class Extension(Generic[G, V]):
    """One row of the extension table.

    Attributes:
        key: the extension name in ``extension_list`` (the Go JSON key too).
        go_name: the Go functions' middle part (``WorkerImage``).
        codec: how the string is read and written.
        default: the value when unset or empty.
        doc: one sentence: what it sets (docstrings).
        effect: where it lands in the MPIJob (the README's table).
        default_doc: the default as the README says it.
        aliases: other spellings accepted on input (DRMAA2OS writes these).
        check_on_set: read the written value back, so a bad value fails at once.
    """

    key: str
    go_name: str
    codec: Codec[Any, V]
    default: G
    doc: str
    effect: str
    default_doc: str = "none"
    aliases: tuple[str, ...] = ()
    check_on_set: bool = True

    def raw(self, extensions: Mapping[str, str]) -> str | None:
        """The string stored under the key or an alias; None when unset or empty.

        Args:
            extensions: the template's ``extension_list``.

        Returns:
            The stored value, or None (Go's seed treats an empty value as unset).

        Raises:
            InvalidTemplateError: the key and an alias are both set, differently.
        """
        found = {
            name: extensions[name] for name in (self.key, *self.aliases) if extensions.get(name)
        }
        if len(set(found.values())) > 1:
            raise InvalidTemplateError(
                self.key,
                found,
                f"set under several spellings ({', '.join(sorted(found))}) with different values",
            )
        return next(iter(found.values()), None)

    def read(self, extensions: Mapping[str, str]) -> G:
        """The typed value in an ``extension_list`` (the default when unset).

        Args:
            extensions: the template's ``extension_list``.

        Returns:
            The value (a fresh copy of a mutable default).

        Raises:
            InvalidTemplateError: the stored string is malformed.
        """
        raw = self.raw(extensions)
        if raw is None:
            return copy.copy(self.default)
        value: G = self.codec.parse(self.key, raw)
        return value

    def get(self, jt: JobTemplate) -> G:
        """The typed value in a template (see :meth:`read`).

        Args:
            jt: the template.

        Returns:
            The value, or the default when unset or empty.
        """
        return self.read(jt.extension_list or {})

    def set(self, jt: JobTemplate, value: V) -> JobTemplate:
        """A new template with ``value`` written (and read back when ``check_on_set``).

        Args:
            jt: the template, left untouched.
            value: the typed value; a codec may write None (an empty map), which removes the key.

        Returns:
            The new template; the aliases of the key are removed.

        Raises:
            InvalidTemplateError: the value cannot be written or does not read back.
        """
        written = self.codec.format(self.key, value)
        new = with_extensions(jt, {self.key: written}, dict.fromkeys(self.aliases, self.key))
        if self.check_on_set and written is not None:
            self.get(new)
        return new

    def getter(self) -> Getter[G]:
        """The public ``get_<name>_extension`` function of this row."""
        syntax = self.codec.type_doc
        return Getter(
            self.get,
            self.go_name,
            _getter_doc(self.go_name, self.doc, self.key, self.default_doc, syntax),
        )

    def setter(self) -> Setter[V]:
        """The public ``set_<name>_extension`` function of this row."""
        doc = _setter_doc(self.go_name, self.doc, self.key, self.codec.type_doc)
        return Setter(self.set, self.go_name, doc)


@dataclasses.dataclass(frozen=True)
class ResourceFamily:
    """Resource quantities under ``<prefix><resource>`` keys, e.g. ``resourceRequestWorker-cpu``.

    Attributes:
        prefix: the key prefix.
        go_name: the Go functions' middle part (``WorkerResourceRequests``).
        effect: where the quantities land (the README's table).
    """

    prefix: str
    go_name: str
    effect: str

    def read(self, extensions: Mapping[str, str]) -> dict[str, str]:
        """Resource names and quantity strings, sorted by name (empty when none).

        Args:
            extensions: the template's ``extension_list``.

        Returns:
            Resource names and their quantities as written.

        Raises:
            InvalidTemplateError: a bad resource name or quantity (the seed skipped it).
        """
        resources: dict[str, str] = {}
        for key, value in sorted(extensions.items()):
            if not key.startswith(self.prefix):
                continue
            name = key[len(self.prefix) :]
            if (error := qualified_name_error(name)) is not None:
                raise InvalidTemplateError(key, value, f"resource name {name!r} {error}")
            if (error := quantity_syntax_error(value)) is not None:
                raise InvalidTemplateError(key, value, error)
            if is_negative_quantity(value):
                raise InvalidTemplateError(key, value, "must not be negative")
            resources[name] = value
        return resources

    def get(self, jt: JobTemplate) -> dict[str, str]:
        """The quantities in a template (see :meth:`read`).

        Args:
            jt: the template.

        Returns:
            Resource names and quantities.
        """
        return self.read(jt.extension_list or {})

    def set(self, jt: JobTemplate, resources: Mapping[str, str | int]) -> JobTemplate:
        """Add quantities, e.g. ``{"cpu": "1", "memory": "1Gi"}`` (strings or integers).

        Args:
            jt: the template, left untouched.
            resources: resource names and quantities.

        Returns:
            A new template with ``<prefix><resource>`` keys.

        Raises:
            InvalidTemplateError: a bad resource name or quantity.
        """
        updates = {self.prefix + str(name): str(q) for name, q in resources.items()}
        new = with_extensions(jt, dict[str, str | None](updates))
        self.get(new)
        return new

    def getter(self) -> Getter[dict[str, str]]:
        """The public ``get_<name>_extension`` function of this family."""
        key = self.prefix + "<resource>"
        return Getter(
            self.get, self.go_name, _getter_doc(self.go_name, self.effect, key, "{}", "a quantity")
        )

    def setter(self) -> Setter[Mapping[str, str | int]]:
        """The public ``set_<name>_extension`` function of this family."""
        key = self.prefix + "<resource>"
        return Setter(
            self.set, self.go_name, _setter_doc(self.go_name, self.effect, key, "a quantity")
        )
