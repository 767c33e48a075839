"""The ``mpi_operator`` connection form, declared once for every Airflow 3.

Airflow 3.2+ builds the form from the provider info (``conn-fields`` and
``ui-field-behaviour``) without importing the hook. Airflow 3.0 and 3.1 read
neither: they call the hook's ``get_connection_form_widgets`` and
``get_ui_field_behaviour`` (their UI does so with Flask-AppBuilder and
WTForms replaced by stand-ins, so neither needs to be installed). Both paths
read the declarations here, so the form is the same on every version.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CONNECTION_FIELDS",
    "HIDDEN_FIELDS",
    "connection_form_widgets",
    "ui_field_behaviour",
]

_TEXT = {"type": ["string", "null"]}
_FLAG = {"type": ["boolean", "null"]}

#: The ``mpi_operator`` connection form: the cncf ``kubernetes`` fields that
#: apply (not its TLS/keepalive switches, which only its sync client honours,
#: nor the pod operator's XCom sidecar), and the extra link's URL template.
CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "in_cluster": {"label": "In cluster configuration", "schema": _FLAG},
    "kube_config_path": {"label": "Kube config path", "schema": _TEXT},
    "kube_config": {
        "label": "Kube config (JSON or YAML)",
        "schema": {**_TEXT, "format": "password"},
    },
    "namespace": {"label": "Namespace", "schema": _TEXT},
    "cluster_context": {"label": "Cluster context", "schema": _TEXT},
    "mpi_job_url_template": {
        "label": "MPI job URL template",
        "description": "URL of the 'MPI Job' extra link, with {namespace}, {name} and {job_id}",
        "schema": _TEXT,
    },
}

#: The standard connection fields the form hides: everything is in the extras.
HIDDEN_FIELDS = ("host", "schema", "login", "password", "port", "extra")


def ui_field_behaviour() -> dict[str, Any]:
    """The form's field behaviour in the shape of ``BaseHook.get_ui_field_behaviour``.

    Returns:
        ``hidden_fields`` (:data:`HIDDEN_FIELDS`), no relabeling, no placeholders.
    """
    return {"hidden_fields": list(HIDDEN_FIELDS), "relabeling": {}, "placeholders": {}}


def connection_form_widgets() -> dict[str, Any]:
    """:data:`CONNECTION_FIELDS` as WTForms fields (``BaseHook.get_connection_form_widgets``).

    A boolean schema becomes a ``BooleanField``, the ``password`` format a
    ``PasswordField`` (a secret, masked in the UI), any other a ``StringField``.

    Returns:
        The fields by extra name.

    Raises:
        ImportError: where WTForms or Flask-AppBuilder is missing and Airflow
            has not replaced them (Airflow then shows the form without them).
    """
    from flask_appbuilder.fieldwidgets import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        BS3PasswordFieldWidget,
        BS3TextFieldWidget,
    )
    from flask_babel import lazy_gettext  # type: ignore[import-not-found,import-untyped,unused-ignore]
    from wtforms import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        BooleanField,
        PasswordField,
        StringField,
    )

    widgets: dict[str, Any] = {}
    for name, field in CONNECTION_FIELDS.items():
        label = lazy_gettext(field["label"])
        description = field.get("description", "")
        schema = field["schema"]
        if "boolean" in schema["type"]:
            widgets[name] = BooleanField(label, description=description)
        elif schema.get("format") == "password":
            widgets[name] = PasswordField(
                label, widget=BS3PasswordFieldWidget(), description=description
            )
        else:
            widgets[name] = StringField(label, widget=BS3TextFieldWidget(), description=description)
    return widgets
