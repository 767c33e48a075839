"""StageInFiles volume syntax: the seed's VolumeMountSpec, parsed strictly."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate
from airflow_provider_mpi.mpioperator.template.volumes import (
    VolumeMountSpec,
    VolumeType,
    get_volume_mounts,
    pod_volumes,
    set_volume_mounts,
)

PARSED = [
    (
        "pvc:claim",
        VolumeMountSpec("/data", False, "pvc", "claim"),
        {"persistentVolumeClaim": {"claimName": "claim"}},
    ),
    (
        "pvc-read:claim",
        VolumeMountSpec("/data", True, "pvc", "claim"),
        {"persistentVolumeClaim": {"claimName": "claim", "readOnly": True}},
    ),
    (
        "configmap:cfg",
        VolumeMountSpec("/data", False, "configmap", "cfg"),
        {"configMap": {"name": "cfg"}},
    ),
    ("cm:cfg", VolumeMountSpec("/data", False, "cm", "cfg"), {"configMap": {"name": "cfg"}}),
    (
        "configmap-read:dambreak-job:damBreak.sh:damBreak.sh",
        VolumeMountSpec("/data", True, "configmap", "dambreak-job:damBreak.sh:damBreak.sh"),
        {
            "configMap": {
                "name": "dambreak-job",
                "items": [{"key": "damBreak.sh", "path": "damBreak.sh"}],
            }
        },
    ),
    (
        "secret:creds",
        VolumeMountSpec("/data", False, "secret", "creds"),
        {"secret": {"secretName": "creds"}},
    ),
    (
        "secret-read:creds:token:sub/token.txt",
        VolumeMountSpec("/data", True, "secret", "creds:token:sub/token.txt"),
        {"secret": {"secretName": "creds", "items": [{"key": "token", "path": "sub/token.txt"}]}},
    ),
]


@pytest.mark.parametrize(("value", "spec", "source"), PARSED, ids=[v for v, _, _ in PARSED])
def test_stage_in_values_map_to_volumes(
    value: str, spec: VolumeMountSpec, source: dict[str, object]
) -> None:
    jt = JobTemplate(stage_in_files={"/data": value})
    [parsed] = get_volume_mounts(jt)
    assert parsed == spec
    volumes, mounts = pod_volumes([parsed], ssh_mount_path="/root/.ssh")
    assert volumes == [{"name": "volume-0", **source}]
    expected_mount: dict[str, object] = {"name": "volume-0", "mountPath": "/data"}
    if spec.read_only:
        expected_mount["readOnly"] = True
    assert mounts == [expected_mount]
    # writing the spec back gives the same string (cm stays cm)
    assert set_volume_mounts(JobTemplate(), [parsed]).stage_in_files == {"/data": value}


MALFORMED = [
    ("/data", "pvc"),
    ("/data", "pvc:"),
    ("/data", "nfs:server:/export"),
    ("/data", "hostpath:/var"),
    ("/data", "pvc:claim:key:path"),
    ("/data", "configmap:cfg:key"),
    ("/data", "configmap:Bad_Name"),
    ("/data", "configmap:cfg:key:/abs"),
    ("/data", "configmap:cfg:key:../up"),
    ("/data", "configmap:cfg:bad key:p"),
    ("data", "pvc:claim"),
    ("/a/../b", "pvc:claim"),
    ("/etc/mpi", "pvc:claim"),
]


@pytest.mark.parametrize(("path", "value"), MALFORMED, ids=[f"{p}={v}" for p, v in MALFORMED])
def test_malformed_entries_fail_naming_the_entry(path: str, value: str) -> None:
    with pytest.raises(InvalidTemplateError) as caught:
        get_volume_mounts(JobTemplate(stage_in_files={path: value}))
    assert caught.value.field == f"stage_in_files[{path!r}]"


def test_set_volume_mounts_keeps_order_and_does_not_mutate() -> None:
    original = JobTemplate(stage_in_files={"/a": "pvc:a"})
    new = set_volume_mounts(
        original,
        [
            VolumeMountSpec(
                "/home/openfoam/storage", False, VolumeType.PVC, "foam-tutorials-claim"
            ),
            VolumeMountSpec(
                "/home/openfoam/scripts", True, "configmap", "dambreak-job:damBreak.sh:damBreak.sh"
            ),
        ],
    )
    assert original.stage_in_files == {"/a": "pvc:a"}
    assert list(new.stage_in_files) == ["/a", "/home/openfoam/storage", "/home/openfoam/scripts"]
    assert [m.mount_path for m in get_volume_mounts(new)] == list(new.stage_in_files)


def test_a_mount_on_the_ssh_path_is_rejected() -> None:
    [spec] = get_volume_mounts(JobTemplate(stage_in_files={"/home/mpi/.ssh": "pvc:keys"}))
    with pytest.raises(InvalidTemplateError, match="SSH"):
        pod_volumes([spec], ssh_mount_path="/home/mpi/.ssh")


def test_set_volume_mounts_rejects_bad_specs() -> None:
    with pytest.raises(InvalidTemplateError):
        set_volume_mounts(JobTemplate(), [VolumeMountSpec("/x", False, "nfs", "server")])
