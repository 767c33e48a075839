"""The connection form the hook declares for Airflow 3.0 and 3.1 is the one of ``conn-fields``.

Airflow 3.2+ builds the ``mpi_operator`` form from the provider info; 3.0 and
3.1 call ``MPIOperatorHook.get_connection_form_widgets`` and
``get_ui_field_behaviour`` instead, in the UI with Flask-AppBuilder and WTForms
replaced by the stand-ins of Airflow's ``HookMetaService``. Here the same
stand-ins are installed (neither package is a dependency) and the widgets are
compared with the declarations, on whatever Airflow runs; ``make compat``
checks the whole path on 3.0 and 3.1 (``test_provider_info``).
"""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
import sys
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

from airflow_provider_mpi.get_provider_info import get_provider_info
from airflow_provider_mpi.hooks._form import CONNECTION_FIELDS, HIDDEN_FIELDS
from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook


@pytest.fixture
def wtforms_standins(monkeypatch: pytest.MonkeyPatch) -> None:
    """What Airflow's UI puts in place of WTForms and Flask-AppBuilder before reading widgets."""
    meta = HookMetaService
    modules = {
        "wtforms": SimpleNamespace(
            StringField=meta.MockStringField,
            PasswordField=meta.MockPasswordField,
            BooleanField=meta.MockBooleanField,
            IntegerField=meta.MockIntegerField,
        ),
        "flask_appbuilder": SimpleNamespace(),
        "flask_appbuilder.fieldwidgets": SimpleNamespace(
            BS3TextFieldWidget=meta.MockAnyWidget, BS3PasswordFieldWidget=meta.MockAnyWidget
        ),
        "flask_babel": SimpleNamespace(lazy_gettext=lambda text: text),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.usefixtures("wtforms_standins")
def test_the_widgets_are_the_declared_fields() -> None:
    widgets = MPIOperatorHook.get_connection_form_widgets()
    assert set(widgets) == set(CONNECTION_FIELDS)
    for name, field in CONNECTION_FIELDS.items():
        schema: dict[str, Any] = widgets[name].param.dump()["schema"]
        assert schema["title"] == field["label"], name
        assert schema["type"] == field["schema"]["type"], name
        assert schema.get("format") == field["schema"].get("format"), name
        assert (widgets[name].param.description or "") == field.get("description", ""), name
    assert isinstance(widgets["kube_config"], HookMetaService.MockPasswordField)
    assert isinstance(widgets["in_cluster"], HookMetaService.MockBooleanField)


def test_the_field_behaviour_is_the_provider_infos() -> None:
    behaviour = MPIOperatorHook.get_ui_field_behaviour()
    (entry,) = get_provider_info()["connection-types"]
    assert behaviour["hidden_fields"] == entry["ui-field-behaviour"]["hidden-fields"]
    assert behaviour["hidden_fields"] == list(HIDDEN_FIELDS)
    assert entry["conn-fields"] is CONNECTION_FIELDS
