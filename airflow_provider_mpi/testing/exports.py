"""Names a package exports but imports on first use, so importing it stays cheap.

``airflow_provider_mpi.testing`` and ``airflow_provider_mpi.testing.real``
list their public names with the module each comes from; a name is imported
when first read (PEP 562) and then kept in the package. Both take their
module ``__getattr__`` and ``__dir__`` from :func:`lazy_exports`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attribute", "lazy_exports"]


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


def lazy_exports(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package with lazily imported names.

    Use as ``__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())``.

    Args:
        package: the package's ``__name__``.
        where: each lazily imported name and the module (relative to the package) it lives in.
        namespace: the package's ``globals()``, where imported values are kept.

    Returns:
        ``__getattr__`` (see :func:`lazy_attribute`) and ``__dir__`` (the
        package's globals and every lazy name, sorted).
    """

    def module_getattr(name: str) -> Any:
        return lazy_attribute(package, where, name, namespace)

    def module_dir() -> list[str]:
        return sorted(set(namespace) | set(where))

    return module_getattr, module_dir
