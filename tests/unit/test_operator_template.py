"""The job_template argument: JobTemplate, Go or snake_case dict, YAML/JSON text."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.operators._template import job_template_as_dict, load_job_template

EXPECTED = JobTemplate(remote_command="mpirun", args=["-n", "2"], min_slots=2, job_category="img")


@pytest.mark.parametrize(
    "value",
    [
        EXPECTED,
        {"remoteCommand": "mpirun", "args": ["-n", "2"], "minSlots": 2, "jobCategory": "img"},
        {"remote_command": "mpirun", "args": ["-n", "2"], "min_slots": 2, "job_category": "img"},
        "remoteCommand: mpirun\nargs: ['-n', '2']\nminSlots: 2\njobCategory: img\n",
        '{"remoteCommand": "mpirun", "args": ["-n", "2"], "minSlots": 2, "jobCategory": "img"}',
    ],
    ids=["JobTemplate", "go-keys", "snake_case", "yaml-text", "json-text"],
)
def test_every_input_form_gives_the_same_template(value: object) -> None:
    assert load_job_template(value) == EXPECTED


def test_a_job_template_is_copied_not_shared() -> None:
    loaded = load_job_template(EXPECTED)
    loaded.args.append("x")
    assert EXPECTED.args == ["-n", "2"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("remoteCommand: [unclosed", "job_template"),
        ("- a list\n- not a mapping\n", "job_template"),
        (42, "job_template"),
        ({"remoteComand": "mpirun"}, None),  # misspelt key: JobTemplate names it
        ({"minSlots": "two"}, None),
    ],
)
def test_bad_templates_name_the_field(value: object, field: str | None) -> None:
    with pytest.raises(InvalidTemplateError) as caught:
        load_job_template(value)
    if field is not None:
        assert caught.value.field == field


def test_job_template_becomes_a_renderable_dict() -> None:
    as_dict = job_template_as_dict(EXPECTED)
    assert as_dict["remoteCommand"] == "mpirun"
    assert load_job_template(as_dict) == EXPECTED
    assert job_template_as_dict("x.yaml") == "x.yaml"
