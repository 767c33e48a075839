"""Every name the tracker and the Airflow faces agree on with Kubernetes, in one place.

The MPIJob API (group, version, kind, plural), the labels the MPI operator,
Kueue and the Kubernetes nodes use, and the labels and annotations this
provider puts on MPIJobs and ConfigMaps, so that the converter, the tracker,
the operators and the web view never spell one of them twice, and a user can
select our jobs with ``kubectl get mpijobs -l ...``. Pure: strings only.
"""

from __future__ import annotations

__all__ = [
    "ANNOTATION_ARRAY_OWNER",
    "ANNOTATION_HELD",
    "ANNOTATION_JOB_TEMPLATE",
    "ANNOTATION_LINES_LOGGED",
    "ANNOTATION_MAX_PARALLEL",
    "ANNOTATION_RUN_ID",
    "ANNOTATION_SUBMISSION",
    "ANNOTATION_SUBMITTED_AT",
    "ANNOTATION_TERMINATED",
    "API_VERSION",
    "ARCH_LABEL",
    "GKE_ACCELERATOR_LABEL",
    "HOSTNAME_LABEL",
    "KIND",
    "KUEUE_QUEUE_LABEL",
    "LABEL_ACCOUNTING_ID",
    "LABEL_AIRFLOW_TASK_ID",
    "LABEL_ARRAY_ID",
    "LABEL_DAG_ID",
    "LABEL_JOB_NAME",
    "LABEL_JOB_ROLE",
    "LABEL_MAP_INDEX",
    "LABEL_RUN_ID",
    "LABEL_TASK_ID",
    "LABEL_TRY_NUMBER",
    "MPIJOB_CRD",
    "MPIJOB_GROUP",
    "MPIJOB_PLURAL",
    "MPIJOB_VERSION",
    "OS_LABEL",
    "PREFIX",
]

# --------------------------------------------------------------------------- the MPIJob API

#: The API group of the Kubeflow MPI operator's custom resource.
MPIJOB_GROUP = "kubeflow.org"
#: The version the tracker speaks (mpi-operator v0.8.x).
MPIJOB_VERSION = "v2beta1"
#: ``apiVersion`` of every MPIJob object.
API_VERSION = f"{MPIJOB_GROUP}/{MPIJOB_VERSION}"
#: ``kind`` of an MPIJob object.
KIND = "MPIJob"
#: The resource name in URLs (``/apis/kubeflow.org/v2beta1/namespaces/<ns>/mpijobs``).
MPIJOB_PLURAL = "mpijobs"
#: The CustomResourceDefinition's name.
MPIJOB_CRD = f"{MPIJOB_PLURAL}.{MPIJOB_GROUP}"

# --------------------------------------------------------------------------- others' labels

#: Pod label of the MPI operator: the MPIJob's name.
LABEL_JOB_NAME = "training.kubeflow.org/job-name"
#: Pod label of the MPI operator: ``launcher`` or ``worker``.
LABEL_JOB_ROLE = "training.kubeflow.org/job-role"
#: The label Kueue reads the LocalQueue from.
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
#: Node labels a pod template selects on.
HOSTNAME_LABEL = "kubernetes.io/hostname"
OS_LABEL = "kubernetes.io/os"
ARCH_LABEL = "kubernetes.io/arch"
#: The node label GKE puts on GPU nodes (set from ``accelerator`` with ``distribution: gke``).
GKE_ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"

# --------------------------------------------------------------------------- our labels

#: The prefix of every label and annotation key of this provider.
PREFIX = "airflow-provider-mpi/"

#: Label: the array name of an array job's task.
LABEL_ARRAY_ID = PREFIX + "array-id"
#: Label: the task ID of an array job's task.
LABEL_TASK_ID = PREFIX + "task-id"
#: Label: the template's ``accounting_id`` (DRMAA2 AccountingID), for chargeback selection.
LABEL_ACCOUNTING_ID = PREFIX + "accounting-id"
#: Labels set by the Airflow operators (values sanitised to label syntax).
LABEL_DAG_ID = PREFIX + "dag-id"
LABEL_AIRFLOW_TASK_ID = PREFIX + "airflow-task-id"
LABEL_RUN_ID = PREFIX + "run-id"
LABEL_MAP_INDEX = PREFIX + "map-index"
LABEL_TRY_NUMBER = PREFIX + "try-number"

# --------------------------------------------------------------------------- our annotations

#: The DRMAA2 JobTemplate the job was created from, as Go JSON.
ANNOTATION_JOB_TEMPLATE = PREFIX + "job-template"
#: "true" once job control terminated the job.
ANNOTATION_TERMINATED = PREFIX + "terminated"
#: "true" while the job is suspended by ``hold`` (not ``suspend``).
ANNOTATION_HELD = PREFIX + "held"
#: The unsanitised Airflow run ID.
ANNOTATION_RUN_ID = PREFIX + "run-id"
#: The random token of the submission that created the object.
ANNOTATION_SUBMISSION = PREFIX + "submission"
#: The client's submission time (microseconds, UTC), orders jobs created
#: within the same second (``creationTimestamp`` has whole seconds).
ANNOTATION_SUBMITTED_AT = PREFIX + "submitted-at"
#: On array tasks: the array's ``max_parallel`` (read when releasing).
ANNOTATION_MAX_PARALLEL = PREFIX + "max-parallel"
#: On the owner ConfigMap, marking it as an array's owner object.
ANNOTATION_ARRAY_OWNER = PREFIX + "array-owner"
#: On the MPIJob: the launcher lines already in a task log.
ANNOTATION_LINES_LOGGED = PREFIX + "launcher-lines-logged"
