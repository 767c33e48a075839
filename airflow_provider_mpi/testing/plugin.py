"""The pytest plugin: an emulated MPI cluster as a fixture.

Installed with the provider (``pytest11`` entry point), it gives every test
suite the ``mpi_cluster`` fixture, a started :class:`MPICluster` for one
test, and ``mpi_cluster_factory`` to start clusters with options. Options
can also come from the ``mpi_cluster`` marker::

    @pytest.mark.mpi_cluster(clock="manual", local_exec=True)
    def test_my_dag(mpi_cluster): ...

Importing this module starts nothing and imports nothing heavy: the cluster
and its server are imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.cluster import MPICluster

__all__ = ["mpi_cluster", "mpi_cluster_factory", "pytest_configure"]

_OPTIONS = (
    "local_exec",
    "clock",
    "port",
    "namespace",
    "token",
    "operator_installed",
    "faults",
    "tls",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's marker."""
    config.addinivalue_line(
        "markers",
        "mpi_cluster(**options): options for the mpi_cluster fixture "
        f"(keywords of MPICluster: {', '.join(_OPTIONS)})",
    )


def _cluster_class() -> type[MPICluster]:
    try:
        from airflow_provider_mpi.testing.cluster import MPICluster
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise pytest.UsageError(
            f"the mpi_cluster fixture cannot start the emulated cluster: {error}. "
            "Install the provider with its dependencies (pip install airflow-provider-mpi) "
            "so that aiohttp, PyYAML and kubernetes are available."
        ) from error
    return MPICluster


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("mpi_cluster")
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            "@pytest.mark.mpi_cluster takes keyword arguments only, e.g. "
            '@pytest.mark.mpi_cluster(clock="manual")'
        )
    unknown = sorted(set(marker.kwargs) - set(_OPTIONS))
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.mpi_cluster got unknown option(s) {unknown}; "
            f"known: {', '.join(_OPTIONS)}"
        )
    return dict(marker.kwargs)


def _stop(cluster: MPICluster) -> None:
    errors = cluster.controller_errors
    cluster.stop()
    if errors:
        raise AssertionError(
            f"the emulated controllers failed during the test: {errors[0]!r}"
        ) from errors[0]


@pytest.fixture
def mpi_cluster_factory() -> Iterator[Callable[..., MPICluster]]:
    """Start emulated clusters with options; all are stopped after the test.

    Yields:
        ``start(**options) -> MPICluster`` taking the keywords of ``MPICluster``.
    """
    started: list[MPICluster] = []
    cluster_class = _cluster_class()

    def start(**options: Any) -> MPICluster:
        cluster = cluster_class(**options).start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in reversed(started):
        _stop(cluster)


@pytest.fixture
def mpi_cluster(request: pytest.FixtureRequest) -> Iterator[MPICluster]:
    """A started emulated cluster with the MPI operator, stopped after the test.

    Options come from ``@pytest.mark.mpi_cluster(...)``.

    Yields:
        The cluster: ``kubeconfig_path``, ``api_client()``, ``advance()``, ...
    """
    cluster = _cluster_class()(**_options(request)).start()
    try:
        yield cluster
    finally:
        _stop(cluster)
