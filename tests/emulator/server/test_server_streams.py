"""Watches and pod logs of the emulated API server, through the sync and async clients."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch

from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store

GROUP, VERSION, PLURAL = "kubeflow.org", "v2beta1", "mpijobs"


def cm(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels}}


def pod(name: str, *containers: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": c, "image": "i"} for c in containers or ("main",)]},
    }


def later(delay: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# ------------------------------------------------------------------ watch (sync client)


def test_watch_without_version_sends_current_objects_then_changes(
    k8s: client.ApiClient, emu_store: Store
) -> None:
    core = client.CoreV1Api(k8s)
    core.create_namespaced_config_map("default", cm("before"))
    thread = later(0.2, lambda: emu_store.create("configmaps", cm("after"), namespace="default"))
    seen = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, "default", timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            stream.stop()
    thread.join()
    assert seen == [("ADDED", "before"), ("ADDED", "after")]


def test_watch_from_resource_version_replays_history(k8s: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(k8s)
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    start = listed["metadata"]["resourceVersion"]
    job = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": "pi"},
        "spec": {"mpiReplicaSpecs": {}},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job)
    custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "pi",
        {"status": {"conditions": [{"type": "Created", "status": "True"}]}},
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi")
    events = []
    stream = watch.Watch()
    for event in stream.stream(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        "default",
        PLURAL,
        resource_version=start,
        timeout_seconds=2,
    ):
        events.append(event["type"])
        if len(events) == 3:
            stream.stop()
    assert events == ["ADDED", "MODIFIED", "DELETED"]


def _raw_watch(server: EmulatorServer, token: str, query: str) -> list[dict[str, Any]]:
    import urllib.request

    request = urllib.request.Request(f"{server.url}/api/v1/namespaces/default/configmaps?{query}")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return [json.loads(line) for line in response.read().splitlines() if line]


def test_watch_from_expired_version_sends_410_error_event(
    emu_server: EmulatorServer, emu_token: str, emu_store: Store
) -> None:
    emu_store.create("configmaps", cm("a"), namespace="default")
    emu_store.compact()
    events = _raw_watch(emu_server, emu_token, "watch=true&resourceVersion=1&timeoutSeconds=2")
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status"
    assert status["code"] == 410
    assert status["reason"] == "Expired"


def test_watch_sends_bookmarks_and_honours_timeout(
    emu_server: EmulatorServer, emu_token: str, emu_store: Store
) -> None:
    rv = emu_store.resource_version
    started = time.monotonic()
    events = _raw_watch(
        emu_server,
        emu_token,
        f"watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    assert time.monotonic() - started < 5
    assert events
    assert {e["type"] for e in events} == {"BOOKMARK"}
    assert events[0]["object"]["kind"] == "ConfigMap"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= rv


def test_label_selector_watch_sees_transitions(
    emu_server: EmulatorServer, emu_token: str, emu_store: Store
) -> None:
    rv = emu_store.resource_version
    created = emu_store.create("configmaps", cm("c", app="x"), namespace="default")
    relabelled = dict(created, metadata={**created["metadata"], "labels": {"app": "y"}})
    done = emu_store.update("configmaps", relabelled)
    back = dict(done, metadata={**done["metadata"], "labels": {"app": "x"}})
    # Start the watch before the last change so the transition is live, not replayed.
    collected: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: collected.extend(
            _raw_watch(
                emu_server,
                emu_token,
                f"watch=true&labelSelector=app%3Dx&resourceVersion={rv}&timeoutSeconds=2",
            )
        )
    )
    thread.start()
    deadline = time.monotonic() + 10
    while emu_server.watch_count == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    emu_store.update("configmaps", back)
    thread.join()
    types = [e["type"] for e in collected]
    # replayed: ADDED (matches); the relabel is replayed as a change to a non-matching
    # object (not sent); live: the object matches again -> ADDED.
    assert types == ["ADDED", "ADDED"]


def test_watch_by_field_selector_name(k8s: client.ApiClient, emu_store: Store) -> None:
    core = client.CoreV1Api(k8s)
    thread = later(
        0.2,
        lambda: [
            emu_store.create("configmaps", cm(n), namespace="default") for n in ("x", "wanted")
        ],
    )
    stream = watch.Watch()
    names = []
    for event in stream.stream(
        core.list_namespaced_config_map,
        "default",
        field_selector="metadata.name=wanted",
        timeout_seconds=3,
    ):
        names.append(event["object"].metadata.name)
        stream.stop()
    thread.join()
    assert names == ["wanted"]


def test_many_watchers_each_get_every_event(emu_server: EmulatorServer, emu_store: Store) -> None:
    assert emu_server.watch_count == 0
    results: list[list[str]] = [[] for _ in range(20)]

    def run(index: int) -> None:
        import urllib.request

        rv = start_rv
        request = urllib.request.Request(
            f"{emu_server.url}/api/v1/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=3"
        )
        request.add_header("Authorization", f"Bearer {emu_server.token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            for line in response:
                results[index].append(json.loads(line)["object"]["metadata"]["name"])
                if len(results[index]) == 10:
                    break

    start_rv = emu_store.resource_version
    threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for i in range(10):
        emu_store.create("configmaps", cm(f"c{i}"), namespace="default")
    for thread in threads:
        thread.join()
    assert all(r == [f"c{i}" for i in range(10)] for r in results)


# ------------------------------------------------------------------ logs (sync client)


def _log(k8s: client.ApiClient, name: str, **kwargs: Any) -> str:
    response = client.CoreV1Api(k8s).read_namespaced_pod_log(
        name, "default", _preload_content=False, **kwargs
    )
    return str(response.data.decode())


def test_pod_logs(k8s: client.ApiClient, emu_store: Store) -> None:
    emu_store.create("pods", pod("p", "launcher"), namespace="default")
    for line in ("one", "two", "three"):
        emu_store.logs.append("default", "p", "launcher", line)
    assert _log(k8s, "p") == "one\ntwo\nthree\n"
    assert _log(k8s, "p", tail_lines=2) == "two\nthree\n"
    stamped = _log(k8s, "p", timestamps=True).splitlines()
    assert stamped[0].endswith("Z one")
    assert stamped[0][:4].isdigit()


def test_pod_logs_container_choice_and_previous(k8s: client.ApiClient, emu_store: Store) -> None:
    emu_store.create("pods", pod("p", "a", "b"), namespace="default")
    emu_store.logs.append("default", "p", "b", "old")
    emu_store.logs.reset("default", "p", "b")
    emu_store.logs.append("default", "p", "b", "new")
    core = client.CoreV1Api(k8s)
    with pytest.raises(client.ApiException) as info:
        core.read_namespaced_pod_log("p", "default")
    assert info.value.status == 400
    assert "choose one of: [a b]" in json.loads(info.value.body)["message"]
    assert _log(k8s, "p", container="b") == "new\n"
    assert _log(k8s, "p", container="b", previous=True) == "old\n"
    with pytest.raises(client.ApiException) as info:
        core.read_namespaced_pod_log("p", "default", container="zzz")
    assert info.value.status == 400


def test_pod_log_of_pending_container_is_400(k8s: client.ApiClient, emu_store: Store) -> None:
    emu_store.create("pods", pod("p"), namespace="default")
    with pytest.raises(client.ApiException) as info:
        client.CoreV1Api(k8s).read_namespaced_pod_log("p", "default")
    assert info.value.status == 400
    assert "waiting to start" in json.loads(info.value.body)["message"]


def test_follow_logs_until_the_container_ends(k8s: client.ApiClient, emu_store: Store) -> None:
    emu_store.create("pods", pod("p"), namespace="default")
    emu_store.logs.append("default", "p", "main", "first")

    def finish() -> None:
        emu_store.logs.append("default", "p", "main", "second")
        emu_store.logs.close("default", "p", "main")

    thread = later(0.3, finish)
    response = client.CoreV1Api(k8s).read_namespaced_pod_log(
        "p", "default", follow=True, _preload_content=False
    )
    text = b"".join(response.stream()).decode()
    thread.join()
    assert text == "first\nsecond\n"


def test_follow_logs_line_by_line_with_watch(k8s: client.ApiClient, emu_store: Store) -> None:
    emu_store.create("pods", pod("p"), namespace="default")
    emu_store.logs.append("default", "p", "main", "first")

    def finish() -> None:
        emu_store.logs.append("default", "p", "main", "second")
        emu_store.logs.close("default", "p", "main")

    thread = later(0.3, finish)
    lines = list(
        watch.Watch().stream(
            client.CoreV1Api(k8s).read_namespaced_pod_log, name="p", namespace="default"
        )
    )
    thread.join()
    assert lines == ["first", "second"]


# ------------------------------------------------------------------ async client


async def test_async_client_crud_watch_and_logs(k8s_async: Any, emu_store: Store) -> None:
    from kubernetes_asyncio import client as aclient
    from kubernetes_asyncio import watch as awatch

    custom = aclient.CustomObjectsApi(k8s_async)
    core = aclient.CoreV1Api(k8s_async)
    job = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "MPIJob",
        "metadata": {"name": "pi", "labels": {"team": "a"}},
        "spec": {"mpiReplicaSpecs": {}},
    }
    created = await custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, job)
    listed = await custom.list_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, label_selector="team=a"
    )
    assert [i["metadata"]["name"] for i in listed["items"]] == ["pi"]
    labels = {"metadata": {"labels": {"team": "b"}}}
    # kubernetes_asyncio sends a dict to custom objects as a JSON patch unless told
    # otherwise; a real API server refuses that with 400, and so does the emulator.
    with pytest.raises(aclient.ApiException) as refused:
        await custom.patch_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "pi", labels)
    assert refused.value.status == 400
    patched = await custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        "default",
        PLURAL,
        "pi",
        labels,
        _content_type="application/merge-patch+json",
    )
    assert patched["metadata"]["labels"] == {"team": "b"}

    stream = awatch.Watch()
    events = []
    async for event in stream.stream(
        custom.list_namespaced_custom_object,
        GROUP,
        VERSION,
        "default",
        PLURAL,
        resource_version=created["metadata"]["resourceVersion"],
        timeout_seconds=2,
    ):
        events.append(event["type"])
        break
    stream.stop()
    assert events == ["MODIFIED"]

    emu_store.create("pods", pod("p"), namespace="default")
    emu_store.logs.append("default", "p", "main", "hello")
    emu_store.logs.close("default", "p", "main")
    text = await core.read_namespaced_pod_log("p", "default")
    assert text == "hello\n"

    with pytest.raises(aclient.ApiException) as info:
        await core.read_namespaced_pod("missing", "default")
    assert info.value.status == 404


def test_pod_logs_since_seconds_and_limit_bytes() -> None:
    from datetime import datetime, timedelta, timezone

    clock = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    store = Store(now=lambda: clock[0])
    store.create("pods", pod("p"), namespace="default")
    store.logs.append("default", "p", "main", "old line")
    clock[0] += timedelta(seconds=100)
    store.logs.append("default", "p", "main", "new line")
    with EmulatorServer(store, token="t") as server:
        configuration = client.Configuration()
        configuration.host = server.url
        configuration.api_key = {"BearerToken": "t"}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        with client.ApiClient(configuration) as api:
            assert _log(api, "p", since_seconds=10) == "new line\n"
            assert _log(api, "p", since_seconds=1000) == "old line\nnew line\n"
            assert _log(api, "p", limit_bytes=5) == "old l"


def test_watch_cluster_scoped_namespaces(k8s: client.ApiClient, emu_store: Store) -> None:
    core = client.CoreV1Api(k8s)
    start = str(emu_store.resource_version)
    emu_store.create("namespaces", {"metadata": {"name": "team"}})
    emu_store.create("configmaps", {"metadata": {"name": "c"}}, namespace="team")
    emu_store.delete("namespaces", None, "team")
    seen = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespace, resource_version=start, timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 2:
            stream.stop()
    assert seen == [("ADDED", "team"), ("DELETED", "team")]
