"""Every word enum of the provider reads as its word: ``str``, ``format``, JSON, equality."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mpi.drmaa2.state import JobControlAction
from airflow_provider_mpi.drmaa2.strenum import StrEnum
from airflow_provider_mpi.mpioperator.status import SubState
from airflow_provider_mpi.mpioperator.template.values import (
    CleanPodPolicy,
    Distribution,
    ImagePullPolicy,
    LauncherCreationPolicy,
    MPIImplementation,
)
from airflow_provider_mpi.mpioperator.template.volumes import VolumeType
from airflow_provider_mpi.operators.mpi_job import DeletePolicy
from airflow_provider_mpi.triggers._event import MPIJobTriggerStatus

WORD_ENUMS: list[type[StrEnum]] = [
    JobControlAction,
    SubState,
    CleanPodPolicy,
    Distribution,
    ImagePullPolicy,
    LauncherCreationPolicy,
    MPIImplementation,
    VolumeType,
    DeletePolicy,
    MPIJobTriggerStatus,
]


@pytest.mark.parametrize("member", [m for cls in WORD_ENUMS for m in cls], ids=repr)
def test_a_member_reads_as_its_word(member: StrEnum) -> None:
    word = member.value
    assert isinstance(member, str)
    assert str(member) == f"{member}" == word
    assert f"{member:>20}" == f"{word:>20}"
    assert json.dumps({"k": member}) == json.dumps({"k": word})
    assert member == word
    assert type(member)(word) is member
