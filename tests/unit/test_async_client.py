"""The async API client in two halves: configuration and TLS in a thread, session on the loop."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import asyncio
import ssl

import pytest
from kubernetes_asyncio import client

from airflow_provider_mpi.drmaa2 import InvalidArgumentError
from airflow_provider_mpi.hooks import _async_client
from airflow_provider_mpi.hooks._kube_config import ConnectionOverrides, resolve_cluster_access

KUBE_CONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "secret"}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "ctx",
}


def _access(**overrides: object) -> _async_client.ClusterAccess:
    return resolve_cluster_access({}, ConnectionOverrides(kube_config=KUBE_CONFIG, **overrides))  # type: ignore[arg-type]


async def test_the_client_has_every_field_of_the_library_s_own() -> None:
    """A kubernetes_asyncio upgrade that adds a field to its clients fails here."""
    parts = await asyncio.to_thread(_async_client.load_client_parts, _access(), None)
    ours = _async_client.api_client(parts)
    stock = client.ApiClient(configuration=parts.configuration)
    try:
        assert set(vars(ours)) == set(vars(stock))
        assert set(vars(ours.rest_client)) == set(vars(stock.rest_client))
        assert isinstance(ours.rest_client, type(stock.rest_client))
        assert ours.configuration is parts.configuration
        assert parts.configuration.api_key == {"BearerToken": "Bearer secret"}
        assert ours.rest_client.pool_manager.connector._ssl is parts.tls
    finally:
        await ours.close()
        await stock.close()
    assert ours.rest_client.pool_manager.closed


def test_the_tls_context_follows_the_configuration() -> None:
    configuration = client.Configuration()
    configuration.verify_ssl = False
    configuration.disable_strict_ssl_verification = True
    context = _async_client.tls_context(configuration)
    assert (context.check_hostname, context.verify_mode) == (False, ssl.CERT_NONE)
    assert not context.verify_flags & ssl.VERIFY_X509_STRICT
    verifying = _async_client.tls_context(client.Configuration())
    assert (verifying.check_hostname, verifying.verify_mode) == (True, ssl.CERT_REQUIRED)


def test_a_missing_ca_file_names_the_connection() -> None:
    configuration = client.Configuration()
    configuration.ssl_ca_cert = "/does/not/exist.crt"
    with pytest.raises(FileNotFoundError):
        _async_client.tls_context(configuration)
    broken = dict(KUBE_CONFIG)
    broken["clusters"] = [
        {"name": "c", "cluster": {"server": "https://x", "certificate-authority": "/no/ca.crt"}}
    ]
    access = resolve_cluster_access({}, ConnectionOverrides(kube_config=broken))
    with pytest.raises(InvalidArgumentError) as caught:
        _async_client.load_client_parts(access, "my_conn")
    assert (caught.value.field, caught.value.value) == ("conn_id", "my_conn")
