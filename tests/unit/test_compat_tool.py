"""tools/compat.py (``make compat``): its pure parts, without installing any Airflow."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "compat.py"


@pytest.fixture(scope="module")
def compat() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat_tool", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="tests.unit.test_a" name="test_ok" time="0.1"/>
<testcase classname="tests.unit.test_a" name="test_bad" time="0.1">
  <failure message="AssertionError: assert 1 == 2&#10;more">trace</failure></testcase>
<testcase classname="tests.dags.test_b" name="test_new" time="0">
  <skipped message="Airflow 3.0.6 &lt; 3.1: external views">s</skipped></testcase>
<testcase classname="" name="tests.unit.test_c" time="0">
  <error message="collection failure">ImportError</error></testcase>
</testsuite></testsuites>
"""


def test_a_report_is_counted_with_its_failures_and_skip_reasons(compat: ModuleType) -> None:
    outcome = compat.read_junit(REPORT)
    assert (outcome.passed, outcome.failed, outcome.skipped) == (1, 2, 1)
    assert outcome.failures == [
        ("tests.unit.test_a::test_bad", "AssertionError: assert 1 == 2"),
        ("tests.unit.test_c", "collection failure"),
    ]
    assert outcome.skips == [("tests.dags.test_b::test_new", "Airflow 3.0.6 < 3.1: external views")]


@pytest.mark.parametrize(
    ("version", "pins"),
    [
        ("3.0.6", ["fastapi<0.118", "cadwyn<6", "cryptography<51"]),
        ("3.1.8", ["cryptography<51"]),
        ("3.2.2", ["fastapi<0.137", "cryptography<51"]),
        ("3.3.2", []),
        ("4.0.0", []),
    ],
)
def test_pins_apply_below_the_release_that_needs_none(
    compat: ModuleType, version: str, pins: list[str]
) -> None:
    assert compat.compat_pins(version) == pins


def test_the_table_and_the_details_name_each_version(compat: ModuleType) -> None:
    ran = compat.Result(
        "3.1.8",
        installed={"apache-airflow-core": "3.1.8", "cryptography": "50.0.2"},
        outcome=compat.read_junit(REPORT),
        seconds=90,
    )
    broken = compat.Result("3.0.6", problem="`install` failed, see install.log")
    table = compat.format_table([ran, broken]).splitlines()
    assert table[0].split("|")[1].strip() == "airflow"
    assert [cell.strip() for cell in table[2].split("|")[1:-1]] == [
        "3.1.8", "3.1.8", "-", "-", "-", "50.0.2", "1", "2", "1", "1.5",
    ]  # fmt: skip
    assert table[3].split("|")[-5].strip() == "-"  # no counts without a run
    details = compat.format_details([ran, broken])
    assert "FAILED tests.unit.test_a::test_bad: AssertionError: assert 1 == 2" in details
    assert "skipped tests.dags.test_b::test_new: Airflow 3.0.6 < 3.1: external views" in details
    assert "Airflow 3.0.6:\n  problem: `install` failed" in details
