"""Differential fidelity: every scenario of the corpus on the emulator and the real cluster.

Runs with ``--cluster=real`` or ``both`` (the real tier); the two backends run
each scenario at the same time and their normalised observations must agree,
except for the differences ``known.py`` lists with their reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.real.namespaces import RealNamespace
from tests.emulator.fidelity.api_corpus import ALL_SCENARIOS as SCENARIOS
from tests.emulator.fidelity.corpus import Scenario, compare, fresh_namespace, run_scenario
from tests.emulator.fidelity.known import explain


@pytest.fixture(scope="module")
def emulated(request: pytest.FixtureRequest) -> Iterator[MPICluster]:
    if request.config.getoption("mpi_cluster_backend") == "emulated":
        pytest.skip("the fidelity corpus compares with the real cluster: run with --cluster=both")
    with MPICluster() as cluster:
        yield cluster


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_backends_agree(
    scenario: Scenario, emulated: MPICluster, request: pytest.FixtureRequest
) -> None:
    real = RealNamespace(request.getfixturevalue("mpi_real_cluster"), f"ns-{scenario.name}")
    results: dict[str, Any] = {}

    def one(key: str, cluster: Any, namespace: str) -> None:
        try:
            results[key] = run_scenario(cluster, namespace, scenario)
        except Exception as error:  # handed to the test thread
            results[key] = error

    try:
        threads = [
            threading.Thread(
                target=one,
                args=("emulated", emulated, fresh_namespace(emulated, f"ns-{scenario.name}")),
            ),
            threading.Thread(target=one, args=("real", real, real.namespace)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        real.close()
    for key, value in results.items():
        if isinstance(value, Exception):
            raise AssertionError(f"{scenario.name} on the {key} backend: {value!r}") from value
    left = [
        (path, a, b)
        for path, a, b in compare(results["emulated"], results["real"])
        if explain(scenario.name, path) is None
    ]
    assert left == [], f"{scenario.name}: differences not explained in known.py: {left}"
