"""A template's extensions, parsed once: the frozen settings the converter and pod builders take.

:meth:`TemplateSettings.from_template` reads the ``extension_list`` in one
pass over the extension table: it rejects an unknown key, parses every row
and every resource family, and raises one :class:`InvalidTemplateError` that
lists every malformed extension. The converter then asks the settings, not
the template, so each extension is read exactly once per conversion.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.template.extension import Extension, ResourceFamily
from airflow_provider_mpi.mpioperator.template.table import (
    EXTENSIONS,
    RESOURCE_FAMILIES,
    check_extension_keys,
)

__all__ = ["TemplateSettings"]

G = TypeVar("G")


@dataclasses.dataclass(frozen=True)
class TemplateSettings:
    """Every extension of one template, typed and validated.

    Ask it with a table row: ``settings[SLOTS_PER_WORKER]`` is an ``int``,
    ``settings[WORKER_IMAGE]`` a ``str | None`` (the row's type), and
    ``settings.resources(WORKER_REQUESTS)`` a dict of quantities. Mutable
    values are handed out as copies.

    Attributes:
        values: each row's key and its value (the default when unset).
        resource_values: each resource family's prefix and its quantities.
    """

    values: Mapping[str, Any]
    resource_values: Mapping[str, Mapping[str, str]]

    @classmethod
    def from_template(cls, jt: JobTemplate) -> TemplateSettings:
        """Parse the extensions of ``jt`` once.

        Args:
            jt: the template (its ``extension_list`` maps strings to strings).

        Returns:
            The settings.

        Raises:
            UnsupportedAttributeError: an unknown extension key.
            InvalidTemplateError: malformed values; one error lists them all.
        """
        check_extension_keys(jt)
        extensions = jt.extension_list or {}
        errors: list[InvalidTemplateError] = []
        values: dict[str, Any] = {}
        for row in EXTENSIONS:
            try:
                values[row.key] = row.read(extensions)
            except InvalidTemplateError as error:
                errors.append(error)
        resources: dict[str, Mapping[str, str]] = {}
        for family in RESOURCE_FAMILIES:
            try:
                resources[family.prefix] = MappingProxyType(family.read(extensions))
            except InvalidTemplateError as error:
                errors.append(error)
        if errors:
            raise InvalidTemplateError.aggregate(errors)
        return cls(MappingProxyType(values), MappingProxyType(resources))

    def __getitem__(self, row: Extension[G, Any]) -> G:
        value: G = copy.copy(self.values[row.key])
        return value

    def resources(self, family: ResourceFamily) -> dict[str, str]:
        """The quantities of a resource family, sorted by resource name.

        Args:
            family: a row of :data:`.table.RESOURCE_FAMILIES`.

        Returns:
            Resource names and quantity strings (a fresh dict).
        """
        return dict(self.resource_values[family.prefix])
