"""Compute pi with a two-rank MPI program (mpi4py), deferred while it runs.

The job template runs ``mpirun -n 2 python3 -c <program>`` in an image with
Open MPI and mpi4py (the ``image`` param; see docs/airflow.md for a Dockerfile).
On the emulated cluster of ``make demo`` the launcher's command runs as a real
local ``mpirun``; on a real cluster the MPI operator starts the launcher and
two workers. Rank 0 prints ``pi is approximately ...``, which ends up in the
task log, and the task returns the JobInfo.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_provider_mpi.operators.mpi_job import MPIJobOperator

#: The MPI program: midpoint rule for the integral of 4/(1+x^2) on [0, 1],
#: intervals split round-robin over the ranks and summed on rank 0.
PI_PROGRAM = """
import sys
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
n = int(sys.argv[1])
h = 1.0 / n
part = h * sum(4.0 / (1.0 + ((i + 0.5) * h) ** 2) for i in range(rank, n, size))
pi = comm.reduce(part, op=MPI.SUM, root=0)
if rank == 0:
    print(f"pi is approximately {pi:.12f} (ranks={size}, intervals={n})", flush=True)
"""

#: An image with Open MPI and mpi4py. Not published: build it from the
#: Dockerfile in docs/airflow.md, or pass your own as the "image" param.
DEFAULT_IMAGE = "mpi4py-pi:openmpi"

with DAG(
    dag_id="example_mpi_pi",
    schedule=None,
    catchup=False,
    tags=["example", "mpi"],
    params={
        "image": Param(DEFAULT_IMAGE, type="string", description="Image with Open MPI and mpi4py"),
        "intervals": Param(1_000_000, type="integer", minimum=1),
    },
    doc_md=__doc__,
) as dag:
    compute_pi = MPIJobOperator(
        task_id="compute_pi",
        job_template={
            "remoteCommand": "mpirun",
            "args": ["-n", "2", "python3", "-c", PI_PROGRAM, "{{ params.intervals }}"],
            "jobCategory": "{{ params.image }}",
            "minSlots": 2,
            # The seed's default is Intel MPI; the image runs Open MPI.
            "extension": {"extensionList": {"mpiImplementation": "OpenMPI"}},
        },
        deferrable=True,
        wait_timeout=1800,
    )
