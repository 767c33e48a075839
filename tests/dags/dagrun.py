"""Running a DAG object with ``dag.test()`` and reading what it left behind."""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG

__all__ = ["run", "task_states", "xcom"]


def _serialize(dag: DAG) -> None:
    """Write the DAG to the database: ``dag.test()`` only runs serialized DAGs."""
    from tests.airflow_env import AIRFLOW_HOME

    try:  # Airflow 3.2+
        from airflow.dag_processing import dagbag
    except ImportError:  # Airflow 3.0 and 3.1 keep the DagBag in models
        from airflow.models import dagbag  # type: ignore[no-redef,unused-ignore]

    bag = dagbag.DagBag(dag_folder=str(AIRFLOW_HOME / "dags"), collect_dags=False)
    bag.bag_dag(dag)
    if hasattr(dagbag, "sync_bag_to_db"):
        dagbag.sync_bag_to_db(bag, "dags-folder", None)
    else:  # Airflow 3.0: a method of the bag, which needs what parsing a file would set
        if dag.relative_fileloc is None:
            dag.relative_fileloc = dag.fileloc
        bag.sync_to_db("dags-folder", None)


def run(dag: DAG, **kwargs: Any) -> Any:
    """Run one DAG run in this process, triggers inline; returns the DagRun."""
    _serialize(dag)
    return dag.test(**kwargs)


def task_states(dagrun: Any) -> dict[str, str]:
    """Task ID (with ``[map index]`` for mapped tasks) to its final state."""
    states = {}
    for ti in dagrun.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
    return states


def xcom(dagrun: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """An XCom value left by a task of the run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(
                dag_id=dagrun.dag_id,
                run_id=dagrun.run_id,
                task_id=task_id,
                key=key,
                map_index=map_index,
            )
            .one_or_none()
        )
        if row is None:
            return None
        return XComModel.deserialize_value(row)
