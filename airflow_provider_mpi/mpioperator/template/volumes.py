"""Volumes from ``StageInFiles``: the seed's ``VolumeMountSpec`` and its string syntax.

The seed mounts existing PersistentVolumeClaims and ConfigMaps into the
launcher and every worker, described in the template's ``stage_in_files``
map: the key is the mount path in the containers, the value is
``<type>[-read]:<name>``, where type is ``pvc``, ``configmap`` (or ``cm``) or
``secret`` (an addition, spelled as in DRMAA2OS), ``-read`` mounts read-only,
and a ConfigMap or Secret name may carry one item as ``name:key:path``
(mount only that key, as file ``path``). This module parses and writes that
syntax strictly and builds the pod ``volumes`` and ``volumeMounts``; the
seed skipped malformed entries and gave the launcher the workers' volumes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.drmaa2.strenum import StrEnum
from airflow_provider_mpi.mpioperator.template.validation import dns1123_subdomain_error

__all__ = [
    "RESERVED_MOUNT_PATHS",
    "VolumeMountSpec",
    "VolumeType",
    "get_volume_mounts",
    "pod_volumes",
    "set_volume_mounts",
]

#: Paths the operator mounts itself (the hostfile); the SSH path is checked separately.
RESERVED_MOUNT_PATHS = frozenset({"/etc/mpi"})
_READ_SUFFIX = "-read"
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")


class VolumeType(StrEnum):
    """The kinds of existing objects a stage-in entry can mount."""

    PVC = "pvc"
    CONFIGMAP = "configmap"
    SECRET = "secret"


_TYPE_SPELLINGS = {
    "pvc": VolumeType.PVC,
    "configmap": VolumeType.CONFIGMAP,
    "cm": VolumeType.CONFIGMAP,
    "secret": VolumeType.SECRET,
}


@dataclasses.dataclass(frozen=True)
class VolumeMountSpec:
    """One volume mounted into the launcher and every worker.

    Attributes:
        mount_path: the absolute path inside the containers.
        read_only: mount read-only.
        volume_type: ``pvc``, ``configmap`` (``cm``) or ``secret``.
        volume_name: the claim, ConfigMap or Secret name; for ConfigMaps and
            Secrets optionally ``name:key:path`` to mount one key as a file.
    """

    mount_path: str
    read_only: bool
    volume_type: VolumeType | str
    volume_name: str

    @property
    def kind(self) -> VolumeType:
        """The volume type as an enum member (``cm`` reads as ``configmap``).

        Raises:
            InvalidTemplateError: an unknown type.
        """
        kind = _TYPE_SPELLINGS.get(str(self.volume_type).lower())
        if kind is None:
            raise InvalidTemplateError(
                f"stage_in_files[{self.mount_path!r}]",
                self.volume_type,
                "volume type must be pvc, configmap (cm) or secret",
            )
        return kind

    def to_stage_in_value(self) -> str:
        """The ``stage_in_files`` value, ``<type>[-read]:<name>``."""
        suffix = _READ_SUFFIX if self.read_only else ""
        return f"{self.volume_type}{suffix}:{self.volume_name}"


def _parse_entry(mount_path: str, value: str) -> VolumeMountSpec:
    field = f"stage_in_files[{mount_path!r}]"
    if not isinstance(mount_path, str) or not mount_path.startswith("/") or ":" in mount_path:
        raise InvalidTemplateError(field, mount_path, "the key must be an absolute mount path")
    if "/../" in mount_path + "/" or mount_path in RESERVED_MOUNT_PATHS:
        raise InvalidTemplateError(field, mount_path, "mount path is reserved or contains '..'")
    if not isinstance(value, str):
        raise InvalidTemplateError(field, value, "must be a string <type>[-read]:<name>")
    type_text, colon, name = value.partition(":")
    if not colon or not name:
        raise InvalidTemplateError(
            field, value, "must be <type>[-read]:<name>, e.g. pvc:data or configmap-read:scripts"
        )
    read_only = type_text.endswith(_READ_SUFFIX)
    base = type_text[: -len(_READ_SUFFIX)] if read_only else type_text
    spec = VolumeMountSpec(mount_path, read_only, base, name)
    kind = spec.kind
    parts = name.split(":")
    if kind is VolumeType.PVC and len(parts) != 1:
        raise InvalidTemplateError(field, value, "a pvc entry takes only the claim name")
    if len(parts) not in (1, 3):
        raise InvalidTemplateError(field, value, "the name must be <name> or <name>:<key>:<path>")
    if (error := dns1123_subdomain_error(parts[0])) is not None:
        raise InvalidTemplateError(field, value, f"name {parts[0]!r} {error}")
    if len(parts) == 3:
        key, path = parts[1], parts[2]
        if not _CONFIG_KEY.fullmatch(key) or len(key) > 253:
            raise InvalidTemplateError(
                field, value, f"key {key!r} is not a valid ConfigMap/Secret key"
            )
        if not path or path.startswith("/") or ".." in path.split("/"):
            raise InvalidTemplateError(
                field, value, f"item path {path!r} must be relative without '..'"
            )
    return spec


def get_volume_mounts(jt: JobTemplate) -> list[VolumeMountSpec]:
    """Read the volume mounts from ``stage_in_files``, in the template's order.

    Args:
        jt: the template.

    Returns:
        One spec per entry (empty when there are none).

    Raises:
        InvalidTemplateError: a malformed entry (the seed skipped it silently).
    """
    return [_parse_entry(path, value) for path, value in (jt.stage_in_files or {}).items()]


def set_volume_mounts(jt: JobTemplate, mounts: Iterable[VolumeMountSpec]) -> JobTemplate:
    """Add volume mounts to ``stage_in_files`` (an existing mount path is replaced).

    Args:
        jt: the template, left untouched.
        mounts: the volumes to mount in launcher and workers.

    Returns:
        A new template.

    Raises:
        InvalidTemplateError: a malformed mount.
    """
    stage_in = dict(jt.stage_in_files or {})
    for mount in mounts:
        value = mount.to_stage_in_value()
        _parse_entry(mount.mount_path, value)
        stage_in[mount.mount_path] = value
    return jt.replace(stage_in_files=stage_in)


def _volume(index: int, spec: VolumeMountSpec) -> dict[str, Any]:
    name = f"volume-{index}"
    parts = spec.volume_name.split(":")
    items = [{"key": parts[1], "path": parts[2]}] if len(parts) == 3 else None
    kind = spec.kind
    source: dict[str, Any]
    if kind is VolumeType.PVC:
        source = {"claimName": parts[0]}
        if spec.read_only:
            source["readOnly"] = True
        return {"name": name, "persistentVolumeClaim": source}
    if kind is VolumeType.CONFIGMAP:
        source = {"name": parts[0]}
        key = "configMap"
    else:
        source = {"secretName": parts[0]}
        key = "secret"
    if items:
        source["items"] = items
    return {"name": name, key: source}


def pod_volumes(
    mounts: list[VolumeMountSpec], *, ssh_mount_path: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Build the pod ``volumes`` and the container ``volumeMounts`` for the mounts.

    The launcher and every worker get the same lists (fresh copies each call).

    Args:
        mounts: as returned by :func:`get_volume_mounts`.
        ssh_mount_path: where the operator mounts the SSH keys; a stage-in
            mount on the same path would make the pods invalid.

    Returns:
        ``(volumes, volume_mounts)``, volumes named ``volume-<index>``.

    Raises:
        InvalidTemplateError: a mount path collides with the SSH mount path.
    """
    volumes: list[dict[str, Any]] = []
    volume_mounts: list[dict[str, Any]] = []
    for index, spec in enumerate(mounts):
        if spec.mount_path.rstrip("/") == ssh_mount_path.rstrip("/"):
            raise InvalidTemplateError(
                f"stage_in_files[{spec.mount_path!r}]",
                spec.to_stage_in_value(),
                "the mount path is the SSH mount path (sshMountPath) the operator uses",
            )
        volumes.append(_volume(index, spec))
        mount: dict[str, Any] = {"name": f"volume-{index}", "mountPath": spec.mount_path}
        if spec.read_only:
            mount["readOnly"] = True
        volume_mounts.append(mount)
    return volumes, volume_mounts
