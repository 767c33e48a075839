"""MPIOperatorHook and AsyncMPIOperatorHook without a cluster: connection fields and precedence."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401  (a private AIRFLOW_HOME before Airflow loads)

# isort: on
import json
from pathlib import Path

import pytest
import yaml

from airflow_provider_mpi.drmaa2 import InvalidArgumentError
from airflow_provider_mpi.hooks._kube_config import ConnectionOverrides, resolve_cluster_access
from airflow_provider_mpi.hooks.mpi_operator import (
    AsyncMPIOperatorHook,
    KubeAccess,
    KubeConfigSource,
    MPIOperatorHook,
    choose_kube_config_source,
)

KUBE_CONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "secret"}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "ctx",
}


def _connection(
    monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str = "kubernetes", **extra: object
) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, "extra": extra})
    )


@pytest.mark.parametrize(
    ("in_cluster", "config_file", "kube_config", "expected"),
    [
        (None, None, None, KubeConfigSource.DEFAULT),
        (False, "", {}, KubeConfigSource.DEFAULT),
        (True, None, None, KubeConfigSource.IN_CLUSTER),
        (None, "/k", None, KubeConfigSource.FILE),
        (None, None, {"a": 1}, KubeConfigSource.INLINE),
        (None, None, "apiVersion: v1", KubeConfigSource.INLINE),
    ],
)
def test_kube_config_source(
    in_cluster: bool | None, config_file: str | None, kube_config: object, expected: object
) -> None:
    assert (
        choose_kube_config_source(
            in_cluster=in_cluster, config_file=config_file, kube_config=kube_config
        )
        is expected
    )


@pytest.mark.parametrize(
    ("in_cluster", "config_file", "kube_config"),
    [(True, "/k", None), (None, "/k", {"a": 1}), (True, None, "x"), (True, "/k", "x")],
)
def test_sources_are_mutually_exclusive(
    in_cluster: bool | None, config_file: str | None, kube_config: object
) -> None:
    with pytest.raises(InvalidArgumentError, match="mutually exclusive"):
        choose_kube_config_source(
            in_cluster=in_cluster, config_file=config_file, kube_config=kube_config
        )


def test_hook_has_its_own_connection_type_and_the_cncf_default_connection() -> None:
    assert MPIOperatorHook.conn_type == "mpi_operator"
    assert MPIOperatorHook.default_conn_name == "kubernetes_default"
    assert MPIOperatorHook.conn_name_attr == "conn_id"  # Connection.get_hook() passes it


@pytest.mark.parametrize("conn_type", ["kubernetes", "mpi_operator"])
@pytest.mark.parametrize(
    "prefix", ["", "extra__kubernetes__", "extra__mpi_operator__"], ids=["plain", "k8s", "mpi"]
)
def test_extras_of_either_type_and_prefix(
    monkeypatch: pytest.MonkeyPatch, conn_type: str, prefix: str
) -> None:
    _connection(
        monkeypatch,
        "typed",
        conn_type,
        **{f"{prefix}namespace": "hpc", f"{prefix}mpi_job_url_template": "https://d/{name}"},
    )
    hook = MPIOperatorHook("typed")
    assert (hook.namespace, hook.job_url_template) == ("hpc", "https://d/{name}")


def test_the_plain_extra_wins_over_a_prefixed_one(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(
        monkeypatch, "both", "mpi_operator", namespace="plain", extra__mpi_operator__namespace="x"
    )
    assert MPIOperatorHook("both").namespace == "plain"


def test_the_sync_client_gets_prefixed_fields(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBE_CONFIG))
    _connection(
        monkeypatch,
        "sync",
        "mpi_operator",
        extra__mpi_operator__kube_config_path=str(path),
        extra__mpi_operator__cluster_context="ctx",
    )
    kubernetes_hook = MPIOperatorHook("sync").kubernetes_hook
    assert (kubernetes_hook.config_file, kubernetes_hook.cluster_context) == (str(path), "ctx")
    assert kubernetes_hook.get_conn().configuration.host == "http://127.0.0.1:1"


def test_a_missing_connection_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NOT_THERE", raising=False)
    with pytest.raises(InvalidArgumentError) as caught:
        MPIOperatorHook("not_there").get_tracker()
    assert (caught.value.field, caught.value.value) == ("conn_id", "not_there")


@pytest.mark.parametrize(
    ("override", "extra", "expected"),
    [
        (None, {}, "default"),
        (None, {"namespace": "hpc"}, "hpc"),
        ("mine", {"namespace": "hpc"}, "mine"),
    ],
)
def test_namespace_precedence(
    monkeypatch: pytest.MonkeyPatch, override: str | None, extra: dict[str, str], expected: str
) -> None:
    _connection(monkeypatch, "ns_test", **extra)
    assert MPIOperatorHook("ns_test", namespace=override).namespace == expected


def test_missing_default_connection_means_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)
    hook = MPIOperatorHook()
    assert hook.namespace == "default"
    assert hook.job_url_template is None


def test_url_template_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "url_test", mpi_job_url_template="https://d/{namespace}/{name}")
    assert MPIOperatorHook("url_test").job_url_template == "https://d/{namespace}/{name}"


def test_trigger_access_by_connection_id(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "access", namespace="hpc", kube_config_path="/x")
    access = MPIOperatorHook("access", cluster_context="ctx").trigger_access(pass_kube_config=False)
    assert access == KubeAccess(conn_id="access", namespace="hpc", cluster_context="ctx")


@pytest.mark.parametrize(
    ("in_environment", "config_file", "passed", "reason"),
    [
        (True, None, True, "AIRFLOW_CONN_AUTO_CONN"),
        (False, None, False, "not defined by the worker's environment"),
        (False, "local", True, "is a file of the worker"),
        (False, "/not/on/this/machine", False, "not defined by the worker's environment"),
        (True, "/not/on/this/machine", True, "AIRFLOW_CONN_AUTO_CONN"),
    ],
    ids=["worker-env", "db-or-secrets", "local-file", "remote-file", "env-and-remote-file"],
)
def test_auto_passes_the_kube_config_only_for_what_the_triggerer_cannot_see(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    in_environment: bool,
    config_file: str | None,
    passed: bool,
    reason: str,
) -> None:
    local = tmp_path / "config"
    local.write_text(yaml.safe_dump(KUBE_CONFIG))
    monkeypatch.delenv("AIRFLOW_CONN_AUTO_CONN", raising=False)
    if in_environment:
        _connection(monkeypatch, "auto_conn", kube_config_path=str(local))
    hook = MPIOperatorHook(
        "auto_conn",
        namespace="hpc",  # so that the hook never needs to read a connection it cannot see
        config_file=str(local) if config_file == "local" else config_file,
    )
    decision, why = hook.should_pass_kube_config()
    assert decision is passed
    assert reason in why
    if passed and config_file != "/not/on/this/machine" and in_environment:
        assert hook.trigger_access().kube_config == KUBE_CONFIG
    if not passed:
        access = hook.trigger_access()
        assert (access.conn_id, access.kube_config) == ("auto_conn", None)


def test_auto_logs_the_choice_but_never_the_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBE_CONFIG))
    _connection(monkeypatch, "logged", kube_config_path=str(path))
    access = MPIOperatorHook("logged").trigger_access()
    assert access.kube_config == KUBE_CONFIG
    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert "Passing the kube config" in logged
    assert "AIRFLOW_CONN_LOGGED" in logged
    assert "secret" not in logged


def test_forcing_overrides_the_automatic_choice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBE_CONFIG))
    monkeypatch.delenv("AIRFLOW_CONN_FORCED", raising=False)
    hook = MPIOperatorHook("forced", namespace="hpc", config_file=str(path))
    assert hook.trigger_access(pass_kube_config=False).kube_config is None
    monkeypatch.setenv("AIRFLOW_CONN_FORCED", json.dumps({"conn_type": "mpi_operator"}))
    assert hook.trigger_access(pass_kube_config=True).kube_config == KUBE_CONFIG


def test_trigger_access_passes_a_kube_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(KUBE_CONFIG))
    _connection(monkeypatch, "file", kube_config_path=str(path), cluster_context="ctx")
    access = MPIOperatorHook("file").trigger_access(pass_kube_config=True)
    assert access.conn_id is None  # the triggerer needs no connection
    assert access.kube_config == KUBE_CONFIG
    assert access.cluster_context == "ctx"
    assert json.loads(json.dumps(access.to_kwargs())) == access.to_kwargs()


def test_trigger_access_passes_an_inline_kube_config(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "inline", kube_config=json.dumps(KUBE_CONFIG), namespace="hpc")
    access = MPIOperatorHook("inline").trigger_access(pass_kube_config=True)
    assert access.kube_config == KUBE_CONFIG
    assert access.namespace == "hpc"


def test_trigger_access_in_cluster_passes_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "incluster", in_cluster=True)
    access = MPIOperatorHook("incluster").trigger_access(pass_kube_config=True)
    assert access.in_cluster is True
    assert access.kube_config is None


def test_trigger_access_in_a_pod_without_a_source_passes_in_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _connection(monkeypatch, "bare", "mpi_operator", namespace="hpc")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBECONFIG", "/does/not/exist")  # not read: the pod's default wins
    access = MPIOperatorHook("bare").trigger_access()
    assert (access.conn_id, access.in_cluster, access.kube_config) == (None, True, None)


def test_trigger_access_unreadable_file_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    _connection(monkeypatch, "nofile", kube_config_path="/does/not/exist")
    with pytest.raises(InvalidArgumentError) as caught:
        MPIOperatorHook("nofile").trigger_access(pass_kube_config=True)
    assert caught.value.field == "kube_config_path"


async def test_async_hook_reads_the_connection_without_blocking(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _connection(monkeypatch, "async_conn", namespace="hpc", kube_config_path="/x")
    extras = await AsyncMPIOperatorHook("async_conn").connection_extras()
    assert extras["namespace"] == "hpc"


async def test_async_hook_with_a_passed_config_ignores_connections() -> None:
    hook = AsyncMPIOperatorHook.from_access(KubeAccess(conn_id=None, kube_config=KUBE_CONFIG))
    assert await hook.connection_extras() == {}
    configuration = await hook._load_configuration({})
    assert configuration.host == "http://127.0.0.1:1"


async def test_async_hook_bad_config_names_the_connection() -> None:
    hook = AsyncMPIOperatorHook("k", config_file="/does/not/exist")
    with pytest.raises(InvalidArgumentError) as caught:
        await hook._load_configuration({})
    assert caught.value.field == "conn_id"


@pytest.mark.parametrize(
    ("extras", "overrides", "expected"),
    [
        ({}, ConnectionOverrides(), (KubeConfigSource.DEFAULT, "default", None, None)),
        (
            {"extra__kubernetes__kube_config_path": "/c", "namespace": "hpc"},
            ConnectionOverrides(cluster_context="ctx"),
            (KubeConfigSource.FILE, "hpc", "/c", "ctx"),
        ),
        (
            {"kube_config_path": "/c", "namespace": "hpc", "cluster_context": "a"},
            ConnectionOverrides(namespace="mine", config_file="/mine"),
            (KubeConfigSource.FILE, "mine", "/mine", "a"),
        ),
        (
            {"in_cluster": "true"},
            ConnectionOverrides(),
            (KubeConfigSource.IN_CLUSTER, "default", None, None),
        ),
        (
            {"in_cluster": True},
            ConnectionOverrides(in_cluster=False),
            (KubeConfigSource.DEFAULT, "default", None, None),
        ),
        (
            {},
            ConnectionOverrides(kube_config=KUBE_CONFIG),
            (KubeConfigSource.INLINE, "default", None, None),
        ),
    ],
)
def test_one_resolver_reads_extras_and_overrides(
    extras: dict[str, object], overrides: ConnectionOverrides, expected: tuple[object, ...]
) -> None:
    access = resolve_cluster_access(extras, overrides)
    assert (access.source, access.namespace, access.config_file, access.context) == expected


def test_the_resolver_in_a_pod_without_a_source_is_in_cluster() -> None:
    access = resolve_cluster_access({})
    assert access.effective_source({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) is (
        KubeConfigSource.IN_CLUSTER
    )
    assert access.effective_source({}) is KubeConfigSource.DEFAULT


def test_the_resolver_rejects_two_sources_naming_them() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        resolve_cluster_access({"in_cluster": True, "kube_config_path": "/c"})
    assert caught.value.value == ["in_cluster", "kube_config_path"]
