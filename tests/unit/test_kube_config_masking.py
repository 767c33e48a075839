"""The credentials of a kube config passed to the trigger are found and masked in Airflow's logs."""

from __future__ import annotations

# isort: off
from tests import airflow_env  # noqa: F401

# isort: on
from airflow_provider_mpi.hooks._masking import kube_config_secrets, mask_kube_config_secrets

KUBE_CONFIG = {
    "clusters": [{"name": "default", "cluster": {"server": "https://k8s.example:6443"}}],
    "users": [
        {"name": "a", "user": {"token": "token-of-user-a-0123456789"}},
        {
            "name": "b",
            "user": {
                "client-certificate-data": "Y2VydGlmaWNhdGUtb2YtYg==",
                "client-key-data": "a2V5LW9mLXVzZXItYg==",
                "username": "b",
                "password": "password-of-b-9876",
            },
        },
        {"name": "c", "user": {"exec": {"command": "aws"}}},
        "not a mapping",
    ],
    "contexts": [{"name": "default", "context": {"cluster": "default", "user": "a"}}],
}


def test_only_the_users_credentials_are_secrets() -> None:
    assert kube_config_secrets(KUBE_CONFIG) == [
        "token-of-user-a-0123456789",
        "password-of-b-9876",
        "a2V5LW9mLXVzZXItYg==",
        "Y2VydGlmaWNhdGUtb2YtYg==",
    ]
    assert kube_config_secrets({}) == []


def test_masked_credentials_read_as_stars_and_names_stay() -> None:
    mask_kube_config_secrets(KUBE_CONFIG)
    try:  # where Airflow keeps its masker
        from airflow.sdk.log import redact  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import redact  # type: ignore[no-redef]
    text = str(redact(repr(KUBE_CONFIG)))
    assert "token-of-user-a-0123456789" not in text
    assert "password-of-b-9876" not in text
    assert "a2V5LW9mLXVzZXItYg==" not in text
    assert "'default'" in text  # names are not hidden
