"""Kubernetes quantity parsing: exact values, and strings that must fail."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mpi.mpioperator.quantity import QuantityError, parse_quantity

VALUES = [
    ("0", Decimal(0)),
    ("1", Decimal(1)),
    ("500m", Decimal("0.5")),
    ("0.5", Decimal("0.5")),
    (".5", Decimal("0.5")),
    ("5.", Decimal(5)),
    ("+2", Decimal(2)),
    ("-2", Decimal(-2)),
    ("1k", Decimal(1000)),
    ("1M", Decimal(10**6)),
    ("1G", Decimal(10**9)),
    ("1T", Decimal(10**12)),
    ("1P", Decimal(10**15)),
    ("1E", Decimal(10**18)),
    ("1Ki", Decimal(1024)),
    ("1Mi", Decimal(2**20)),
    ("1.5Gi", Decimal(3 * 2**29)),
    ("1Ti", Decimal(2**40)),
    ("1Pi", Decimal(2**50)),
    ("1Ei", Decimal(2**60)),
    ("1e3", Decimal(1000)),
    ("1E3", Decimal(1000)),
    ("1.5e9", Decimal(1_500_000_000)),
    ("12e-3", Decimal("0.012")),
    ("1e+2", Decimal(100)),
    ("1073741824", Decimal(2**30)),
]


@pytest.mark.parametrize(("text", "value"), VALUES, ids=[t for t, _ in VALUES])
def test_quantities_parse_exactly(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "1 Gi",
        "Gi",
        "1ki",
        "1KI",
        "1e",
        "1e1.5",
        "e3",
        "1.2.3",
        "--1",
        "1Gb",
        "0x10",
        "1mi",
        "∞",
    ],
)
def test_non_quantities_fail(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_non_strings_fail() -> None:
    with pytest.raises(QuantityError):
        parse_quantity(5)  # type: ignore[arg-type]


#: The pattern the MPIJob CRD puts on every resource quantity (int-or-string).
CRD_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


@given(st.text(alphabet="0123456789.+-eEkKMGTPim n", max_size=8))
def test_whatever_parses_also_matches_the_crd_pattern(text: str) -> None:
    try:
        parse_quantity(text)
    except QuantityError:
        return
    assert CRD_QUANTITY.match(text), text
