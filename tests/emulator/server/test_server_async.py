"""Every endpoint kind through ``kubernetes_asyncio``, as the deferrable trigger uses it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kubernetes_asyncio import client, watch

from airflow_provider_mpi.testing.faults import FaultInjector
from airflow_provider_mpi.testing.store import Store

GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"
CONTAINERS = {"containers": [{"name": "c", "image": "i"}]}

# api class, create, read, list, delete, namespaced, body
KINDS: list[tuple[str, str, str, str, str, bool, dict[str, Any]]] = [
    (
        "CoreV1Api",
        "create_namespaced_pod",
        "read_namespaced_pod",
        "list_namespaced_pod",
        "delete_namespaced_pod",
        True,
        {"metadata": {"name": "x"}, "spec": CONTAINERS},
    ),
    (
        "CoreV1Api",
        "create_namespaced_service",
        "read_namespaced_service",
        "list_namespaced_service",
        "delete_namespaced_service",
        True,
        {"metadata": {"name": "x"}, "spec": {"clusterIP": "None"}},
    ),
    (
        "CoreV1Api",
        "create_namespaced_config_map",
        "read_namespaced_config_map",
        "list_namespaced_config_map",
        "delete_namespaced_config_map",
        True,
        {"metadata": {"name": "x"}, "data": {"a": "b"}},
    ),
    (
        "CoreV1Api",
        "create_namespaced_secret",
        "read_namespaced_secret",
        "list_namespaced_secret",
        "delete_namespaced_secret",
        True,
        {"metadata": {"name": "x"}, "stringData": {"a": "b"}},
    ),
    (
        "CoreV1Api",
        "create_namespaced_event",
        "read_namespaced_event",
        "list_namespaced_event",
        "delete_namespaced_event",
        True,
        {"metadata": {"name": "x"}, "involvedObject": {"name": "pi"}, "reason": "Created"},
    ),
    (
        "BatchV1Api",
        "create_namespaced_job",
        "read_namespaced_job",
        "list_namespaced_job",
        "delete_namespaced_job",
        True,
        {
            "metadata": {"name": "x"},
            "spec": {"template": {"spec": {**CONTAINERS, "restartPolicy": "Never"}}},
        },
    ),
    (
        "CoreV1Api",
        "create_namespace",
        "read_namespace",
        "list_namespace",
        "delete_namespace",
        False,
        {"metadata": {"name": "x"}},
    ),
    (
        "ApiextensionsV1Api",
        "create_custom_resource_definition",
        "read_custom_resource_definition",
        "list_custom_resource_definition",
        "delete_custom_resource_definition",
        False,
        {
            "metadata": {"name": "xs.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "xs", "kind": "X"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        },
    ),
]


@pytest.mark.parametrize(
    ("api", "create", "read", "list_", "delete", "namespaced", "body"),
    KINDS,
    ids=[k[1].removeprefix("create_") for k in KINDS],
)
async def test_crud_every_kind(
    k8s_async: Any,
    api: str,
    create: str,
    read: str,
    list_: str,
    delete: str,
    namespaced: bool,
    body: dict[str, Any],
) -> None:
    instance = getattr(client, api)(k8s_async)
    args = ("default",) if namespaced else ()
    name = body["metadata"]["name"]
    created = await getattr(instance, create)(*args, body)
    assert created.metadata.uid
    read_back = await getattr(instance, read)(name, *args)
    assert read_back.metadata.resource_version == created.metadata.resource_version
    if create == "create_namespaced_secret":
        assert read_back.data == {"a": "Yg=="}  # stringData folded into data
        assert read_back.string_data is None
    listed = await getattr(instance, list_)(*args)
    assert name in [i.metadata.name for i in listed.items]
    await getattr(instance, delete)(name, *args)
    with pytest.raises(client.ApiException) as info:
        await getattr(instance, read)(name, *args)
    assert info.value.status == 404


async def test_status_subresource_and_conflict(k8s_async: Any) -> None:
    custom = client.CustomObjectsApi(k8s_async)
    job = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": "pi"},
        "spec": {"mpiReplicaSpecs": {}},
    }
    created = await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job)
    created["status"] = {"conditions": [{"type": "Created", "status": "True"}]}
    updated = await custom.replace_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "pi", created
    )
    assert updated["status"]["conditions"][0]["type"] == "Created"
    with pytest.raises(client.ApiException) as info:
        await custom.replace_namespaced_custom_object_status(
            GROUP, VERSION, "default", PLURAL, "pi", created
        )
    assert info.value.status == 409
    assert json.loads(info.value.body)["reason"] == "Conflict"


async def test_watch_with_selector_and_410(k8s_async: Any, emu_store: Store) -> None:
    core = client.CoreV1Api(k8s_async)
    start = emu_store.resource_version

    async def produce() -> None:
        await asyncio.sleep(0.2)
        for name, app in (("a", "other"), ("b", "mine")):
            emu_store.create(
                "pods", {"metadata": {"name": name, "labels": {"app": app}}}, namespace="default"
            )

    producer = asyncio.create_task(produce())
    stream = watch.Watch()
    names = []
    async for event in stream.stream(
        core.list_namespaced_pod,
        "default",
        label_selector="app=mine",
        resource_version=str(start),
        timeout_seconds=5,
    ):
        names.append((event["type"], event["object"].metadata.name))
        break
    stream.stop()
    await producer
    assert names == [("ADDED", "b")]

    emu_store.compact()
    with pytest.raises(client.ApiException) as info:
        async for _ in watch.Watch().stream(
            core.list_namespaced_pod, "default", resource_version=str(start), timeout_seconds=2
        ):
            pass
    assert info.value.status == 410


async def test_follow_log_stream(k8s_async: Any, emu_store: Store) -> None:
    core = client.CoreV1Api(k8s_async)
    emu_store.create("pods", {"metadata": {"name": "p"}, "spec": CONTAINERS}, namespace="default")
    emu_store.logs.append("default", "p", "c", "one")

    async def finish() -> None:
        await asyncio.sleep(0.2)
        emu_store.logs.append("default", "p", "c", "two")
        emu_store.logs.close("default", "p", "c")

    finisher = asyncio.create_task(finish())
    response = await core.read_namespaced_pod_log(
        "p", "default", follow=True, timestamps=True, _preload_content=False
    )
    lines = []
    while line := await response.content.readline():
        lines.append(line.decode().rstrip("\n").split(" ", 1)[1])
    response.release()
    await finisher
    assert lines == ["one", "two"]


async def test_async_client_sees_faults(k8s_async: Any, emu_faults: FaultInjector) -> None:
    core = client.CoreV1Api(k8s_async)
    emu_faults.throttle(retry_after=3, times=1)
    with pytest.raises(client.ApiException) as info:
        await core.list_namespaced_pod("default")
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "3"
    assert (await core.list_namespaced_pod("default")).items == []
