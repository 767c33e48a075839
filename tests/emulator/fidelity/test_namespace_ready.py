"""A test's real namespace can run pods when it is handed over, even when the controllers lag.

CI once saw the real backend of ``clean-running`` record an extra
``MPIJob:MPIJobFailed`` event: the operator's first worker create was refused
(``error looking up service account <ns>/default``) because the namespace was
fresh and the controller-manager, slowed by the load, had not yet created its
``default`` ServiceAccount. The ServiceAccount admission waits only about a
second for it. The operator retried and the job succeeded, but its Warning
stayed. Here the controller-manager is stopped (SIGSTOP) while the namespace
is made, which makes that race certain instead of rare.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import kubernetes.client
import pytest

from airflow_provider_mpi.testing.real.namespaces import RealNamespace
from tests.emulator.fidelity.corpus import SCENARIOS, run_scenario

#: How long the controller-manager stays stopped: longer than the ServiceAccount
#: admission's wait for a ``default`` ServiceAccount (10 tries, 0.1-0.2 s apart).
_STALL_SECONDS = 5.0


@pytest.fixture
def real_cluster(request: pytest.FixtureRequest) -> Any:
    if request.config.getoption("mpi_cluster_backend") == "emulated":
        pytest.skip("needs the real control plane: run with --cluster=real or both")
    return request.getfixturevalue("mpi_real_cluster")


def test_a_namespace_is_handed_over_once_pods_can_be_created_in_it(real_cluster: Any) -> None:
    controller_manager = real_cluster.pids["kube-controller-manager"]
    os.kill(controller_manager, signal.SIGSTOP)
    resume = threading.Timer(_STALL_SECONDS, os.kill, (controller_manager, signal.SIGCONT))
    resume.start()
    view: RealNamespace | None = None
    try:
        view = RealNamespace(real_cluster, "stalled-controllers")
        core = kubernetes.client.CoreV1Api(view.admin_api_client())
        accounts = core.list_namespaced_service_account(view.namespace).items
        assert "default" in [a.metadata.name for a in accounts]
        scenario = next(s for s in SCENARIOS if s.name == "clean-running")
        observed = run_scenario(view, view.namespace, scenario)
    finally:
        resume.cancel()
        os.kill(controller_manager, signal.SIGCONT)
        if view is not None:
            view.close()
    assert "MPIJob:MPIJobFailed" not in observed["events"]
    assert "Job:FailedCreate" not in observed["events"]
    # Whether Running=True was recorded depends on when the operator synced during the
    # 1 s launcher (after the stall the controllers catch up); the end does not.
    assert observed["conditions"][-1] == ("Succeeded", "True", "MPIJobSucceeded")


def test_a_namespace_without_its_default_account_fails_clearly_and_is_deleted(
    real_cluster: Any,
) -> None:
    controller_manager = real_cluster.pids["kube-controller-manager"]
    os.kill(controller_manager, signal.SIGSTOP)
    try:
        with pytest.raises(TimeoutError, match=r"'default' ServiceAccount within 1\.0 s"):
            RealNamespace(real_cluster, "never-an-account", account_timeout=1.0)
    finally:
        os.kill(controller_manager, signal.SIGCONT)
    core = kubernetes.client.CoreV1Api(real_cluster.api_client(admin=True))
    left = [
        n
        for n in core.list_namespace().items
        if n.metadata.name.endswith("-never-an-account") and n.metadata.deletion_timestamp is None
    ]
    assert left == []
