"""get_provider_info: valid for Airflow, complete, and seen by ProvidersManager and the CLI."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import pytest
from airflow.sdk import BaseOperator, BaseOperatorLink
from airflow.triggers.base import BaseTrigger

from airflow_provider_mpi.get_provider_info import CONNECTION_FIELDS, get_provider_info
from airflow_provider_mpi.hooks._compat import BaseHook
from tests.airflow_versions import airflow_at_least, needs_airflow

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


HOOK_CLASS = "airflow_provider_mpi.hooks.mpi_operator.MPIOperatorHook"


def test_registers_its_own_connection_type_only() -> None:
    assert [
        (entry["connection-type"], entry["hook-class-name"]) for entry in INFO["connection-types"]
    ] == [("mpi_operator", HOOK_CLASS)]
    assert "hook-class-names" not in INFO  # deprecated; would import the hook at discovery


def test_connection_fields_are_read_by_the_hook() -> None:
    from airflow_provider_mpi.hooks._kube_config import URL_TEMPLATE_EXTRA
    from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook

    (entry,) = INFO["connection-types"]
    assert entry["connection-type"] == MPIOperatorHook.conn_type
    assert entry["hook-name"] == MPIOperatorHook.hook_name
    assert set(entry["conn-fields"]) == {
        "in_cluster",
        "kube_config_path",
        "kube_config",
        "namespace",
        "cluster_context",
        URL_TEMPLATE_EXTRA,
    }
    assert entry["conn-fields"]["kube_config"]["schema"]["format"] == "password"


def test_providers_manager_sees_us() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert PACKAGE in manager.providers
    assert manager.providers[PACKAGE].version == INFO["versions"][0]
    assert "airflow_provider_mpi.triggers.mpi_job" in {  # module names
        trigger.trigger_class_name for trigger in manager.trigger
    }
    assert "airflow_provider_mpi.links.MPIJobLink" in manager.extra_links_class_names


def test_the_ui_shows_our_connection_form_and_keeps_the_cncf_one() -> None:
    """What the connection form is built from (the UI's ``/ui/connections/hook_meta``).

    Airflow 3.2+ reads our ``conn-fields``; 3.0 and 3.1 call the hook's
    ``get_connection_form_widgets`` with WTForms replaced by stand-ins. The
    form must be the same.
    """
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    HookMetaService.hook_meta_data.cache_clear()
    meta = {hook.connection_type: hook for hook in HookMetaService.hook_meta_data()}
    ours = meta["mpi_operator"]
    assert ours.hook_class_name == HOOK_CLASS
    assert ours.hook_name == "MPI Operator (Kubernetes)"
    if not airflow_at_least("3.1") and importlib.util.find_spec("flask_appbuilder") is None:
        # Airflow 3.0's UI replaces WTForms only where Flask-AppBuilder (the fab provider) is
        # installed; without it no hook's form has its fields, the cncf one neither.
        assert not ours.extra_fields
        assert not meta["kubernetes"].extra_fields
        return
    extra = ours.extra_fields or {}
    assert set(extra) == set(CONNECTION_FIELDS)
    for name, field in CONNECTION_FIELDS.items():
        assert extra[name]["schema"]["title"] == field["label"], name
        assert extra[name]["schema"]["type"] == field["schema"]["type"], name
    assert extra["kube_config"]["schema"]["format"] == "password"
    assert ours.standard_fields is not None
    assert ours.standard_fields.host is not None
    assert ours.standard_fields.host.hidden
    assert ours.standard_fields.password is not None
    assert ours.standard_fields.password.hidden
    assert "kube_config" in (meta["kubernetes"].extra_fields or {})  # cncf's form is untouched


@needs_airflow("3.2", "connection forms from provider info (conn-fields), task-side hooks")
def test_providers_manager_reads_our_conn_fields_without_importing_wtforms() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    assert widgets["extra__mpi_operator__kube_config"].is_sensitive
    assert widgets["extra__mpi_operator__mpi_job_url_template"].hook_class_name == HOOK_CLASS
    assert widgets["extra__kubernetes__kube_config"].package_name == (
        "apache-airflow-providers-cncf-kubernetes"
    )
    assert "host" in manager.field_behaviours["mpi_operator"]["hidden_fields"]
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hooks = ProvidersManagerTaskRuntime().hooks
    ours = hooks["mpi_operator"]
    assert ours is not None
    assert (ours.hook_class_name, ours.package_name) == (HOOK_CLASS, PACKAGE)
    assert ours.connection_id_attribute_name == "conn_id"
    assert ours.connection_testable
    kubernetes = hooks["kubernetes"]
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


def test_cli_lists_the_provider_and_its_hook() -> None:
    providers = json.loads(_airflow_cli("providers", "list", "-o", "json"))
    assert any(p["package_name"] == PACKAGE for p in providers)
    hooks = json.loads(_airflow_cli("providers", "hooks", "-o", "json"))
    by_type = {h["connection_type"]: h for h in hooks}
    assert by_type["mpi_operator"]["class"] == HOOK_CLASS
    assert by_type["mpi_operator"]["package_name"] == PACKAGE
    assert by_type["kubernetes"]["package_name"] == "apache-airflow-providers-cncf-kubernetes"
