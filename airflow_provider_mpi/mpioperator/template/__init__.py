"""JobTemplate -> MPIJob, pure: the extension table, its typed settings, the converter.

Everything a template needs before it becomes a request, and nothing that
sends one: the extension table (:mod:`.table`) with the Go-named get/set
functions made from it (:mod:`.accessors`), the settings parsed from a
template once (:mod:`.settings`), the converter and pod builders
(:mod:`.convert`, :mod:`.pods`, :mod:`.volumes`), Kubernetes' name rules and
the MPI operator's validation (:mod:`.validation`), the size limits and the
all-errors-at-once collection (:mod:`.limits`), and resource quantities
(:mod:`.quantity`). No Kubernetes or HTTP client is imported (an
import-linter contract checks it), so a DAG file may import this package.
"""

from __future__ import annotations

from airflow_provider_mpi.mpioperator.template import accessors, values
from airflow_provider_mpi.mpioperator.template.accessors import *  # noqa: F403 - the table's names
from airflow_provider_mpi.mpioperator.template.convert import (
    DEFAULT_GENERATE_NAME,
    RERUNNABLE_BACKOFF_LIMIT,
    build_mpi_job,
    convert_job_template_to_mpi_job,
    new_mpi_job,
)
from airflow_provider_mpi.mpioperator.template.extension import (
    Extension,
    ResourceFamily,
)
from airflow_provider_mpi.mpioperator.template.quantity import (
    QuantityError,
    parse_quantity,
)
from airflow_provider_mpi.mpioperator.template.settings import (
    TemplateSettings,
)
from airflow_provider_mpi.mpioperator.template.table import (
    EXTENSION_ALIASES,
    EXTENSIONS,
    KNOWN_EXTENSIONS,
    RESOURCE_FAMILIES,
    RESOURCE_PREFIXES,
    check_extension_keys,
)
from airflow_provider_mpi.mpioperator.template.validation import (
    FieldViolation,
    validate_mpi_job,
)
from airflow_provider_mpi.mpioperator.template.values import *  # noqa: F403 - its enums
from airflow_provider_mpi.mpioperator.template.volumes import (
    VolumeMountSpec,
    VolumeType,
    get_volume_mounts,
    set_volume_mounts,
)

__all__ = [
    "DEFAULT_GENERATE_NAME",
    "EXTENSIONS",
    "EXTENSION_ALIASES",
    "KNOWN_EXTENSIONS",
    "RERUNNABLE_BACKOFF_LIMIT",
    "RESOURCE_FAMILIES",
    "RESOURCE_PREFIXES",
    "Extension",
    "FieldViolation",
    "QuantityError",
    "ResourceFamily",
    "TemplateSettings",
    "VolumeMountSpec",
    "VolumeType",
    "build_mpi_job",
    "check_extension_keys",
    "convert_job_template_to_mpi_job",
    "get_volume_mounts",
    "new_mpi_job",
    "parse_quantity",
    "set_volume_mounts",
    "validate_mpi_job",
]
__all__ += accessors.__all__
__all__ += values.__all__
