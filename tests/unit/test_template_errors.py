"""Issue 12, item 4: errors name what the user wrote, all of them at once."""

from __future__ import annotations

import pickle
import random

import pytest

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.drmaa2.errors import (
    InvalidTemplateError,
    UnsupportedAttributeError,
    shorten,
)
from airflow_provider_mpi.mpioperator.template.convert import build_mpi_job
from airflow_provider_mpi.mpioperator.template.limits import (
    ANNOTATIONS_MAX_BYTES,
    ARG_MAX_BYTES,
    PATH_MAX_BYTES,
    neutralized,
    size_errors,
)
from airflow_provider_mpi.mpioperator.tracker.submission import prepare_array, prepare_job
from airflow_provider_mpi.testing.malformed import (
    MISTAKES,
    base_template_kwargs,
    broken_template_kwargs,
)

MB = 1024 * 1024


def template(**changes: object) -> JobTemplate:
    kwargs = base_template_kwargs()
    kwargs.update(changes)
    return JobTemplate(**kwargs)


def error_of(jt: JobTemplate) -> InvalidTemplateError:
    with pytest.raises(InvalidTemplateError) as info:
        prepare_job(jt, namespace="default")
    return info.value


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"extension_list": {"workerImage": "w" * MB}}, "extension_list['workerImage']", "255"),
        ({"args": ["pi.py", "a" * MB]}, "args", "args[1] is 1,048,576 bytes"),
        ({"working_directory": "/" + "d" * MB}, "working_directory", "4,096 bytes"),
        ({"job_category": "img:" + "t" * 200}, "job_category", "tag is at most 128"),
    ],
)
def test_a_megabyte_names_the_field_not_the_annotation(
    changes: dict[str, object], field: str, words: str
) -> None:
    error = error_of(template(**changes))
    assert error.field == field
    assert error.fields == [field]
    assert words in str(error)
    assert "annotations" not in str(error)
    assert len(str(error)) < 400  # the value is shortened, not quoted whole


def test_values_within_the_limits_pass() -> None:
    jt = template(
        args=["a" * (ARG_MAX_BYTES - 1)],
        working_directory="/" + "d" * (PATH_MAX_BYTES - 1),
        extension_list={"workerImage": "r/" + "p" * 250 + ":" + "t" * 128},
    )
    assert size_errors(jt) == []
    mpijob = prepare_job(jt, namespace="default")
    assert mpijob["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0][
        "args"
    ] == ["a" * (ARG_MAX_BYTES - 1)]


def test_a_template_too_large_to_store_names_its_largest_field() -> None:
    env = {f"V{i}": "v" * 100_000 for i in range(3)}  # each fine, together too large
    error = error_of(template(job_environment=env))
    assert error.field == "job_environment"
    assert f"{ANNOTATIONS_MAX_BYTES:,}" in str(error)
    big_extension = {"annotations": "a=" + "x" * 100_000, "workerCommand": "y" * 200_000}
    assert error_of(template(extension_list=big_extension)).field == (
        "extension_list['workerCommand']"
    )


def test_every_mistake_is_listed_in_one_message() -> None:
    jt = template(
        priority=5,
        min_slots=-1,
        job_name="Bad_Name",
        extension_list={"workerImage": "w" * MB, "bogus": "1", "slotsPerWorker": "x"},
    )
    error = error_of(jt)
    assert type(error) is InvalidTemplateError  # the first error's class (a size error)
    assert error.field == "extension_list['workerImage']"  # .field/.value of the first
    assert sorted(error.fields) == sorted(
        [
            "extension_list['workerImage']",
            "priority",
            "extension_list['bogus']",
            "min_slots",
            "job_name",
            "slotsPerWorker",
        ]
    )
    assert str(error).startswith("the job template has 6 errors: (1) ")
    for field in error.fields:  # an extension is named by its key at least
        assert field.removeprefix("extension_list[").removesuffix("]") in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.fields, str(copy)) == (error.fields, str(error))


def test_one_error_keeps_its_own_message() -> None:
    error = error_of(template(min_slots=-1))
    assert str(error) == "invalid value for min_slots: -1 (must not be negative)"
    assert error.errors == [("min_slots", -1, "must not be negative")]


def test_arrays_report_every_error_before_any_task() -> None:
    with pytest.raises(InvalidTemplateError) as info:
        prepare_array(
            template(priority=1, working_directory="/" + "x" * 5000),
            1,
            3,
            1,
            0,
            namespace="default",
        )
    assert sorted(info.value.fields) == ["priority", "working_directory"]


def test_shorten() -> None:
    assert shorten("abc") == "'abc'"
    text = shorten("x" * 5000)
    assert text.endswith("... (5,000 characters)")
    assert len(text) < 100
    assert shorten(list(range(1000))).endswith("(1,000 items)")


def test_neutralized_sets_one_field_aside() -> None:
    jt = template(extension_list={"workerImage": "x", "slotsPerWorker": "y"}, min_slots=-1)
    assert neutralized(jt, "extension_list['workerImage']").extension_list == {  # type: ignore[union-attr]
        "slotsPerWorker": "y"
    }
    assert neutralized(jt, "slotsPerWorker").extension_list == {"workerImage": "x"}  # type: ignore[union-attr]
    assert neutralized(jt, "min_slots").min_slots == 1  # type: ignore[union-attr]
    assert neutralized(jt, "spec.mpiReplicaSpecs") is None


def test_the_aggregate_takes_the_first_errors_class() -> None:
    error = error_of(template(priority=5, min_slots=-1))
    assert isinstance(error, UnsupportedAttributeError)
    assert (error.field, error.value) == ("priority", 5)
    assert error.fields == ["priority", "min_slots"]


def test_a_valid_template_builds() -> None:
    mpijob = build_mpi_job(template(), namespace="default", name="pi")
    assert mpijob["metadata"]["name"] == "pi"


@pytest.mark.parametrize("seed", range(5))
def test_random_malformed_templates_name_every_field(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        kwargs, fields = broken_template_kwargs(rng)
        error = error_of(JobTemplate(**kwargs))
        assert sorted(error.fields) == sorted(fields)


def test_every_mistake_of_the_catalogue_alone() -> None:
    rng = random.Random(0)
    for field, change in MISTAKES:
        kwargs = base_template_kwargs()
        change(kwargs, rng)
        assert error_of(JobTemplate(**kwargs)).fields == [field]
