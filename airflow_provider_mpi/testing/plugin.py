"""The pytest plugin: an emulated MPI cluster as a fixture.

Installed with the provider (``pytest11`` entry point), it gives every test
suite the ``mpi_cluster`` fixture, a started :class:`MPICluster` for one
test, and ``mpi_cluster_factory`` to start clusters with options. Options
can also come from the ``mpi_cluster`` marker::

    @pytest.mark.mpi_cluster(clock="manual", local_exec=True)
    def test_my_dag(mpi_cluster): ...

Two backends: ``--cluster=emulated`` (the default), ``real`` or ``both``.
With ``real`` or ``both``, tests using ``mpi_cluster`` are parametrised by
backend (ids ``[emulated]``/``[real]``): the real one is a namespace of one
real control plane per session (kube-apiserver, controller-manager,
scheduler, etcd, the real mpi-operator v0.8.2, and the node agent for
kubelets, see ``testing.real``). Tests that need what only the emulator has
(a manual clock, fault injection, its store or request counters, a cluster
without the operator) run on the emulator alone: mark them
``@pytest.mark.emulator_only("why")``; the options ``clock="manual"``,
``faults``, ``operator_installed=False``, ``port``, ``token`` and
``tls=False`` imply it. When the real control plane cannot be built or
started here (no Go toolchain), its tests are skipped saying why, unless
``CI=true``: then they fail.

Importing this module starts nothing and imports nothing heavy: the cluster
and its server are imported when a fixture is first used.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_mpi.testing.cluster import MPICluster

__all__ = [
    "mpi_cluster",
    "mpi_cluster_factory",
    "mpi_real_cluster",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
]

EMULATED, REAL = "emulated", "real"
_CHOICES = {EMULATED: (EMULATED,), REAL: (REAL,), "both": (EMULATED, REAL)}
#: Environment variable giving the default of ``--cluster``.
CLUSTER_ENV = "MPI_TEST_CLUSTER"
_PORT_WAIT_SECONDS = 600.0

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


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--cluster=emulated|real|both``."""
    parser.addoption(
        "--cluster",
        dest="mpi_cluster_backend",
        choices=sorted(_CHOICES),
        default=os.environ.get(CLUSTER_ENV) or EMULATED,
        help="where mpi_cluster tests run: the emulator (default), a real control plane "
        f"with the real MPI operator, or both (default from ${CLUSTER_ENV})",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers."""
    config.addinivalue_line(
        "markers",
        "mpi_cluster(**options): options for the mpi_cluster fixture "
        f"(keywords of MPICluster: {', '.join(_OPTIONS)})",
    )
    config.addinivalue_line(
        "markers",
        "emulator_only(reason): the test needs what only the emulated cluster has "
        "(it does not run on --cluster=real)",
    )


def _backends(config: pytest.Config) -> tuple[str, ...]:
    choice = config.getoption("mpi_cluster_backend", default=EMULATED) or EMULATED
    return _CHOICES[str(choice)]


def emulator_only_reason(node: pytest.Item | pytest.Function | Any) -> str | None:
    """Why a test can only run on the emulator (``None``: it runs on both backends).

    Args:
        node: The test item or its definition.

    Returns:
        The reason, from its ``emulator_only`` marker or its ``mpi_cluster`` options.
    """
    marker = node.get_closest_marker("emulator_only")
    if marker is not None:
        return str(marker.args[0]) if marker.args else "marked emulator_only"
    options = node.get_closest_marker("mpi_cluster")
    kwargs = dict(options.kwargs) if options is not None else {}
    clock = kwargs.get("clock")
    if clock is not None and not isinstance(clock, (int, float, str)):
        return "a clock object"
    if clock == "manual":
        return 'clock="manual"'
    for option in ("faults", "port", "token"):
        if option in kwargs:
            return f"the {option} option"
    if kwargs.get("operator_installed") is False:
        return "a cluster without the operator"
    if kwargs.get("tls") is False:
        return "plain HTTP"
    if kwargs.get("local_exec"):
        return "local execution (the session's real cluster runs pod scripts)"
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run ``mpi_cluster`` tests on the backends ``--cluster`` names."""
    if "mpi_cluster" not in metafunc.fixturenames:
        return
    backends = _backends(metafunc.config)
    if backends == (EMULATED,):
        return
    reason = emulator_only_reason(metafunc.definition)
    params = []
    for backend in backends:
        marks = []
        if backend == REAL and reason is not None:
            marks.append(pytest.mark.skip(reason=f"emulator only: {reason}"))
        params.append(pytest.param(backend, id=backend, marks=marks))
    metafunc.parametrize("mpi_cluster", params, indirect=True)


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


def _unavailable(message: str) -> None:
    """Skip the real tier, saying why; on CI (``CI=true``) fail instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the real cluster tier cannot run on CI: {message}", pytrace=False)
    pytest.skip(f"real cluster tier skipped: {message}")


@pytest.fixture(scope="session")
def mpi_real_cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    """One real control plane with the MPI operator and the node agent, for the session.

    Built from Go modules when missing (progress on stderr). Skipped when it
    cannot be built here (failed on CI).

    Yields:
        The started ``RealCluster``.
    """
    from airflow_provider_mpi.testing.real import BuildError, RealCluster

    def progress(line: str) -> None:
        print(f"[real cluster] {line}", file=sys.stderr, flush=True)

    # mpi-operator v0.8.2 hard-codes its health port: one RealCluster per machine at
    # a time, so a second test session waits for the first one's to stop.
    try:
        cluster = RealCluster(progress=progress, wait_for_machine=_PORT_WAIT_SECONDS).start()
    except BuildError as error:
        _unavailable(str(error))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def mpi_cluster(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A started cluster with the MPI operator, stopped (or its namespace deleted) after the test.

    On the emulated backend, a fresh ``MPICluster`` with the options of
    ``@pytest.mark.mpi_cluster(...)``; on the real one (``--cluster=real`` or
    ``both``), a ``RealNamespace`` of the session's real cluster with the same
    client surface (``kubeconfig_path``, ``namespace``, ``api_client()``,
    ``async_api_client()``, ``wait_for()``, ...).

    Yields:
        The cluster.
    """
    backend = getattr(request, "param", EMULATED)
    if backend == REAL:
        from airflow_provider_mpi.testing.real.namespaces import RealNamespace

        shared = request.getfixturevalue("mpi_real_cluster")
        view = RealNamespace(shared, request.node.name)
        try:
            yield view
        finally:
            view.close()
        return
    cluster = _cluster_class()(**_options(request)).start()
    try:
        yield cluster
    finally:
        _stop(cluster)
