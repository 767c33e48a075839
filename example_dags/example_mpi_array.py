"""A parameter sweep as a DRMAA2 array job, fanned out with dynamic task mapping.

``MPIJobArrayOperator`` submits one MPIJob per task ID (1..6 here) and returns
their job IDs; ``MPIJobSensor.partial(...).expand(job_id=...)`` then creates one
deferred sensor per job, and a last task summarises the JobInfos the sensors
returned. ``$DRMAA2_INDEX$`` in the template is replaced by each task's ID and
``TASK_ID`` is set in its environment.

``max_parallel=2``: at most two tasks run at once. The other four are created
held, and the sensors release them as earlier tasks end (any wait on a task of
the array does, in the worker or the triggerer). Held tasks need a waiter: an
array with ``max_parallel`` and no sensor or ``wait_for_completion`` keeps
them held, and its task log says so.
"""

from __future__ import annotations

import json
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_mpi.operators.mpi_job import MPIJobArrayOperator
from airflow_provider_mpi.sensors.mpi_job import MPIJobSensor

SWEEP_PROGRAM = """
import sys
import time
from mpi4py import MPI

comm = MPI.COMM_WORLD
scale = int(sys.argv[1])
total = comm.reduce(comm.Get_rank() * scale, op=MPI.SUM, root=0)
time.sleep(20)  # long enough for the sensors to defer and wait
if comm.Get_rank() == 0:
    print(f"task {scale}: sum of scaled ranks = {total}", flush=True)
"""

with DAG(
    dag_id="example_mpi_array",
    schedule=None,
    catchup=False,
    tags=["example", "mpi"],
    params={"image": Param("mpi4py-pi:openmpi", type="string")},
    doc_md=__doc__,
) as dag:
    sweep = MPIJobArrayOperator(
        task_id="sweep",
        job_template={
            "remoteCommand": "mpirun",
            "args": ["-n", "2", "python3", "-c", SWEEP_PROGRAM, "$DRMAA2_INDEX$"],
            "jobCategory": "{{ params.image }}",
            "minSlots": 2,
            # The seed's default is Intel MPI; the image runs Open MPI.
            "extension": {
                "extensionList": {
                    "mpiImplementation": "OpenMPI",
                    # On the emulated cluster without local execution: the
                    # launcher works 20 s and prints its line (ignored elsewhere).
                    "annotations": json.dumps(
                        {
                            "emulator.airflow-provider-mpi/duration": "20",
                            "emulator.airflow-provider-mpi/log": "task $DRMAA2_INDEX$ done",
                        }
                    ),
                }
            },
        },
        begin=1,
        end=6,
        max_parallel=2,
    )

    wait_each = MPIJobSensor.partial(
        task_id="wait_each", deferrable=True, poke_interval=5, timeout=1800, log_tail_lines=20
    ).expand(job_id=sweep.output)

    # One XCom: job IDs ("namespace/name") are no XCom keys (Airflow 3.0 refuses the "/").
    @task(multiple_outputs=False)
    def summarise(infos: list[dict[str, Any]]) -> dict[str, int]:
        """Map each job to its launcher's exit status."""
        return {info["id"]: info.get("exitStatus", -1) for info in infos}

    summarise(wait_each.output)
