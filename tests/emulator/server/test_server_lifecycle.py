"""Starting and stopping the emulated API server; TLS through the kubeconfig it writes."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store


def test_stop_ends_open_watches_and_frees_the_port() -> None:
    store = Store()
    server = EmulatorServer(store, token="t").start()
    request = urllib.request.Request(f"{server.url}/api/v1/pods?watch=1&timeoutSeconds=30")
    request.add_header("Authorization", "Bearer t")
    ended = threading.Event()

    def watch() -> None:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except OSError:
            pass
        ended.set()

    thread = threading.Thread(target=watch)
    thread.start()
    deadline = time.monotonic() + 5
    while server.watch_count == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.watch_count == 1
    started = time.monotonic()
    server.stop()
    assert ended.wait(10)
    thread.join()
    assert time.monotonic() - started < 8
    assert not server.running
    server.stop()  # idempotent


def test_start_twice_is_refused() -> None:
    with (
        EmulatorServer(Store(), token="t") as server,
        pytest.raises(RuntimeError, match="already started"),
    ):
        server.start()


def test_port_in_use_fails_to_start() -> None:
    with EmulatorServer(Store(), token="t") as first:
        second = EmulatorServer(Store(), token="t", port=first.port)
        with pytest.raises(RuntimeError, match="failed to start"):
            second.start()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host": "192.168.1.2", "token": "t"}, "loopback"),
        ({"token": ""}, "token"),
        ({"token": "t", "bookmark_interval": 0}, "bookmark_interval"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EmulatorServer(Store(), **kwargs)  # type: ignore[arg-type]


def test_tls_kubeconfig_works_with_the_official_client(tmp_path: Path) -> None:
    store = Store()
    with EmulatorServer(store, token="tls-token", tls=True) as server:
        assert server.url.startswith("https://127.0.0.1:")
        kubeconfig = server.kubeconfig(namespace="default")
        assert kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"]
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        api = config.new_client_from_config(config_file=str(path))
        try:
            core = client.CoreV1Api(api)
            names = [n.metadata.name for n in core.list_namespace().items]
            assert "default" in names
        finally:
            api.close()
        # Plain HTTP to a TLS port does not get through.
        plain = urllib.request.Request(server.url.replace("https", "http") + "/version")
        with pytest.raises((ConnectionError, urllib.error.URLError)):
            urllib.request.urlopen(plain, timeout=5)
