"""JobTemplate -> MPIJob (``kubeflow.org/v2beta1``): the pure converter.

Takes a DRMAA2 JobTemplate and returns plain JSON-ready dicts with the
camelCase keys the API wants; no Kubernetes client is imported. Every
template field is either mapped or rejected with
:class:`UnsupportedAttributeError` naming it (the README's template table), every
value is validated before anything is built (each error names the field and
the value), and the finished object is checked against the MPI operator's own
rules (:func:`.validation.validate_mpi_job`), because a real operator reports
a broken job only as a Warning event.

Differences from the Go seed (``ConvertJobTemplateToMPIJob``) on purpose: the
launcher keeps its own volumes (the seed gave it the workers' list), an unset
``workerCommand`` leaves the worker entrypoint alone (the seed produced an
empty command), unset extensions take their documented defaults, malformed
extensions fail instead of being skipped, and the job environment reaches the
launcher and every worker.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.drmaa2 import InvalidArgumentError, InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator import names as keys
from airflow_provider_mpi.mpioperator.names import API_VERSION, KIND, KUEUE_QUEUE_LABEL
from airflow_provider_mpi.mpioperator.template import table as t
from airflow_provider_mpi.mpioperator.template.codecs import INT32_MAX
from airflow_provider_mpi.mpioperator.template.limits import annotation_budget_error, collect_errors
from airflow_provider_mpi.mpioperator.template.pods import (
    build_pod_templates,
    check_template_fields,
)
from airflow_provider_mpi.mpioperator.template.settings import TemplateSettings
from airflow_provider_mpi.mpioperator.template.validation import (
    ANNOTATIONS_MAX_BYTES,
    dns1035_label_error,
    dns1123_label_error,
    label_value_error,
    max_worker_hostname,
    qualified_name_error,
    validate_mpi_job,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_GENERATE_NAME",
    "KIND",
    "KUEUE_QUEUE_LABEL",
    "RERUNNABLE_BACKOFF_LIMIT",
    "build_mpi_job",
    "convert_job_template_to_mpi_job",
    "new_mpi_job",
]

#: ``metadata.generateName`` when the template has no ``job_name``.
DEFAULT_GENERATE_NAME = "mpijob-"
#: ``runPolicy.backoffLimit`` for ``re_runnable`` templates (the Kubernetes Job default).
RERUNNABLE_BACKOFF_LIMIT = 6
_GENERATED_SUFFIX = 5  # characters the API server appends to generateName


def _worker_replicas(jt: JobTemplate) -> int:
    if jt.min_slots < 0:
        raise InvalidTemplateError("min_slots", jt.min_slots, "must not be negative")
    if jt.max_slots < 0:
        raise InvalidTemplateError("max_slots", jt.max_slots, "must not be negative")
    if jt.max_slots and jt.max_slots < jt.min_slots:
        raise InvalidTemplateError(
            "max_slots", jt.max_slots, f"must not be below min_slots ({jt.min_slots})"
        )
    replicas = max(jt.min_slots, jt.max_slots)
    if replicas == 0:
        raise InvalidTemplateError(
            "min_slots",
            jt.min_slots,
            "min_slots or max_slots is required: the number of MPI workers",
        )
    if replicas > INT32_MAX:
        raise InvalidTemplateError(
            "max_slots" if jt.max_slots else "min_slots", replicas, "too many workers"
        )
    return replicas


def _check_job_name(jt: JobTemplate, replicas: int) -> None:
    if not jt.job_name:
        return
    if (error := dns1035_label_error(jt.job_name)) is not None:
        raise InvalidTemplateError("job_name", jt.job_name, error)
    hostname = max_worker_hostname(jt.job_name, replicas)
    if len(hostname) > 63:
        raise InvalidTemplateError(
            "job_name",
            jt.job_name,
            f"too long for {replicas} workers: the pod hostname {hostname!r} would exceed 63 "
            f"characters (at most {63 - len(hostname) + len(jt.job_name)} allowed)",
        )


def _active_deadline(jt: JobTemplate, now: datetime | None) -> int | None:
    if jt.deadline_time is None:
        return None
    deadline = jt.deadline_time
    if deadline.tzinfo is None or deadline.utcoffset() is None:
        raise InvalidTemplateError("deadline_time", deadline, "must be timezone-aware")
    current = now if now is not None else datetime.now(timezone.utc)
    seconds = math.ceil((deadline - current).total_seconds())
    if seconds <= 0:
        raise InvalidTemplateError("deadline_time", deadline.isoformat(), "is not in the future")
    return seconds


def convert_job_template_to_mpi_job(
    jt: JobTemplate, *, now: datetime | None = None
) -> dict[str, Any]:
    """Convert a JobTemplate into an MPIJob ``spec`` (the seed's ``ConvertJobTemplateToMPIJob``).

    Args:
        jt: the template; it is not changed.
        now: the current time, for ``deadline_time`` (default: the clock).

    Returns:
        The ``spec`` as a JSON-ready dict with camelCase keys.

    Raises:
        UnsupportedAttributeError: a field or extension this backend cannot honour.
        InvalidTemplateError: a missing or malformed field or extension value.
    """
    return _convert(jt, now)[0]


def _convert(jt: JobTemplate, now: datetime | None) -> tuple[dict[str, Any], TemplateSettings]:
    """:func:`convert_job_template_to_mpi_job`, and the settings it parsed."""
    check_template_fields(jt)
    settings = TemplateSettings.from_template(jt)
    replicas = _worker_replicas(jt)
    _check_job_name(jt, replicas)
    launcher_template, worker_template = build_pod_templates(jt, settings)

    backoff = settings[t.BACKOFF_LIMIT]
    if backoff is None:
        backoff = RERUNNABLE_BACKOFF_LIMIT if jt.re_runnable else 0
    run_policy: dict[str, Any] = {
        "backoffLimit": backoff,
        "cleanPodPolicy": settings[t.CLEAN_POD_POLICY].value,
    }
    ttl = settings[t.TTL_SECONDS_AFTER_FINISHED]
    if ttl is not None:
        run_policy["ttlSecondsAfterFinished"] = ttl
    deadline = _active_deadline(jt, now)
    if deadline is not None:
        run_policy["activeDeadlineSeconds"] = deadline
    if jt.queue_name:
        if (error := label_value_error(jt.queue_name)) is not None:
            raise InvalidTemplateError("queue_name", jt.queue_name, error)
        run_policy["schedulingPolicy"] = {"queue": jt.queue_name}
    if jt.submit_as_hold:
        run_policy["suspend"] = True

    spec: dict[str, Any] = {
        "slotsPerWorker": settings[t.SLOTS_PER_WORKER],
        "runPolicy": run_policy,
        "mpiReplicaSpecs": {
            "Launcher": {"replicas": 1, "restartPolicy": "Never", "template": launcher_template},
            "Worker": {"replicas": replicas, "restartPolicy": "Never", "template": worker_template},
        },
        "sshAuthMountPath": settings[t.SSH_MOUNT_PATH],
        "mpiImplementation": settings[t.MPI_IMPLEMENTATION].value,
    }
    run_launcher_as_worker = settings[t.RUN_LAUNCHER_AS_WORKER]
    if run_launcher_as_worker is not None:
        spec["runLauncherAsWorker"] = run_launcher_as_worker
    creation_policy = settings[t.LAUNCHER_CREATION_POLICY]
    if creation_policy is not None:
        spec["launcherCreationPolicy"] = creation_policy.value
    return spec, settings


def _check_metadata_map(
    field: str, mapping: Mapping[str, str], *, label_values: bool
) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in mapping.items():
        if (error := qualified_name_error(key)) is not None:
            raise InvalidArgumentError(field, key, f"key {error}")
        if not isinstance(value, str):
            raise InvalidArgumentError(field, value, f"the value of {key!r} must be a string")
        if label_values and (error := label_value_error(value)) is not None:
            raise InvalidArgumentError(field, value, f"the value of {key!r} {error}")
        result[key] = value
    return dict(sorted(result.items()))


def new_mpi_job(
    spec: Mapping[str, Any],
    *,
    name: str | None = None,
    generate_name: str | None = None,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Wrap an MPIJob ``spec`` into a whole object (the seed's ``NewMPIJob``).

    Args:
        spec: as returned by :func:`convert_job_template_to_mpi_job` (copied).
        name: ``metadata.name``; when None, ``generate_name`` (default
            ``"mpijob-"``) lets the API server pick a name.
        generate_name: ``metadata.generateName`` when ``name`` is None.
        namespace: ``metadata.namespace`` (omitted when None).
        labels: ``metadata.labels``.
        annotations: ``metadata.annotations``.

    Returns:
        ``{"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": ..., "spec": ...}``.

    Raises:
        InvalidArgumentError: a name, namespace, label or annotation is malformed.
    """
    metadata: dict[str, Any] = {}
    if name is not None:
        if (error := dns1035_label_error(name)) is not None:
            raise InvalidArgumentError("name", name, error)
        metadata["name"] = name
    else:
        prefix = DEFAULT_GENERATE_NAME if generate_name is None else generate_name
        if (error := dns1035_label_error(prefix + "x" * _GENERATED_SUFFIX)) is not None:
            raise InvalidArgumentError("generate_name", prefix, error)
        metadata["generateName"] = prefix
    if namespace is not None:
        if (error := dns1123_label_error(namespace)) is not None:
            raise InvalidArgumentError("namespace", namespace, error)
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = _check_metadata_map("labels", labels, label_values=True)
    if annotations:
        checked = _check_metadata_map("annotations", annotations, label_values=False)
        size = sum(len(k.encode()) + len(v.encode()) for k, v in checked.items())
        if size > ANNOTATIONS_MAX_BYTES:
            raise InvalidArgumentError("annotations", size, "must be at most 256 KiB in total")
        metadata["annotations"] = checked
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": copy.deepcopy(dict(spec)),
    }


def build_mpi_job(
    jt: JobTemplate,
    *,
    namespace: str,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Build the whole, validated MPIJob object the tracker submits for a template.

    Metadata: the name is ``name``, else ``job_name``, else generated from
    ``mpijob-``; the namespace is the ``namespace`` extension when set, else
    the argument (the tracker's namespace); labels are the ``labels``
    extension, the accounting label, the Kueue queue label, then ``labels``
    (later ones win); annotations are the ``annotations`` extension, then
    ``annotations``, then the template itself as Go JSON
    (``airflow-provider-mpi/job-template``) and, for ``submit_as_hold``,
    ``airflow-provider-mpi/held: "true"``.

    Args:
        jt: the template; it is not changed.
        namespace: the namespace to use when the template names none.
        name: overrides ``job_name`` (e.g. an array task's name).
        labels: labels the caller adds (array ID, task ID, Airflow IDs).
        annotations: annotations the caller adds.
        now: the current time, for ``deadline_time``.

    Returns:
        The MPIJob as a JSON-ready dict.

    Raises:
        UnsupportedAttributeError: a field or extension this backend cannot honour.
        InvalidTemplateError: a missing or malformed template field or extension;
            one error lists every field at fault (``errors``), see
            :func:`.limits.collect_errors`.
        InvalidArgumentError: a malformed argument.
    """
    return collect_errors(
        jt,
        lambda current: _build_once(
            current, namespace=namespace, name=name, labels=labels, annotations=annotations, now=now
        ),
    )


def _build_once(
    jt: JobTemplate,
    *,
    namespace: str,
    name: str | None,
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
    now: datetime | None,
) -> dict[str, Any]:
    """:func:`build_mpi_job` raising the first error(s) it meets."""
    spec, settings = _convert(jt, now)

    all_labels = settings[t.LABELS]
    if jt.accounting_id:
        if (error := label_value_error(jt.accounting_id)) is not None:
            raise InvalidTemplateError("accounting_id", jt.accounting_id, error)
        all_labels[keys.LABEL_ACCOUNTING_ID] = jt.accounting_id
    kueue_queue = settings[t.KUEUE_QUEUE]
    if kueue_queue and jt.queue_name and kueue_queue != jt.queue_name:
        raise InvalidTemplateError(
            "extension_list['kueueQueue']",
            kueue_queue,
            f"differs from queue_name {jt.queue_name!r}",
        )
    if kueue_queue or jt.queue_name:
        all_labels[KUEUE_QUEUE_LABEL] = kueue_queue or jt.queue_name
    all_labels.update(labels or {})

    all_annotations = settings[t.ANNOTATIONS]
    all_annotations.update(annotations or {})
    template_json = jt.to_json()
    all_annotations[keys.ANNOTATION_JOB_TEMPLATE] = template_json
    if jt.submit_as_hold:
        all_annotations[keys.ANNOTATION_HELD] = "true"
    if (too_large := annotation_budget_error(jt, template_json, all_annotations)) is not None:
        raise too_large

    # The caller's name last: the template's own errors come first.
    workers = spec["mpiReplicaSpecs"]["Worker"]["replicas"]
    if name is not None:
        hostname = max_worker_hostname(name, workers)
        if (error := dns1035_label_error(hostname)) is not None:
            raise InvalidArgumentError("name", name, f"pod hostname {hostname!r} {error}")
    job_name = name if name is not None else (jt.job_name or None)

    mpijob = new_mpi_job(
        spec,
        name=job_name,
        namespace=settings[t.NAMESPACE] or namespace,
        labels=all_labels,
        annotations=all_annotations,
    )
    violations = validate_mpi_job(mpijob)
    if violations:
        raise InvalidTemplateError.aggregate(
            [
                InvalidTemplateError(
                    "job_name" if v.path == "metadata.name" else v.path, v.value, str(v)
                )
                for v in violations
            ]
        )
    return mpijob
