"""Names a package exports but imports on first use, so importing it stays cheap.

``airflow_provider_mpi.testing`` and ``airflow_provider_mpi.testing.real``
list their public names with the module each comes from; a name is imported
when first read (PEP 562) and then kept in the package.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

__all__ = ["lazy_attribute"]


def lazy_attribute(
    package: str, where: Mapping[str, str], name: str, namespace: dict[str, Any]
) -> Any:
    """Import ``name`` from its module in ``package``, keep it there, and return it.

    Args:
        package: the package's ``__name__``.
        where: each exported name and the module (relative to the package) it lives in.
        name: the name asked for.
        namespace: the package's ``globals()``, where the value is kept.

    Returns:
        The value.

    Raises:
        AttributeError: the package exports no such name.
    """
    module = where.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{package}.{module}"), name)
    namespace[name] = value
    return value
