"""Lost answers: the request takes effect, then the client sees a reset or a 5xx instead."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
import urllib3
from kubernetes import client, watch
from kubernetes_asyncio import client as aclient

from airflow_provider_mpi.testing.faults import FaultInjector, FaultKind, RequestInfo, Verb
from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store, StoreError

CREATE_CM = RequestInfo(Verb.CREATE, "configmaps", "default")

# ------------------------------------------------------------------ injector (no server)


def test_lost_answers_are_drawn_after_handling_only() -> None:
    faults = FaultInjector()
    fault = faults.lose_answers(times=1)
    decision = faults.decide(CREATE_CM)
    assert decision.error is None
    assert not decision.reset
    assert fault.times == 1
    assert faults.lose_answer(CREATE_CM, 201) is fault
    assert faults.lose_answer(CREATE_CM, 201) is None  # times used up
    assert fault.hits == 1


def test_only_successful_answers_are_lost() -> None:
    faults = FaultInjector()
    fault = faults.lose_answers(503, times=1)
    for status in (400, 404, 409, 422, 500):
        assert faults.lose_answer(CREATE_CM, status) is None
    assert fault.times == 1  # errors do not consume the cue
    assert faults.lose_answer(CREATE_CM, 200) is fault


@pytest.mark.parametrize(
    ("kwargs", "info", "hit"),
    [
        ({}, CREATE_CM, True),
        ({"verb": "create"}, RequestInfo(Verb.PATCH, "configmaps", "default"), False),
        ({"verb": ["patch", "delete"]}, RequestInfo(Verb.DELETE, "mpijobs", "default"), True),
        ({"resource": "mpijobs"}, CREATE_CM, False),
        ({"resource": "mpijobs"}, RequestInfo(Verb.PATCH, "mpijobs/status", "default"), True),
        ({"namespace": "other"}, CREATE_CM, False),
        ({}, RequestInfo(Verb.WATCH, "configmaps", "default"), False),  # never a watch
    ],
)
def test_lost_answer_matching(kwargs: dict[str, Any], info: RequestInfo, hit: bool) -> None:
    faults = FaultInjector()
    faults.lose_answers(**kwargs)
    assert (faults.lose_answer(info, 200) is not None) is hit


def test_reset_or_status() -> None:
    faults = FaultInjector()
    reset = faults.lose_answers()
    gateway = faults.lose_answers(504)
    assert reset.kind is gateway.kind is FaultKind.LOST_ANSWER
    assert reset.abort
    assert not gateway.abort
    assert gateway.status == 504
    assert faults.lose_answer(CREATE_CM, 201) is reset  # the first one added wins


def test_lost_answer_rate_is_reproducible() -> None:
    def draw(seed: int) -> list[bool]:
        faults = FaultInjector(seed=seed)
        faults.lose_answers(rate=0.25)
        return [faults.lose_answer(CREATE_CM, 201) is not None for _ in range(200)]

    assert draw(3) == draw(3)
    assert 25 < sum(draw(3)) < 75  # about 50 of 200


@pytest.mark.parametrize("status", [200, 429, 404, 600])
def test_lost_answer_status_must_be_5xx(status: int) -> None:
    with pytest.raises(ValueError, match="5xx"):
        FaultInjector().lose_answers(status)


# ------------------------------------------------------------------ as the client sees it


@pytest.fixture
def core(k8s: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(k8s)


def _configmap(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"k": "v"}}


def test_lost_create_answer_reset(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store, emu_server: EmulatorServer
) -> None:
    emu_server.counters.reset()
    emu_faults.lose_answers(verb="create", resource="configmaps", times=1)
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError)):
        core.create_namespaced_config_map("default", _configmap("c"))
    stored = emu_store.get("configmaps", "default", "c")  # committed all the same
    assert stored["data"] == {"k": "v"}
    # the client's retry meets its own object
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map("default", _configmap("c"))
    assert info.value.status == 409
    stats = emu_server.counters.as_dict()["create configmaps"]
    assert (stats["count"], stats["errors"], stats["lost"]) == (2, 2, 1)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "InternalError"), (503, "ServiceUnavailable"), (504, "Timeout")],
)
def test_lost_create_answer_status(
    core: client.CoreV1Api,
    emu_faults: FaultInjector,
    emu_store: Store,
    emu_server: EmulatorServer,
    status: int,
    reason: str,
) -> None:
    emu_server.counters.reset()
    emu_faults.lose_answers(status, verb="create", times=1)
    with pytest.raises(client.ApiException) as info:
        core.create_namespaced_config_map("default", _configmap("c"))
    assert info.value.status == status
    body = json.loads(info.value.body)
    assert (body["kind"], body["reason"], body["code"]) == ("Status", reason, status)
    assert emu_store.get("configmaps", "default", "c")["data"] == {"k": "v"}
    core.create_namespaced_config_map("default", _configmap("d"))  # only once
    counts = emu_server.counters.snapshot()[(Verb.CREATE, "configmaps")]
    assert (counts.count, counts.errors, counts.lost) == (2, 1, 1)


def test_lost_patch_and_delete_answers_take_effect(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store
) -> None:
    core.create_namespaced_config_map("default", _configmap("c"))
    emu_faults.lose_answers(504, verb="patch", times=1)
    with pytest.raises(client.ApiException) as info:
        core.patch_namespaced_config_map("c", "default", {"data": {"k": "patched"}})
    assert info.value.status == 504
    assert emu_store.get("configmaps", "default", "c")["data"] == {"k": "patched"}
    emu_faults.lose_answers(verb="delete", times=1)
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError)):
        core.delete_namespaced_config_map("c", "default")
    with pytest.raises(StoreError):
        emu_store.get("configmaps", "default", "c")


def test_failed_requests_keep_the_cue(core: client.CoreV1Api, emu_faults: FaultInjector) -> None:
    fault = emu_faults.lose_answers(503, times=1)
    with pytest.raises(client.ApiException) as info:
        core.read_namespaced_config_map("missing", "default")
    assert info.value.status == 404  # the real error, not the injected one
    assert fault.times == 1
    with pytest.raises(client.ApiException) as info:
        core.list_namespaced_config_map("default")
    assert info.value.status == 503
    assert fault.hits == 1


def test_watches_are_not_lost(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store
) -> None:
    emu_store.create("configmaps", _configmap("c"), namespace="default")
    fault = emu_faults.lose_answers(verb=["watch", "list"], resource="configmaps")
    names = [
        e["object"].metadata.name
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, "default", resource_version="0", timeout_seconds=1
        )
    ]
    assert names == ["c"]
    assert fault.hits == 0


def test_before_faults_win_and_keep_the_cue(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store
) -> None:
    lost = emu_faults.lose_answers(times=1)
    emu_faults.fail(503, times=1)
    with pytest.raises(client.ApiException):
        core.create_namespaced_config_map("default", _configmap("c"))
    with pytest.raises(StoreError):
        emu_store.get("configmaps", "default", "c")  # refused before handling
    assert lost.times == 1


async def test_async_client_sees_the_reset(
    k8s_async: aclient.ApiClient, emu_faults: FaultInjector, emu_store: Store
) -> None:
    emu_faults.lose_answers(verb="create", times=1)
    api = aclient.CoreV1Api(k8s_async)
    with pytest.raises(aiohttp.ClientError):
        await api.create_namespaced_config_map("default", _configmap("c"))
    assert emu_store.get("configmaps", "default", "c")["data"] == {"k": "v"}
