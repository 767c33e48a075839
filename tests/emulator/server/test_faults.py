"""The fault layer, unit by unit and as a client sees it; and the request counters."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
import urllib3
from kubernetes import client, watch

from airflow_provider_mpi.testing.faults import (
    FaultInjector,
    FaultKind,
    RequestCounters,
    RequestInfo,
    Verb,
)
from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store

LIST_PODS = RequestInfo(Verb.LIST, "pods", "default")

# ------------------------------------------------------------------ injector (no server)


@pytest.mark.parametrize(
    ("kwargs", "info", "hit"),
    [
        ({}, LIST_PODS, True),
        ({"verb": "create"}, LIST_PODS, False),
        ({"verb": ["list", "get"]}, LIST_PODS, True),
        ({"resource": "pods"}, RequestInfo(Verb.GET, "pods/log", "default"), True),
        ({"resource": "pods"}, RequestInfo(Verb.GET, "podsx", "default"), False),
        ({"resource": "mpijobs"}, LIST_PODS, False),
        ({"namespace": "other"}, LIST_PODS, False),
        ({"namespace": ["other", "default"]}, LIST_PODS, True),
    ],
)
def test_fault_matching(kwargs: dict[str, Any], info: RequestInfo, hit: bool) -> None:
    faults = FaultInjector()
    faults.fail(503, **kwargs)
    decision = faults.decide(info)
    assert (decision.error is not None) is hit


def test_times_limits_a_fault() -> None:
    faults = FaultInjector()
    fault = faults.fail(500, times=2)
    hits = [faults.decide(LIST_PODS).error is not None for _ in range(4)]
    assert hits == [True, True, False, False]
    assert fault.hits == 2


def test_rate_is_reproducible_with_a_seed() -> None:
    def draw(seed: int) -> list[bool]:
        faults = FaultInjector(seed=seed)
        faults.fail(500, rate=0.3)
        return [faults.decide(LIST_PODS).error is not None for _ in range(200)]

    first, second = draw(1), draw(1)
    assert first == second
    assert 30 < sum(first) < 90  # about 60 of 200


def test_latencies_add_up_and_first_error_wins() -> None:
    faults = FaultInjector()
    faults.delay(0.1)
    faults.delay(0.2, verb="list")
    faults.fail(503)
    faults.fail(500)
    decision = faults.decide(LIST_PODS)
    assert decision.latency == pytest.approx(0.3)
    assert decision.error is not None
    assert decision.error.status == 503


def test_watch_only_faults() -> None:
    faults = FaultInjector()
    faults.drop_watches(after_events=2)
    faults.expire_watches()
    assert faults.decide(LIST_PODS).drop_after_events is None
    resumed = faults.decide(RequestInfo(Verb.WATCH, "pods", "default", resource_version="7"))
    assert resumed.drop_after_events == 2
    assert resumed.expire
    fresh = faults.decide(RequestInfo(Verb.WATCH, "pods", "default", resource_version=None))
    assert not fresh.expire


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.fail(200), "4xx or 5xx"),
        (lambda f: f.fail(500, rate=2.0), "rate"),
        (lambda f: f.fail(500, times=-1), "times"),
        (lambda f: f.delay(-1.0), "seconds"),
        (lambda f: f.drop_watches(), "after_events or after_seconds"),
        (lambda f: f.fail(500, verb="explode"), "explode"),
    ],
)
def test_bad_fault_arguments(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(FaultInjector())


@pytest.mark.parametrize(
    ("call", "keyword"),
    [
        (lambda f: f.delay(1.0, verbs="create"), "verbs"),
        (lambda f: f.fail(500, status=503), "status"),
        (lambda f: f.drop_watches(after_events=1, verb="get"), "verb"),
        (lambda f: f.expire_watches(skip=1), "skip"),
    ],
)
def test_a_keyword_a_helper_does_not_take_is_refused(call: Any, keyword: str) -> None:
    faults = FaultInjector()
    with pytest.raises(TypeError, match=keyword):
        call(faults)
    assert faults.faults == []


def test_remove_and_clear() -> None:
    faults = FaultInjector()
    first = faults.fail(500)
    faults.throttle()
    faults.remove(first)
    assert [f.kind for f in faults.faults] == [FaultKind.ERROR]
    assert faults.faults[0].status == 429
    faults.clear()
    assert faults.decide(LIST_PODS).error is None


def test_counters() -> None:
    counters = RequestCounters()
    counters.record(Verb.LIST, "pods", 200, 0.010)
    counters.record(Verb.LIST, "pods", 500, 0.030)
    counters.record(Verb.CREATE, "mpijobs", 201, 0.002)
    assert counters.count() == counters.total == 3
    assert counters.count("list") == 2
    assert counters.count(resource="mpijobs") == 1
    summary = counters.as_dict()
    assert summary["list pods"]["count"] == 2
    assert summary["list pods"]["errors"] == 1
    assert summary["list pods"]["max_ms"] == pytest.approx(30.0)
    assert summary["list pods"]["mean_ms"] == pytest.approx(20.0)
    counters.reset()
    assert counters.as_dict() == {}


def test_counters_count_on_arrival_and_time_on_answer() -> None:
    counters = RequestCounters()
    counters.arrived(Verb.WATCH, "pods")
    assert counters.count("watch", "pods") == 1  # still open
    assert counters.snapshot()[(Verb.WATCH, "pods")].latencies == []
    counters.answered(Verb.WATCH, "pods", 200, 0.004)
    stats = counters.snapshot()[(Verb.WATCH, "pods")]
    assert (stats.count, stats.errors, stats.latencies) == (1, 0, [0.004])


# ------------------------------------------------------------------ as the client sees it


@pytest.fixture
def core(k8s: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(k8s)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "InternalError"), (503, "ServiceUnavailable"), (429, "TooManyRequests")],
)
def test_injected_errors_are_status_objects(
    core: client.CoreV1Api, emu_faults: FaultInjector, status: int, reason: str
) -> None:
    emu_faults.fail(status, times=1, verb="list", resource="pods")
    with pytest.raises(client.ApiException) as info:
        core.list_namespaced_pod("default")
    assert info.value.status == status
    body = json.loads(info.value.body)
    assert body["kind"] == "Status"
    assert body["reason"] == reason
    assert body["code"] == status
    if status == 429:
        assert info.value.headers["Retry-After"] == "1"
        assert body["details"]["retryAfterSeconds"] == 1
    assert core.list_namespaced_pod("default").items == []  # only once


def test_throttle_with_retry_after(core: client.CoreV1Api, emu_faults: FaultInjector) -> None:
    emu_faults.throttle(retry_after=7, times=1)
    with pytest.raises(client.ApiException) as info:
        core.list_namespaced_config_map("default")
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "7"


def test_forbidden_namespace(core: client.CoreV1Api, emu_faults: FaultInjector) -> None:
    emu_faults.forbid("secret-team")
    with pytest.raises(client.ApiException) as info:
        core.list_namespaced_pod("secret-team")
    assert info.value.status == 403
    body = json.loads(info.value.body)
    assert body["reason"] == "Forbidden"
    assert 'cannot list resource "pods"' in body["message"]
    assert core.list_namespaced_pod("default").items == []


def test_added_latency(core: client.CoreV1Api, emu_faults: FaultInjector) -> None:
    emu_faults.delay(0.3, times=1)
    started = time.monotonic()
    core.list_namespaced_pod("default")
    assert time.monotonic() - started >= 0.3


def test_connection_reset(core: client.CoreV1Api, emu_faults: FaultInjector) -> None:
    emu_faults.reset_connections(times=1)
    with pytest.raises((urllib3.exceptions.HTTPError, ConnectionError)):
        core.list_namespaced_pod("default")
    assert core.list_namespaced_pod("default").items == []


def test_dropped_watch_ends_after_n_events(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store
) -> None:
    for i in range(5):
        emu_store.create("configmaps", {"metadata": {"name": f"c{i}"}}, namespace="default")
    emu_faults.drop_watches(after_events=2, times=1)
    started = time.monotonic()
    names = [
        e["object"].metadata.name
        for e in watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=5)
    ]
    assert names == ["c0", "c1"]
    assert time.monotonic() - started < 4


def test_dropped_watch_after_seconds(
    emu_server: EmulatorServer, emu_faults: FaultInjector, emu_token: str
) -> None:
    emu_faults.drop_watches(after_seconds=0.3)
    request = urllib.request.Request(
        f"{emu_server.url}/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=10"
    )
    request.add_header("Authorization", f"Bearer {emu_token}")
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b""
    assert time.monotonic() - started < 5


def test_expired_watch_resume(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store
) -> None:
    emu_faults.expire_watches(times=1)
    rv = str(emu_store.resource_version)
    with pytest.raises(client.ApiException) as info:
        for _ in watch.Watch().stream(
            core.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=2
        ):
            pass
    assert info.value.status == 410


def test_every_request_is_counted(
    core: client.CoreV1Api, emu_server: EmulatorServer, emu_faults: FaultInjector
) -> None:
    emu_server.counters.reset()
    core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    core.read_namespaced_config_map("c", "default")
    core.list_namespaced_config_map("default")
    emu_faults.fail(500, times=1)
    with pytest.raises(client.ApiException):
        core.list_namespaced_config_map("default")
    request = urllib.request.Request(f"{emu_server.url}/api/v1/namespaces/default/pods")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=5)  # no token: 401, still counted
    counts = emu_server.counters.as_dict()
    assert counts["create configmaps"]["count"] == 1
    assert counts["get configmaps"]["count"] == 1
    assert counts["list configmaps"]["count"] == 2
    assert counts["list configmaps"]["errors"] == 1
    assert counts["list pods"]["errors"] == 1
    assert emu_server.counters.total == 5


def test_an_open_watch_is_counted_before_it_ends(
    emu_server: EmulatorServer, emu_token: str
) -> None:
    emu_server.counters.reset()
    request = urllib.request.Request(
        f"{emu_server.url}/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1"
    )
    request.add_header("Authorization", f"Bearer {emu_token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # the headers are in
        assert emu_server.counters.count(Verb.WATCH, "pods") == 1
        assert emu_server.counters.snapshot()[(Verb.WATCH, "pods")].latencies == []
        assert response.read() == b""  # the stream ends after timeoutSeconds
    deadline = time.monotonic() + 5
    while not emu_server.counters.snapshot()[(Verb.WATCH, "pods")].latencies:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert emu_server.counters.count(Verb.WATCH, "pods") == 1


def test_aborted_watch_breaks_the_client_stream(
    core: client.CoreV1Api, emu_faults: FaultInjector, emu_store: Store
) -> None:
    for i in range(3):
        emu_store.create("configmaps", {"metadata": {"name": f"c{i}"}}, namespace="default")
    emu_faults.drop_watches(after_events=2, abort=True, times=1)
    names: list[str] = []

    def collect() -> None:
        for event in watch.Watch().stream(
            core.list_namespaced_config_map, "default", timeout_seconds=5
        ):
            names.append(event["object"].metadata.name)

    with pytest.raises(urllib3.exceptions.ProtocolError):
        collect()
    assert names == ["c0", "c1"]
