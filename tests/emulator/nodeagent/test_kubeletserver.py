"""The node agent's kubelet endpoint: /containerLogs over TLS, answered from a LogBook."""

from __future__ import annotations

import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from airflow_provider_mpi.testing.real.kubeletserver import KubeletServer, Presence
from airflow_provider_mpi.testing.server.tls import self_signed_identity
from airflow_provider_mpi.testing.store.logbook import LogBook

IDENTITY = self_signed_identity()


@pytest.fixture
def book() -> LogBook:
    return LogBook()


@pytest.fixture
def presence() -> dict[str, Presence]:
    return {"p": Presence.STARTED, "waiting": Presence.WAITING}


@pytest.fixture
def server(book: LogBook, presence: dict[str, Presence]) -> Iterator[KubeletServer]:
    started = KubeletServer(
        book, lambda ns, pod: presence.get(pod, Presence.ABSENT), IDENTITY.server_context()
    )
    started.start()
    yield started
    started.stop()


def get(server: KubeletServer, path: str) -> tuple[int, str]:
    context = ssl.create_default_context(cadata=IDENTITY.certificate_pem.decode())
    url = f"https://127.0.0.1:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, context=context, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serves_tail_limit_and_timestamps_over_tls(server: KubeletServer, book: LogBook) -> None:
    for line in ("a", "b", "c"):
        book.append("ns", "p", "main", line)
    assert get(server, "/containerLogs/ns/p/main") == (200, "a\nb\nc\n")
    assert get(server, "/containerLogs/ns/p/main?tailLines=2") == (200, "b\nc\n")
    assert get(server, "/containerLogs/ns/p/main?limitBytes=3") == (200, "a\nb")
    status, body = get(server, "/containerLogs/ns/p/main?timestamps=true&tailLines=1")
    assert status == 200
    stamp, text = body.rstrip("\n").split(" ")
    assert text == "c"
    assert stamp.endswith("000Z")
    assert get(server, "/containerLogs/ns/p/main?sinceSeconds=3600") == (200, "a\nb\nc\n")


def test_follow_streams_until_the_container_ends(server: KubeletServer, book: LogBook) -> None:
    book.append("ns", "p", "main", "first")

    def later() -> None:
        time.sleep(0.3)
        book.append("ns", "p", "main", "second")
        book.close("ns", "p", "main")

    threading.Thread(target=later, daemon=True).start()
    assert get(server, "/containerLogs/ns/p/main?follow=true") == (200, "first\nsecond\n")


def test_errors_a_kubelet_gives(server: KubeletServer, book: LogBook) -> None:
    status, body = get(server, "/containerLogs/ns/waiting/main")
    assert status == 400
    assert "is waiting to start: ContainerCreating" in body
    assert get(server, "/containerLogs/ns/gone/main")[0] == 404
    status, body = get(server, "/containerLogs/ns/p/main?previous=true")
    assert status == 400
    assert 'previous terminated container "main"' in body
    assert get(server, "/containerLogs/ns/p/main?tailLines=x")[0] == 400


def test_a_port_in_use_is_an_os_error(server: KubeletServer, book: LogBook) -> None:
    second = KubeletServer(
        book, lambda ns, pod: Presence.ABSENT, IDENTITY.server_context(), server.port
    )
    with pytest.raises(OSError, match="in use"):
        second.start()
