from __future__ import annotations

import re

import pytest

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.mpioperator.tracker.ids import (
    ArrayRef,
    JobRef,
    format_job_id,
    generate_name,
    parse_array_id,
    parse_job_id,
    task_job_name,
)


@pytest.mark.parametrize(
    ("job_id", "expected"),
    [
        ("default/pi", JobRef("default", "pi")),
        ("team-a/train-1", JobRef("team-a", "train-1")),
        ("pi", JobRef("home", "pi")),
        ("  pi  ", JobRef("home", "pi")),
        ("ns/a.b-c", JobRef("ns", "a.b-c")),
    ],
)
def test_parse_job_id(job_id: str, expected: JobRef) -> None:
    assert parse_job_id(job_id, "home") == expected


@pytest.mark.parametrize(
    "job_id",
    [
        "",
        "   ",
        "a/b/c",
        "/pi",
        "ns/",
        "NS/pi",
        "ns/Pi",
        "ns/pi_1",
        "ns/-pi",
        42,
        None,
        "x" * 64 + "/pi",
    ],
)
def test_parse_job_id_rejects(job_id: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_job_id(job_id, "default")
    assert info.value.field == "job_id"
    assert info.value.value == job_id


def test_parse_job_id_names_the_given_field() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_job_id("a/b/c", "default", field="array_id")
    assert info.value.field == "array_id"


def test_job_ref_round_trip() -> None:
    ref = JobRef("ns", "pi")
    assert str(ref) == ref.job_id == format_job_id("ns", "pi") == "ns/pi"
    assert parse_job_id(str(ref), "other") == ref


@pytest.mark.parametrize(
    ("array_id", "expected"),
    [
        ("ns/arr", ArrayRef("ns", "arr")),
        ("arr", ArrayRef("home", "arr")),
        ('["ns/a-1", "ns/a-2"]', ArrayRef("ns", None, (JobRef("ns", "a-1"), JobRef("ns", "a-2")))),
        ('["a-2", "a-1"]', ArrayRef("home", None, (JobRef("home", "a-2"), JobRef("home", "a-1")))),
    ],
)
def test_parse_array_id(array_id: str, expected: ArrayRef) -> None:
    assert parse_array_id(array_id, "home") == expected


@pytest.mark.parametrize(
    "array_id",
    ["[]", "[1, 2]", '["ns/a", "other/b"]', "[not json", "a/b/c", '["a/b/c"]'],
)
def test_parse_array_id_rejects(array_id: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_array_id(array_id, "default")
    assert info.value.field == "array_id"


def test_array_ref_str() -> None:
    assert str(ArrayRef("ns", "arr")) == "ns/arr"
    legacy = ArrayRef("ns", None, (JobRef("ns", "a-1"),))
    assert str(legacy) == '["ns/a-1"]'
    assert parse_array_id(str(legacy), "x") == legacy


def test_task_job_name() -> None:
    assert task_job_name("arr", 7) == "arr-7"


def test_generate_name_is_unique_and_valid() -> None:
    names = {generate_name("mpijob") for _ in range(200)}
    assert len(names) == 200
    for name in names:
        assert re.fullmatch(r"mpijob-[a-z0-9]{8}", name)
        assert parse_job_id(name, "default").name == name
    assert generate_name("x-").startswith("x-")
    assert not generate_name("x-").startswith("x--")
