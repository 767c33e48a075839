"""Airflow names from where the running Airflow 3 keeps them.

Airflow 3.1 made the Task SDK (``airflow.sdk``) the one place a provider
imports from: ``BaseHook``, ``conf`` and the task-facing exceptions. Airflow
3.0 (Task SDK 1.0) has them only in core: ``airflow.hooks.base``,
``airflow.configuration`` and ``airflow.exceptions``. The faces import them
from here, so every supported Airflow (``>=3.0,<4``) loads the provider.
"""

from __future__ import annotations

try:
    from airflow.sdk import BaseHook, conf
except ImportError:  # Airflow 3.0
    from airflow.configuration import conf  # type: ignore[assignment,no-redef,unused-ignore]
    from airflow.hooks.base import BaseHook  # type: ignore[assignment,no-redef,attr-defined,unused-ignore]

try:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )
except ImportError:  # Airflow 3.0
    from airflow.exceptions import (  # type: ignore[assignment,no-redef,attr-defined,unused-ignore]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseHook",
    "conf",
]
