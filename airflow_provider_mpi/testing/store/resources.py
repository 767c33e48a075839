"""The kinds of object the emulated API server serves, and how they are addressed.

One table, shared by the store (keys, scopes, subresources), the server's
router and its discovery documents, so a resource is declared in one place.
A custom resource (``custom=True``) is served only while its
CustomResourceDefinition says so, as on a real API server (see
:class:`~airflow_provider_mpi.testing.server.routing.ServedResources`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RESOURCES", "ResourceType"]


@dataclass(frozen=True)
class ResourceType:
    """One kind of object the emulated API serves.

    Attributes:
        custom: a custom resource, served only while its CRD (named
            :attr:`qualified`) exists, is established and serves :attr:`version`.
    """

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    subresources: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    custom: bool = False

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        """The singular resource name (lower-case kind)."""
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """``plural.group`` as used in error messages (``pods`` for the core group)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _rt(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    subresources: tuple[str, ...] = (),
    short_names: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    *,
    custom: bool = False,
) -> ResourceType:
    return ResourceType(
        group,
        version,
        plural,
        kind,
        namespaced,
        frozenset(subresources),
        short_names,
        categories,
        custom,
    )


RESOURCES: dict[str, ResourceType] = {
    rt.plural: rt
    for rt in (
        _rt("", "v1", "pods", "Pod", True, ("status", "log"), ("po",), ("all",)),
        _rt("", "v1", "services", "Service", True, ("status",), ("svc",), ("all",)),
        _rt("", "v1", "configmaps", "ConfigMap", True, (), ("cm",)),
        _rt("", "v1", "secrets", "Secret", True),
        _rt("", "v1", "events", "Event", True, (), ("ev",)),
        _rt("", "v1", "namespaces", "Namespace", False, ("status",), ("ns",)),
        _rt("batch", "v1", "jobs", "Job", True, ("status",), (), ("all",)),
        _rt("kubeflow.org", "v2beta1", "mpijobs", "MPIJob", True, ("status",), custom=True),
        _rt(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            ("status",),
            ("crd", "crds"),
        ),
    )
}
