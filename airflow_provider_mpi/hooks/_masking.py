"""The credentials of a kube config handed to the trigger, registered with Airflow's log masker.

A kube config resolved in the worker travels in the trigger's kwargs. Airflow
3.0's Task SDK logs the whole deferral message (kwargs included) at DEBUG;
whatever logs it, the credentials must read ``***``. Only the users'
credentials are registered: masking every value would also hide names such
as ``default`` wherever they appear in any log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CREDENTIAL_KEYS", "kube_config_secrets", "mask_kube_config_secrets"]

#: The keys of a kube config's ``users[].user`` that hold a credential.
CREDENTIAL_KEYS = ("token", "password", "client-key-data", "client-certificate-data")


def kube_config_secrets(kube_config: Mapping[str, Any]) -> list[str]:
    """The credential values of a parsed kube config, in file order.

    Args:
        kube_config: the kube config as a mapping.

    Returns:
        Every non-empty string under :data:`CREDENTIAL_KEYS` of every user.
    """
    secrets = []
    for entry in kube_config.get("users") or []:
        user = entry.get("user") if isinstance(entry, Mapping) else None
        if not isinstance(user, Mapping):
            continue
        secrets += [
            value for key in CREDENTIAL_KEYS if isinstance(value := user.get(key), str) and value
        ]
    return secrets


def mask_kube_config_secrets(kube_config: Mapping[str, Any]) -> None:
    """Register the kube config's credentials with Airflow's secrets masker.

    Args:
        kube_config: the kube config handed to the trigger.
    """
    try:  # Airflow 3.1+
        from airflow.sdk.log import mask_secret
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import (  # type: ignore[no-redef,attr-defined,unused-ignore]
            mask_secret,
        )
    for secret in kube_config_secrets(kube_config):
        mask_secret(secret)
