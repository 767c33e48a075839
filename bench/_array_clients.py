"""The submissions ``bench_array_real`` compares; clients that hand MPIJobs to another manager.

``sequential`` (``add_job`` one after the other), ``sync_array`` and
``async_array`` (one ``add_array_job``), each with an API client as a
user's kubeconfig makes it. With ``managed_by`` set, the client is a
subclass of the library's ``ApiClient`` that adds
``spec.runPolicy.managedBy`` to the body of every MPIJob create and
changes nothing else: the tracker has no extension for that field (its
validation accepts it on a whole MPIJob, but a template cannot set it), so
this is the one public way to run the very same tracker code, request for
request, with jobs the mpi-operator leaves alone. mpi-operator v0.8.2
returns from its sync at once for a job whose ``managedBy`` is not
``kubeflow.org/mpi-operator`` (``managedByExternalController`` in
``pkg/controller/mpi_job_controller.go``), and its CRD allows
``kueue.x-k8s.io/multikueue``, which is what MultiKueue sets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from _harness import scripted_template

__all__ = ["MULTIKUEUE", "SUBMISSIONS", "async_array", "sequential", "sync_array", "with_manager"]

NAMESPACE = "default"
#: The other controller the unmanaged variant names.
MULTIKUEUE = "kueue.x-k8s.io/multikueue"


def with_manager(path: str, method: str, body: Any, managed_by: str | None) -> Any:
    """The body of a request, with ``runPolicy.managedBy`` set when it creates an MPIJob."""
    if managed_by is None or method != "POST" or not path.endswith("/mpijobs"):
        return body
    if not isinstance(body, Mapping):
        return body
    spec = dict(body["spec"])
    spec["runPolicy"] = {**spec.get("runPolicy", {}), "managedBy": managed_by}
    return {**body, "spec": spec}


def _managing(api_client: type[Any], managed_by: str | None) -> type[Any]:
    """A subclass of a library's ``ApiClient`` whose MPIJob creates carry ``managed_by``.

    It serves both libraries: the async ``call_api`` returns the coroutine the
    caller awaits, unchanged.
    """

    class Client(api_client):  # type: ignore[misc,valid-type]
        def call_api(self, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["body"] = with_manager(resource_path, method, kwargs.get("body"), managed_by)
            return super().call_api(resource_path, method, *args, **kwargs)

    return Client


def _sync_client(kubeconfig: str, pool: int | None, managed_by: str | None) -> Any:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    if pool:
        configuration.connection_pool_maxsize = pool
    return _managing(client.ApiClient, managed_by)(configuration)


def _template(name: str, *, held: bool) -> Any:
    jt = scripted_template(3600.0, name=name)
    return jt.replace(submit_as_hold=True) if held else jt


def sequential(
    kubeconfig: str, jobs: int, prefix: str, pool: int | None, managed_by: str | None
) -> float:
    """The baseline: ``jobs`` single ``add_job`` calls, one after the other.

    Each job is created held, as the array's tasks beyond ``max_parallel`` 1
    are, so that both sides create the same objects and cause the operator
    the same work.
    """
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    api_client = _sync_client(kubeconfig, pool, managed_by)
    tracker = MPIOperatorTracker(api_client=api_client, namespace=NAMESPACE)
    templates = [_template(f"{prefix}-seq-{i}", held=True) for i in range(1, jobs + 1)]
    started = time.perf_counter()
    for jt in templates:
        tracker.add_job(jt)
    seconds = time.perf_counter() - started
    api_client.close()
    return seconds


def sync_array(
    kubeconfig: str, tasks: int, prefix: str, pool: int | None, managed_by: str | None
) -> float:
    """One array with the sync tracker (``max_parallel`` 1: all tasks but one held)."""
    from airflow_provider_mpi.mpioperator import MPIOperatorTracker

    api_client = _sync_client(kubeconfig, pool, managed_by)
    tracker = MPIOperatorTracker(api_client=api_client, namespace=NAMESPACE)
    jt = _template(f"{prefix}-sync", held=False)
    started = time.perf_counter()
    tracker.add_array_job(jt, 1, tasks, 1, 1)
    seconds = time.perf_counter() - started
    api_client.close()
    return seconds


def async_array(
    kubeconfig: str, tasks: int, prefix: str, pool: int | None, managed_by: str | None
) -> float:
    """One array with the async tracker (the trigger's and deferrable operator's path)."""

    async def submit() -> float:
        from kubernetes_asyncio import client, config

        from airflow_provider_mpi.mpioperator import AsyncMPIOperatorTracker

        configuration = client.Configuration()
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        if pool:
            configuration.connection_pool_maxsize = pool
        api_client = _managing(client.ApiClient, managed_by)(configuration)
        try:
            tracker = AsyncMPIOperatorTracker(api_client, namespace=NAMESPACE)
            jt = _template(f"{prefix}-async", held=False)
            began = time.perf_counter()
            await tracker.add_array_job(jt, 1, tasks, 1, 1)
            return time.perf_counter() - began
        finally:
            await api_client.close()

    return asyncio.run(submit())


#: How each submission is labelled, and the function that runs it.
SUBMISSIONS: tuple[tuple[str, Callable[[str, int, str, int | None, str | None], float]], ...] = (
    ("sequential add_job", sequential),
    ("sync add_array_job", sync_array),
    ("async add_array_job", async_array),
)
