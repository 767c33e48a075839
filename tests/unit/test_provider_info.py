"""get_provider_info: valid for Airflow, complete, and seen by ProvidersManager and the CLI."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest
from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink
from airflow.triggers.base import BaseTrigger

from airflow_provider_mpi.get_provider_info import get_provider_info

PACKAGE = "airflow-provider-mpi"
SCHEMA = Path(airflow.__file__).parent / "provider_info.schema.json"
INFO = get_provider_info()


def test_matches_airflows_schema() -> None:
    jsonschema.validate(INFO, json.loads(SCHEMA.read_text()))


def _classes(section: str, base: type) -> set[str]:
    found = set()
    for entry in INFO[section]:
        for module_name in entry["python-modules"]:
            module = importlib.import_module(module_name)
            for name in module.__all__:
                obj = getattr(module, name)
                if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_"):
                    found.add(f"{module_name}.{name}")
    return found


@pytest.mark.parametrize(
    ("section", "base", "expected"),
    [
        ("hooks", BaseHook, {"airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook"}),
        (
            "operators",
            BaseOperator,
            {
                "airflow_provider_mpi.operators.mpi_job.MPIJobOperator",
                "airflow_provider_mpi.operators.mpi_job.MPIJobArrayOperator",
            },
        ),
        ("sensors", BaseOperator, {"airflow_provider_mpi.sensors.mpi_job.MPIJobSensor"}),
        ("triggers", BaseTrigger, {"airflow_provider_mpi.triggers.mpi_job.MPIJobTrigger"}),
    ],
)
def test_every_public_class_is_listed(section: str, base: type, expected: set[str]) -> None:
    assert _classes(section, base) == expected


def test_extra_links_import() -> None:
    for path in INFO["extra-links"]:
        module, _, name = path.rpartition(".")
        link = getattr(importlib.import_module(module), name)
        assert issubclass(link, BaseOperatorLink)


def test_no_connection_type_clash() -> None:
    assert "connection-types" not in INFO
    assert "hook-class-names" not in INFO


def test_providers_manager_sees_us_and_keeps_the_cncf_kubernetes_hook() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert PACKAGE in manager.providers
    assert manager.providers[PACKAGE].version == INFO["versions"][0]
    assert "airflow_provider_mpi.triggers.mpi_job" in {  # module names
        trigger.trigger_class_name for trigger in manager.trigger
    }
    assert "airflow_provider_mpi.links.MPIJobLink" in manager.extra_links_class_names
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    kubernetes = ProvidersManagerTaskRuntime().hooks["kubernetes"]
    assert kubernetes is not None
    assert kubernetes.package_name == "apache-airflow-providers-cncf-kubernetes"


def _airflow_cli(*args: str) -> str:
    env = {**os.environ, "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_cli_lists_the_provider_and_its_hook_connection_type() -> None:
    providers = json.loads(_airflow_cli("providers", "list", "-o", "json"))
    assert any(p["package_name"] == PACKAGE for p in providers)
    hooks = json.loads(_airflow_cli("providers", "hooks", "-o", "json"))
    assert any(h["connection_type"] == "kubernetes" for h in hooks)
