"""Fixtures for the emulator's own tests: a store and an API server without controllers.

The store holds the MPIJob CRD, so the server serves mpijobs as a cluster
with the MPI operator installed does.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml

from airflow_provider_mpi.testing.cluster import mpijob_crd
from airflow_provider_mpi.testing.faults import FaultInjector
from airflow_provider_mpi.testing.server import EmulatorServer
from airflow_provider_mpi.testing.store import Store


@pytest.fixture
def emu_store() -> Store:
    store = Store()
    store.create("customresourcedefinitions", mpijob_crd())
    return store


@pytest.fixture
def emu_faults() -> FaultInjector:
    return FaultInjector(seed=7)


@pytest.fixture
def emu_server(emu_store: Store, emu_faults: FaultInjector) -> Iterator[EmulatorServer]:
    server = EmulatorServer(
        emu_store, token=secrets.token_hex(16), faults=emu_faults, bookmark_interval=0.2
    )
    with server:
        yield server


def _token(server: EmulatorServer) -> str:
    return server._token.decode().removeprefix("Bearer ")


@pytest.fixture
def emu_token(emu_server: EmulatorServer) -> str:
    return _token(emu_server)


@pytest.fixture
def emu_kubeconfig(emu_server: EmulatorServer, tmp_path: Path, emu_token: str) -> Path:
    path = tmp_path / "kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emu", "cluster": {"server": emu_server.url}}],
        "users": [{"name": "emu", "user": {"token": emu_token}}],
        "contexts": [
            {"name": "emu", "context": {"cluster": "emu", "user": "emu", "namespace": "default"}}
        ],
        "current-context": "emu",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def k8s(emu_server: EmulatorServer, emu_token: str) -> Iterator[object]:
    """A sync ``kubernetes.client.ApiClient`` pointed at the emulator."""
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = emu_server.url
    configuration.api_key = {"BearerToken": emu_token}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.retries = False
    api = client.ApiClient(configuration)
    yield api
    api.close()


@pytest.fixture
async def k8s_async(emu_server: EmulatorServer, emu_token: str) -> AsyncIterator[object]:
    """A ``kubernetes_asyncio.client.ApiClient`` pointed at the emulator."""
    from kubernetes_asyncio import client

    configuration = client.Configuration()
    configuration.host = emu_server.url
    configuration.api_key = {"BearerToken": emu_token}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    api = client.ApiClient(configuration)
    yield api
    await api.close()
