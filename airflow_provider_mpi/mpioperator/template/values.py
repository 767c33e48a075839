"""The typed values extensions hold: enums for the fixed vocabularies, and the accelerator request.

Each enum is a ``str`` enum whose values are the canonical spellings written
into the template and the MPIJob, so ``str(member)`` is what Kubernetes sees.
"""

from __future__ import annotations

import dataclasses

from airflow_provider_mpi.drmaa2.strenum import StrEnum

__all__ = [
    "GPU_RESOURCE",
    "Accelerator",
    "CleanPodPolicy",
    "Distribution",
    "ImagePullPolicy",
    "LauncherCreationPolicy",
    "MPIImplementation",
]

#: The extended resource an ``accelerator`` extension requests on each worker.
GPU_RESOURCE = "nvidia.com/gpu"


class MPIImplementation(StrEnum):
    """The MPI implementations the operator knows (``spec.mpiImplementation``)."""

    OPEN_MPI = "OpenMPI"
    INTEL = "Intel"
    MPICH = "MPICH"


class ImagePullPolicy(StrEnum):
    """``imagePullPolicy`` of the launcher and worker containers."""

    ALWAYS = "Always"
    NEVER = "Never"
    IF_NOT_PRESENT = "IfNotPresent"


class CleanPodPolicy(StrEnum):
    """Which pods the operator deletes when the job ends (``runPolicy.cleanPodPolicy``)."""

    RUNNING = "Running"
    ALL = "All"
    NONE = "None"


class LauncherCreationPolicy(StrEnum):
    """When the operator creates the launcher (``spec.launcherCreationPolicy``)."""

    AT_STARTUP = "AtStartup"
    WAIT_FOR_WORKERS_READY = "WaitForWorkersReady"


class Distribution(StrEnum):
    """The Kubernetes distribution, which decides how accelerators are requested."""

    AKS = "aks"
    EKS = "eks"
    GKE = "gke"


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """An ``accelerator`` extension: ``count`` GPUs of ``gpu_type`` per worker.

    Written ``"<count>*<type>"``, e.g. ``"2*nvidia-tesla-t4"``, as in DRMAA2OS.
    """

    count: int
    gpu_type: str

    def __str__(self) -> str:
        return f"{self.count}*{self.gpu_type}"
