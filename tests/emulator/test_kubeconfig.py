"""The kubeconfigs both clusters hand out: one shape, credentials embedded, mode 0600."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import yaml

from airflow_provider_mpi.testing.kubeconfig import kubeconfig_dict, write_kubeconfig

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_ca_is_embedded_from_a_file_or_bytes_and_left_out_without_tls(
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_bytes(PEM)
    from_file = kubeconfig_dict("https://127.0.0.1:1", ca, name="c", token="t")
    from_bytes = kubeconfig_dict("https://127.0.0.1:1", PEM, name="c", token="t")
    assert from_file == from_bytes
    cluster = from_file["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == PEM
    plain = kubeconfig_dict("http://127.0.0.1:1", None, name="c", token="t")
    assert plain["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:1"}


def test_one_context_names_cluster_user_and_namespace(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.crt", tmp_path / "c.key"
    cert.write_bytes(b"cert")
    key.write_bytes(b"key")
    config = kubeconfig_dict("https://h", PEM, name="n", namespace="ns", cert=cert, key=key)
    assert config["current-context"] == "n"
    assert config["contexts"] == [
        {"name": "n", "context": {"cluster": "n", "user": "n", "namespace": "ns"}}
    ]
    user = config["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]) == b"cert"
    assert base64.b64decode(user["client-key-data"]) == b"key"
    assert "token" not in user


def test_written_with_mode_0600_and_read_back_the_same(tmp_path: Path) -> None:
    config = kubeconfig_dict("https://h", PEM, name="n", token="secret")
    path = write_kubeconfig(tmp_path / "kubeconfig", config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == config
    assert [p.name for p in tmp_path.iterdir()] == ["kubeconfig"]  # no partial file left
