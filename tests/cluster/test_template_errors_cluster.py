"""Malformed templates against the emulator: every error names the user's fields, 0 requests.

A property test (hypothesis): a valid template broken in one to four
independent ways (``testing.malformed``) must fail in ``add_job``,
``add_array_job`` (sync) and ``add_job`` (async) with ONE
:class:`InvalidTemplateError` whose ``fields`` are exactly the fields broken,
and the emulator's request counters must not move.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.drmaa2.errors import InvalidTemplateError
from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker, MPIOperatorTracker
from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.malformed import broken_template_kwargs

pytestmark = pytest.mark.emulator_only(
    "counts requests (none for a bad template) with the emulator's counters"
)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1), count=st.integers(1, 4), how=st.sampled_from(["job", "array"])
)
def test_malformed_templates_fail_with_every_field_before_any_request(
    mpi_cluster: MPICluster, seed: int, count: int, how: str
) -> None:
    kwargs, fields = broken_template_kwargs(random.Random(seed), count)
    tracker = MPIOperatorTracker(mpi_cluster.kubeconfig_path)
    before = mpi_cluster.requests.total
    submit = {
        "job": lambda: tracker.add_job(JobTemplate(**kwargs)),
        "array": lambda: tracker.add_array_job(JobTemplate(**kwargs), 1, 5, 1, 2),
    }[how]
    with pytest.raises(InvalidTemplateError) as info:
        submit()
    assert sorted(info.value.fields) == sorted(fields)
    assert mpi_cluster.requests.total == before


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 4))
def test_async_malformed_templates_fail_before_any_request(
    mpi_cluster: MPICluster, seed: int, count: int
) -> None:
    kwargs, fields = broken_template_kwargs(random.Random(seed), count)

    async def submit() -> None:
        async with mpi_cluster.async_api_client() as client:
            await AsyncMPIOperatorTracker(client).add_job(JobTemplate(**kwargs))

    before = mpi_cluster.requests.total
    with pytest.raises(InvalidTemplateError) as info:
        asyncio.run(submit())
    assert sorted(info.value.fields) == sorted(fields)
    assert mpi_cluster.requests.total == before
