"""Kubernetes quantities: the official client's values; our grammar where the client errs."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils.quantity import parse_quantity as client_parse_quantity

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.template import set_worker_resource_requests_extension
from airflow_provider_mpi.mpioperator.template.quantity import QuantityError, parse_quantity

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


@pytest.mark.parametrize("text", ["1n", "250u", "-0", "+.5e1"])
def test_kubernetes_suffixes_and_signs_we_used_to_miss_are_quantities(text: str) -> None:
    # The API server takes "n" and "u" (nano, micro); the hand-written parser rejected them.
    assert parse_quantity(text) == client_parse_quantity(text)


@pytest.mark.parametrize(("text", "value"), VALUES, ids=[t for t, _ in VALUES])
def test_the_value_is_the_official_clients(text: str, value: Decimal) -> None:
    assert client_parse_quantity(text) == value == parse_quantity(text)


#: What ``kubernetes.utils.parse_quantity`` gets wrong: strings the API server
#: rejects but it turns into a value (Decimal takes whitespace, underscores,
#: NaN, infinity and other scripts' digits; a suffix after an exponent; a
#: binary suffix on m/u/n). Our grammar check stays for these alone.
CLIENT_ACCEPTS_WRONGLY = [
    " 1",
    "1 ",
    "1_000",
    "NaN",
    "Infinity",
    "-inf",
    "١٢",
    "1e3k",
    "1mi",
    "1e3Ki",
]


@pytest.mark.parametrize("text", CLIENT_ACCEPTS_WRONGLY)
def test_where_the_client_is_wrong_our_grammar_decides(text: str) -> None:
    client_parse_quantity(text)  # no error from the client: that is the bug shown here
    assert not CRD_QUANTITY.match(text)  # the CRD (and the API server) rejects it
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_resource_extensions_name_a_bad_quantity_before_any_client_is_needed() -> None:
    jt = JobTemplate(job_category="img", min_slots=1, extension_list={})
    for bad in ("1_000", "NaN", "1e3k", "-1"):
        with pytest.raises(InvalidTemplateError) as info:
            set_worker_resource_requests_extension(jt, {"cpu": bad})
        assert info.value.field == "resourceRequestWorker-cpu"
        assert info.value.value == bad
