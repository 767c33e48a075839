"""Airflow identity -> label values: valid, deterministic, collision-free."""

from __future__ import annotations

import re

import pytest

from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.operators._labels import AirflowJobIdentity, safe_label_value

VALID = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example_mpi_pi", "example_mpi_pi"),
        ("compute.pi-2", "compute.pi-2"),
        ("a" * 63, "a" * 63),
        ("", ""),
        ("0", "0"),
    ],
)
def test_valid_values_pass_unchanged(raw: str, expected: str) -> None:
    assert safe_label_value(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "manual__2026-01-01T00:00:00+00:00",
        "scheduled__2026-01-01T00:00:00.123456+00:00",
        "a" * 64,
        "_leading_underscore",
        "trailing-",
        "spaces and / slashes",
        "+++",
        "ünïcödé",
    ],
)
def test_invalid_values_become_valid_and_stable(raw: str) -> None:
    value = safe_label_value(raw)
    assert VALID.match(value), value
    assert len(value) <= 63
    assert value == safe_label_value(raw)  # deterministic: a retry finds its job


def test_values_that_clean_alike_stay_distinct() -> None:
    a = safe_label_value("manual__2026-01-01T00:00:00+00:00")
    b = safe_label_value("manual__2026-01-01T00:00:00-00:00")
    assert a != b


def test_identity_labels_and_annotations() -> None:
    identity = AirflowJobIdentity("dag", "task", "manual__2026-01-01T00:00:00+00:00", 3, 2)
    selector = identity.selector_labels()
    assert selector[keys.LABEL_DAG_ID] == "dag"
    assert selector[keys.LABEL_AIRFLOW_TASK_ID] == "task"
    assert selector[keys.LABEL_MAP_INDEX] == "3"
    assert keys.LABEL_TRY_NUMBER not in selector  # any try matches
    assert identity.labels() == {**selector, keys.LABEL_TRY_NUMBER: "2"}
    assert identity.annotations() == {keys.ANNOTATION_RUN_ID: identity.run_id}


class _TI:
    dag_id = "d"
    task_id = "t"
    run_id = "r"
    map_index = None
    try_number = 0


def test_identity_from_context_defaults() -> None:
    identity = AirflowJobIdentity.from_context({"ti": _TI()})
    assert identity == AirflowJobIdentity("d", "t", "r", -1, 1)
    assert keys.LABEL_MAP_INDEX not in identity.labels()  # "-1" is not a label value
