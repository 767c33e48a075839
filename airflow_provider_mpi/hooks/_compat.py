"""Airflow exceptions from where the running Airflow 3 keeps them.

Airflow 3.1 moved the task-facing exceptions into ``airflow.sdk.exceptions``;
3.0 has them in ``airflow.exceptions`` only. The faces import them from here.
"""

from __future__ import annotations

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
]
