"""DAGs of the kill tests against a real Airflow (copied into its DAGs folder).

``mpi_kill_probe``: one deferred ``MPIJobOperator`` whose emulated launcher
works ``params.duration`` seconds (300 by default), so a kill, not the job's
end, is what stops it. ``mpi_clear_probe``: the same with
``cancel_on_kill=False``, so clearing the deferred task leaves the job
running and the new try reattaches to it.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from airflow_provider_mpi.operators.mpi_job import MPIJobOperator

#: Prefix of the emulator's pod script annotations (docs/internals.md).
SCRIPT = "emulator.airflow-provider-mpi/"

TEMPLATE = {
    "remoteCommand": "mpirun",
    "args": ["-n", "2", "/opt/app"],
    "jobCategory": "example/app:1",
    "minSlots": 2,
    "extension": {
        "extensionList": {"annotations": '{"' + SCRIPT + 'duration": "{{ params.duration }}"}'}
    },
}

for dag_id, cancel_on_kill in (("mpi_kill_probe", True), ("mpi_clear_probe", False)):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        max_active_runs=4,
        params={"duration": Param(300, type="integer", minimum=1)},
        tags=["test"],
    ):
        MPIJobOperator(
            task_id="run",
            job_template=TEMPLATE,
            deferrable=True,
            cancel_on_kill=cancel_on_kill,
            wait_timeout=1800,
            retries=0,
        )
