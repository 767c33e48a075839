"""Each request descriptor sends what the generated ``kubernetes`` client would send.

The transports send :mod:`...client.requests` descriptors through
``ApiClient.call_api``; the tracker used to call the generated API classes.
Both are captured here at ``ApiClient.request`` (no network) and compared:
verb, path, query and body must be the same, so the move to descriptors
changes nothing on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import kubernetes.client
import pytest

from airflow_provider_mpi.mpioperator.client import requests as rq
from airflow_provider_mpi.mpioperator.client.aio import AsyncMPIJobApi
from airflow_provider_mpi.mpioperator.client.descriptor import Request
from airflow_provider_mpi.mpioperator.client.retry import RetryPolicy
from airflow_provider_mpi.mpioperator.client.sync import MPIJobApi

G, V, P = "kubeflow.org", "v2beta1", "mpijobs"
RAW: dict[str, Any] = {"_preload_content": False}
BODY = {"metadata": {"name": "pi"}}
PATCH = {"spec": {"runPolicy": {"suspend": True}}}


class Answer:
    status, reason, data = 200, "OK", b"{}"

    def release_conn(self) -> None:
        pass

    def close(self) -> None:
        pass

    def stream(self, amt: Any = None, decode_content: bool = False) -> list[bytes]:
        return []

    def getheaders(self) -> dict[str, str]:
        return {}


class Capturing(kubernetes.client.ApiClient):  # type: ignore[misc]
    """An ApiClient that records each request instead of sending it."""

    def __init__(self) -> None:
        super().__init__(kubernetes.client.Configuration(host="https://k8s.invalid"))
        self.seen: list[tuple[str, str, list[tuple[str, str]], Any]] = []

    def request(self, method: str, url: str, query_params: Any = None, **kwargs: Any) -> Answer:
        query = sorted((str(k), str(v)) for k, v in (query_params or []))
        self.seen.append((method, url, query, kwargs.get("body")))
        return Answer()


def generated(call: Callable[[Any, Any], Any]) -> tuple[str, str, list[tuple[str, str]], Any]:
    client = Capturing()
    apis = (kubernetes.client.CustomObjectsApi(client), kubernetes.client.CoreV1Api(client))
    call(*apis)
    return client.seen[0]


def descriptor(request: Request) -> tuple[str, str, list[tuple[str, str]], Any]:
    client = Capturing()
    api = MPIJobApi(client, RetryPolicy(max_attempts=1))
    if request.read.value == "lines":
        list(api.lines(request))
    else:
        api.send(request)
    return client.seen[0]


CASES: list[tuple[str, Callable[[Any, Any], Any], Request]] = [
    (
        "create MPIJob",
        lambda c, _: c.create_namespaced_custom_object(G, V, "ns", P, BODY, **RAW),
        rq.create_mpi_job("ns", BODY),
    ),
    (
        "get MPIJob",
        lambda c, _: c.get_namespaced_custom_object(G, V, "ns", P, "pi", **RAW),
        rq.get_mpi_job("ns", "pi", job_id="ns/pi"),
    ),
    (
        "list MPIJobs",
        lambda c, _: c.list_namespaced_custom_object(
            G, V, "ns", P, label_selector="a=b", field_selector="metadata.name=pi", limit=1, **RAW
        ),
        rq.list_mpi_jobs("ns", label_selector="a=b", field_selector="metadata.name=pi", limit=1),
    ),
    (
        "patch MPIJob",
        lambda c, _: c.patch_namespaced_custom_object(
            G, V, "ns", P, "pi", PATCH, _content_type=rq.MERGE_PATCH, **RAW
        ),
        rq.patch_mpi_job("ns", "pi", PATCH, job_id="ns/pi"),
    ),
    (
        "delete MPIJob",
        lambda c, _: c.delete_namespaced_custom_object(
            G,
            V,
            "ns",
            P,
            "pi",
            body={"propagationPolicy": "Background", "preconditions": {"uid": "u"}},
            **RAW,
        ),
        rq.delete_mpi_job("ns", "pi", job_id="ns/pi", uid="u", propagation_policy="Background"),
    ),
    (
        "watch MPIJobs",
        lambda c, _: c.list_namespaced_custom_object(
            G,
            V,
            "ns",
            P,
            watch=True,
            allow_watch_bookmarks=True,
            resource_version="7",
            timeout_seconds=30,
            label_selector="a=b",
            **RAW,
        ),
        rq.watch_mpi_jobs("ns", resource_version="7", timeout_seconds=30, label_selector="a=b"),
    ),
    (
        "list pods",
        lambda _, core: core.list_namespaced_pod("ns", label_selector="a=b", **RAW),
        rq.list_pods("ns", "a=b"),
    ),
    (
        "list events",
        lambda _, core: core.list_namespaced_event("ns", field_selector="type=Warning", **RAW),
        rq.list_events("ns", field_selector="type=Warning"),
    ),
    (
        "read log",
        lambda _, core: core.read_namespaced_pod_log(
            "pi-launcher", "ns", container="mpi", tail_lines=5, **RAW
        ),
        rq.read_pod_log("ns", "pi-launcher", container="mpi", tail_lines=5),
    ),
    (
        "follow log",
        lambda _, core: core.read_namespaced_pod_log("pi-launcher", "ns", follow=True, **RAW),
        rq.follow_pod_log("ns", "pi-launcher", container=None, tail_lines=None),
    ),
    (
        "create owner",
        lambda _, core: core.create_namespaced_config_map("ns", BODY, **RAW),
        rq.create_owner("ns", BODY),
    ),
    (
        "get owner",
        lambda _, core: core.read_namespaced_config_map("arr", "ns", **RAW),
        rq.get_owner("ns", "arr"),
    ),
    (
        "watch pods",
        lambda _, core: core.list_namespaced_pod(
            "ns",
            label_selector="a=b",
            watch=True,
            allow_watch_bookmarks=True,
            resource_version="7",
            timeout_seconds=30,
            **RAW,
        ),
        rq.watch_pods("ns", label_selector="a=b", resource_version="7", timeout_seconds=30),
    ),
    (
        "patch owner",
        lambda _, core: core.patch_namespaced_config_map(
            "arr", "ns", PATCH, _content_type=rq.MERGE_PATCH, **RAW
        ),
        rq.patch_owner("ns", "arr", PATCH),
    ),
    (
        "list owners",
        lambda _, core: core.list_namespaced_config_map("ns", label_selector="a=b", **RAW),
        rq.list_owners("ns", "a=b"),
    ),
    (
        "delete owner",
        lambda _, core: core.delete_namespaced_config_map(
            "arr", "ns", body={"propagationPolicy": "Background"}, **RAW
        ),
        rq.delete_owner("ns", "arr"),
    ),
]


@pytest.mark.parametrize(("what", "call", "request_"), CASES, ids=[c[0] for c in CASES])
def test_a_descriptor_sends_what_the_generated_client_sends(
    what: str, call: Callable[[Any, Any], Any], request_: Request
) -> None:
    assert descriptor(request_) == generated(call)


@pytest.mark.parametrize(
    ("request_", "idempotent", "not_found", "what"),
    [
        (rq.create_mpi_job("ns", BODY), False, None, "create MPIJob ns/pi"),
        (rq.get_mpi_job("ns", "pi", job_id="ns/pi"), True, "ns/pi", "get MPIJob ns/pi"),
        (rq.patch_mpi_job("ns", "pi", PATCH, job_id="ns/pi"), True, "ns/pi", "patch MPIJob ns/pi"),
        (rq.delete_mpi_job("ns", "pi", job_id="ns/pi"), True, "ns/pi", "delete MPIJob ns/pi"),
        (rq.list_pods("ns", "a=b"), True, None, "list pods in ns"),
        (rq.list_events("ns"), True, None, "list events in ns"),
        (rq.create_owner("ns", BODY), False, None, "create array owner ns/pi"),
        (rq.get_owner("ns", "arr"), True, "ns/arr", "get array owner ns/arr"),
        (rq.patch_owner("ns", "arr", PATCH), True, "ns/arr", "patch array owner ns/arr"),
        (rq.delete_owner("ns", "arr"), True, "ns/arr", "delete array owner ns/arr"),
        (rq.list_owners("ns", "a=b"), True, None, "list array owners in ns"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_retry_and_not_found_rules(
    request_: Request, idempotent: bool, not_found: str | None, what: str
) -> None:
    # a create is sent once; a 404 names the job or the array it was about
    assert (request_.idempotent, request_.not_found, request_.what) == (idempotent, not_found, what)


class NotJson(Answer):
    """An answer whose body is not JSON: decoding it would raise."""

    data = b"<html>not json</html>"


class NotJsonClient(Capturing):
    def request(self, method: str, url: str, query_params: Any = None, **kwargs: Any) -> Answer:
        super().request(method, url, query_params, **kwargs)
        return NotJson()


def test_a_create_s_answer_is_read_and_dropped_not_decoded() -> None:
    # the tracker names each job itself and reads nothing from the created object, so
    # an array's thousand creates do not pay a JSON decode of the ~3 KB answer each
    api = MPIJobApi(NotJsonClient(), RetryPolicy(max_attempts=1))
    assert api.send(rq.create_mpi_job("ns", BODY)) is None
    # a read still decodes its answer (and so fails on one that is not JSON)
    with pytest.raises(json.JSONDecodeError):
        api.send(rq.get_mpi_job("ns", "pi", job_id="ns/pi"))
    # the transport's own create_mpi_job, for callers that want the object, decodes
    with pytest.raises(json.JSONDecodeError):
        api.create_mpi_job("ns", BODY)


class AsyncAnswer:
    """A streamed ``kubernetes_asyncio`` answer whose body is not JSON."""

    status = 201

    def __init__(self) -> None:
        self.released = False

    async def read(self) -> bytes:
        return b"<html>not json</html>"

    def release(self) -> None:
        self.released = True


class AsyncCapturing:
    """Just enough of a ``kubernetes_asyncio`` ApiClient: ``call_api`` answers at once."""

    def __init__(self) -> None:
        self.answers: list[AsyncAnswer] = []

    async def call_api(self, path: str, method: str, **kwargs: Any) -> AsyncAnswer:
        self.answers.append(AsyncAnswer())
        return self.answers[-1]


async def test_the_async_transport_drops_a_create_s_answer_too() -> None:
    client = AsyncCapturing()
    api = AsyncMPIJobApi(client, RetryPolicy(max_attempts=1))  # type: ignore[arg-type]
    assert await api.send(rq.create_mpi_job("ns", BODY)) is None
    assert client.answers[-1].released  # read to the end: the connection is reused
    with pytest.raises(json.JSONDecodeError):
        await api.send(rq.get_mpi_job("ns", "pi", job_id="ns/pi"))
