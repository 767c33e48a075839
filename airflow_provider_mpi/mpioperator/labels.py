"""Label and annotation keys the tracker and the Airflow faces put on MPIJobs.

Kept in one place so the converter, the tracker and the operator agree on the
names, and so a user can select our jobs with ``kubectl get mpijobs -l ...``.
"""

from __future__ import annotations

PREFIX = "airflow-provider-mpi/"

#: Label: the array name of an array job's task.
LABEL_ARRAY_ID = PREFIX + "array-id"
#: Label: the task ID of an array job's task.
LABEL_TASK_ID = PREFIX + "task-id"
#: Label: the template's ``accounting_id`` (DRMAA2 AccountingID), for chargeback selection.
LABEL_ACCOUNTING_ID = PREFIX + "accounting-id"
#: Annotation: the DRMAA2 JobTemplate the job was created from, as Go JSON.
ANNOTATION_JOB_TEMPLATE = PREFIX + "job-template"
#: Annotation: "true" once job control terminated the job.
ANNOTATION_TERMINATED = PREFIX + "terminated"
#: Annotation: "true" while the job is suspended by ``hold`` (not ``suspend``).
ANNOTATION_HELD = PREFIX + "held"

#: Labels set by the Airflow operators (values sanitised to label syntax).
LABEL_DAG_ID = PREFIX + "dag-id"
LABEL_AIRFLOW_TASK_ID = PREFIX + "airflow-task-id"
LABEL_RUN_ID = PREFIX + "run-id"
LABEL_MAP_INDEX = PREFIX + "map-index"
LABEL_TRY_NUMBER = PREFIX + "try-number"
#: Annotation: the unsanitised Airflow run ID.
ANNOTATION_RUN_ID = PREFIX + "run-id"

__all__ = [
    "ANNOTATION_HELD",
    "ANNOTATION_JOB_TEMPLATE",
    "ANNOTATION_RUN_ID",
    "ANNOTATION_TERMINATED",
    "LABEL_ACCOUNTING_ID",
    "LABEL_AIRFLOW_TASK_ID",
    "LABEL_ARRAY_ID",
    "LABEL_DAG_ID",
    "LABEL_MAP_INDEX",
    "LABEL_RUN_ID",
    "LABEL_TASK_ID",
    "LABEL_TRY_NUMBER",
    "PREFIX",
]
