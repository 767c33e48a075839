"""Airflow task identity as Kubernetes labels, so a retry can find its job.

The operator labels every MPIJob it submits with the DAG ID, task ID, run ID,
map index and try number. Label values are limited to 63 characters of
``[A-Za-z0-9._-]`` starting and ending alphanumeric, while run IDs such as
``manual__2026-01-01T00:00:00+00:00`` are not. A value that does not fit is
cleaned and suffixed with a hash of the original, so the mapping is
deterministic (the next try computes the same label) and two different IDs do
not collide after cleaning.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.mpioperator import names as keys

__all__ = ["AirflowJobIdentity", "safe_label_value"]

MAX_LABEL_VALUE = 63
_VALID_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_INVALID_CHARS = re.compile(r"[^-A-Za-z0-9_.]+")
_HASH_LENGTH = 10


def safe_label_value(value: str) -> str:
    """Turn any string into a valid, deterministic Kubernetes label value.

    Args:
        value: the raw value (an Airflow ID).

    Returns:
        ``value`` itself when it is a valid label value; otherwise the value
        with invalid characters replaced by ``-``, trimmed, cut and suffixed
        with ``-`` and 10 hex digits of its SHA-256.
    """
    if len(value) <= MAX_LABEL_VALUE and _VALID_VALUE.match(value):
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
    cleaned = _INVALID_CHARS.sub("-", value)
    cleaned = cleaned[: MAX_LABEL_VALUE - _HASH_LENGTH - 1].strip("-_.")
    return f"{cleaned}-{digest}" if cleaned else digest


@dataclass(frozen=True)
class AirflowJobIdentity:
    """Which Airflow task instance a job belongs to.

    Attributes:
        dag_id: the DAG.
        task_id: the task.
        run_id: the DAG run.
        map_index: the map index (-1 for an unmapped task).
        try_number: the try that submitted the job.
    """

    dag_id: str
    task_id: str
    run_id: str
    map_index: int = -1
    try_number: int = 1

    @classmethod
    def from_context(cls, context: Mapping[str, object]) -> AirflowJobIdentity:
        """Read the identity from an Airflow task context.

        Args:
            context: the context passed to ``execute``.

        Returns:
            The identity of the running task instance.
        """
        ti: Any = context["ti"]
        map_index = getattr(ti, "map_index", None)
        return cls(
            dag_id=str(ti.dag_id),
            task_id=str(ti.task_id),
            run_id=str(ti.run_id),
            map_index=-1 if map_index is None else int(map_index),
            try_number=int(getattr(ti, "try_number", None) or 1),
        )

    def selector_labels(self) -> dict[str, str]:
        """Labels that select the jobs of this task instance, whatever the try.

        The map index is labelled only for mapped tasks.

        Returns:
            Label key to sanitised value.
        """
        labels = {
            keys.LABEL_DAG_ID: safe_label_value(self.dag_id),
            keys.LABEL_AIRFLOW_TASK_ID: safe_label_value(self.task_id),
            keys.LABEL_RUN_ID: safe_label_value(self.run_id),
        }
        if self.map_index >= 0:  # "-1" is no label value; a task is mapped or not
            labels[keys.LABEL_MAP_INDEX] = str(self.map_index)
        return labels

    def labels(self) -> dict[str, str]:
        """All labels to put on a job submitted by this try.

        Returns:
            The selector labels plus the try number.
        """
        return {**self.selector_labels(), keys.LABEL_TRY_NUMBER: str(self.try_number)}

    def annotations(self) -> dict[str, str]:
        """Annotations keeping the unsanitised values.

        Returns:
            The full run ID under ``labels.ANNOTATION_RUN_ID``.
        """
        return {keys.ANNOTATION_RUN_ID: self.run_id}
