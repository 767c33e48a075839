"""``make demo``: compute pi with a real two-rank ``mpirun`` through Airflow and the MPI operator.

What happens:

1. A temporary ``AIRFLOW_HOME`` with a SQLite database is set up (before
   Airflow is imported), so nothing touches ``~/airflow``.
2. An emulated Kubernetes cluster with the MPI operator starts on 127.0.0.1
   with local execution: the launcher's command runs as a real local process
   (``mpirun`` and mpi4py from the Open MPI and mpi4py wheels). With
   ``--cluster real`` (``make demo CLUSTER=real``) it is the real control
   plane instead: kube-apiserver v1.35.4 and the real mpi-operator v0.8.2,
   built from Go modules on first use, with the node agent running the pods;
   the connection then holds a namespaced ServiceAccount's token.
3. The ``kubernetes_default`` connection points at it, as a DAG author would
   configure a real cluster.
4. ``example_dags/example_mpi_pi.py`` runs unchanged with ``dag.test()``: the
   operator submits the MPIJob and defers; the trigger waits on the watch.
5. The task state, the JobInfo and the value of pi computed by the MPI
   program (read from the launcher's log) are printed.

Exits 0 when the task succeeded and pi is right to 1e-6, else 1.
Run ``python tools/demo.py --verbose`` to see Airflow's own log lines.
"""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_dags" / "example_mpi_pi.py"
PI_LINE = re.compile(r"pi is approximately (?P<pi>[0-9.]+)")


def _private_airflow_home(verbose: bool) -> Path:
    home = Path(tempfile.mkdtemp(prefix="airflow-mpi-demo-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    (home / "dags").mkdir()
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO" if verbose else "WARNING",
            # Trigger kwargs and connections are stored encrypted, as in production.
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        }
    )
    # A dependency of Airflow's in-process API server, not ours.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    return home


def _load_dag() -> Any:
    spec = importlib.util.spec_from_file_location("example_mpi_pi", EXAMPLE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {EXAMPLE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def _run(dag: Any, home: Path) -> Any:
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.utils import db

    db.initdb()
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(home / "dags"), collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test()


def _xcom(dagrun: Any, task_id: str, key: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dagrun.dag_id, run_id=dagrun.run_id, task_id=task_id, key=key)
            .one_or_none()
        )
        return None if row is None else XComModel.deserialize_value(row)


def main() -> int:
    """Run the demo; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="show Airflow's log lines")
    parser.add_argument(
        "--cluster",
        choices=("emulated", "real"),
        default="emulated",
        help="the emulator (default) or the real control plane with the real MPI operator",
    )
    args = parser.parse_args()
    home = _private_airflow_home(args.verbose)

    from airflow_provider_mpi.testing import MPICluster
    from airflow_provider_mpi.testing.controller.localexec import mpirun_directory

    if mpirun_directory() is None:
        print("mpirun not found: install the dev extras (pip install -e '.[dev]')", file=sys.stderr)
        return 1

    if args.cluster == "real":
        from airflow_provider_mpi.testing.real import RealCluster, RealClusterError

        print("Starting the real control plane (builds what is missing first) ...", flush=True)
        real = RealCluster(local_exec=True, progress=lambda line: print(line, flush=True))
        try:
            real.start()
        except RealClusterError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        cluster_context: Any = real
        what = "Real Kubernetes v1.35.4 with mpi-operator v0.8.2"
    else:
        cluster_context = MPICluster(local_exec=True)
        what = "Emulated cluster with the MPI operator"
    with cluster_context as cluster:
        os.environ["AIRFLOW_CONN_KUBERNETES_DEFAULT"] = json.dumps(
            {
                "conn_type": "kubernetes",
                "extra": {"kube_config_path": cluster.kubeconfig_path, "namespace": "default"},
            }
        )
        print(f"{what} at {cluster.url} (local execution)")
        print(f"Running {EXAMPLE.relative_to(ROOT)} with dag.test() ...", flush=True)
        started = time.monotonic()
        dagrun = _run(_load_dag(), home)
        elapsed = time.monotonic() - started

        from airflow_provider_mpi.drmaa2 import JobInfo
        from airflow_provider_mpi.hooks.mpi_operator import MPIOperatorHook

        states = {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}
        job_id = _xcom(dagrun, "compute_pi", "job_id")
        info_dict = _xcom(dagrun, "compute_pi", "return_value")
        from airflow_provider_mpi.links import MPIJobLink

        link = _xcom(dagrun, "compute_pi", MPIJobLink().xcom_key)
        lines = list(MPIOperatorHook().get_tracker().job_output(job_id)) if job_id else []

    print()
    print(f"DAG run:          {dagrun.state} in {elapsed:.1f} s")
    print(f"Task compute_pi:  {states.get('compute_pi')}")
    print(f"MPIJob:           {job_id}")
    print(f"MPI Job link:     {link} (the job's page in the Airflow UI)")
    if info_dict:
        readable = info_dict.get("readable") or JobInfo.from_dict(info_dict).readable()
        print(
            f"JobInfo:          {readable['state']} ({readable['subState']}), "
            f"exit status {readable['exitStatus']}, {readable['slots']} slots, "
            f"wallclock {readable['wallclockTime']}"
        )
        print("XCom return_value (Go drmaa2interface keys and numbers, then 'readable'):")
        print(json.dumps(info_dict, indent=2, default=str))
    print("Launcher log:")
    for line in lines:
        print(f"  | {line}")
    match = next((m for m in map(PI_LINE.search, lines) if m), None)
    if match is None:
        print("FAILED: no 'pi is approximately' line in the launcher log", file=sys.stderr)
        return 1
    pi = float(match["pi"])
    error = abs(pi - math.pi)
    print(f"Computed pi:      {pi:.12f} (error {error:.1e})")
    ok = states.get("compute_pi") == "success" and error < 1e-6
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
