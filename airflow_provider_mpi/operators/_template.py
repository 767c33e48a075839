"""Reading the ``job_template`` argument of the operators into a JobTemplate.

A DAG author gives a ``JobTemplate``, a dict (Go JSON keys or snake_case) or a
``.yaml``/``.json`` file that Airflow has already read and rendered into text.
All three end up here, after Jinja rendering and before any API request, so
a bad template fails the task with the field and value named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_mpi.drmaa2.errors import InvalidTemplateError
from airflow_provider_mpi.drmaa2.template import JobTemplate

__all__ = ["TEMPLATE_EXTENSIONS", "job_template_as_dict", "load_job_template"]

#: File extensions read as job template files (``template_ext``).
TEMPLATE_EXTENSIONS = (".yaml", ".yml", ".json")


def job_template_as_dict(value: object) -> Any:
    """Prepare the argument for Jinja: a JobTemplate becomes its Go JSON dict.

    Airflow renders strings inside dicts and lists but not inside arbitrary
    objects, so a JobTemplate is turned into a dict (the rendering then
    reaches every field, e.g. ``args``). Other values pass unchanged.

    Args:
        value: the ``job_template`` argument.

    Returns:
        A dict for a JobTemplate, else the value itself.
    """
    if isinstance(value, JobTemplate):
        return value.to_dict()
    return value


def load_job_template(value: object, *, field: str = "job_template") -> JobTemplate:
    """Build the JobTemplate from a rendered ``job_template`` argument.

    Args:
        value: a JobTemplate, a mapping (Go keys or snake_case), or YAML/JSON
            text (a template file's rendered content).
        field: the argument name used in error messages.

    Returns:
        A new JobTemplate.

    Raises:
        InvalidTemplateError: the value is not a template, the text does not
            parse, or a field is unknown or of the wrong type.
    """
    if isinstance(value, JobTemplate):
        return value.copy()
    if isinstance(value, str):
        import yaml  # here, not at the top: kept out of DAG parsing (~15 ms)

        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise InvalidTemplateError(
                field, _shorten(value), f"not valid YAML or JSON: {exc}"
            ) from None
        if not isinstance(parsed, Mapping):
            raise InvalidTemplateError(
                field,
                _shorten(value),
                "must be a JobTemplate, a mapping, or a .yaml/.json file holding a mapping",
            )
        value = parsed
    if isinstance(value, Mapping):
        return JobTemplate.from_dict(value)
    raise InvalidTemplateError(
        field, value, "must be a JobTemplate, a mapping, or a .yaml/.json file"
    )


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
