"""JobTemplate extensions: defaults, round trips, Go-written values, malformed values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mpi.drmaa2 import InvalidTemplateError, JobTemplate, UnsupportedAttributeError
from airflow_provider_mpi.mpioperator import template as ext
from airflow_provider_mpi.mpioperator import template as k8s
from airflow_provider_mpi.mpioperator import template as pol


def template(**extensions: str) -> JobTemplate:
    return JobTemplate(job_category="img", min_slots=1, extension_list=dict(extensions))


# (getter, value when unset) -- the seed's defaults, with None where the seed used "" or -1.
DEFAULTS: list[tuple[Callable[[JobTemplate], Any], Any]] = [
    (ext.get_worker_image_extension, None),
    (ext.get_worker_command_extension, None),
    (ext.get_slots_per_worker_extension, 1),
    (ext.get_mpi_implementation_extension, ext.MPIImplementation.INTEL),
    (ext.get_ssh_mount_path_extension, "/root/.ssh"),
    (ext.get_run_as_user_extension, None),
    (ext.get_launcher_resource_requests_extension, {}),
    (ext.get_launcher_resource_limit_extension, {}),
    (ext.get_worker_resource_requests_extension, {}),
    (ext.get_worker_resource_limit_extension, {}),
    (k8s.get_namespace_extension, None),
    (k8s.get_labels_extension, {}),
    (k8s.get_annotations_extension, {}),
    (k8s.get_node_selectors_extension, {}),
    (k8s.get_kueue_queue_extension, None),
    (k8s.get_service_account_name_extension, None),
    (k8s.get_scheduler_extension, None),
    (k8s.get_priority_class_name_extension, None),
    (k8s.get_image_pull_secrets_extension, []),
    (k8s.get_image_pull_policy_extension, None),
    (k8s.get_privileged_extension, False),
    (k8s.get_run_as_group_extension, None),
    (k8s.get_fs_group_extension, None),
    (k8s.get_env_from_secret_extension, []),
    (k8s.get_env_from_configmap_extension, []),
    (pol.get_distribution_extension, None),
    (pol.get_accelerator_extension, None),
    (pol.get_ttl_seconds_after_finished_extension, None),
    (pol.get_backoff_limit_extension, None),
    (pol.get_clean_pod_policy_extension, pol.CleanPodPolicy.RUNNING),
    (pol.get_launcher_creation_policy_extension, None),
    (pol.get_run_launcher_as_worker_extension, None),
]


@pytest.mark.parametrize(("getter", "default"), DEFAULTS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize(
    "jt",
    [
        JobTemplate(),
        template(),
        template(workerImage=""),  # set but empty is unset, as in Go
        template(slotsPerWorker="", sshMountPath="", mpiImplementation="", runAsUser=""),
    ],
    ids=["no-extensions", "empty-list", "other-key-empty", "all-empty"],
)
def test_unset_extensions_read_as_the_default(
    getter: Callable[[JobTemplate], Any], default: Any, jt: JobTemplate
) -> None:
    assert getter(jt) == default


# (setter, argument(s), getter, expected read back, stored string(s))
ROUND_TRIPS: list[
    tuple[Callable[..., JobTemplate], tuple[Any, ...], Callable[..., Any], Any, dict[str, str]]
] = [
    (
        ext.set_worker_image_extension,
        ("w:1",),
        ext.get_worker_image_extension,
        "w:1",
        {"workerImage": "w:1"},
    ),
    (
        ext.set_worker_command_extension,
        ("/usr/sbin/sshd", "-De", "-f", "/home/mpiuser/.sshd_config"),
        ext.get_worker_command_extension,
        ["/usr/sbin/sshd", "-De", "-f", "/home/mpiuser/.sshd_config"],
        {"workerCommand": "/usr/sbin/sshd<!~!>-De<!~!>-f<!~!>/home/mpiuser/.sshd_config"},
    ),
    (
        ext.set_worker_command_extension,
        ("", "--port", "2222"),
        ext.get_worker_command_extension,
        ["", "--port", "2222"],
        {"workerCommand": "<!~!>--port<!~!>2222"},
    ),
    (
        ext.set_slots_per_worker_extension,
        (4,),
        ext.get_slots_per_worker_extension,
        4,
        {"slotsPerWorker": "4"},
    ),
    (
        ext.set_mpi_implementation_extension,
        ("openmpi",),
        ext.get_mpi_implementation_extension,
        ext.MPIImplementation.OPEN_MPI,
        {"mpiImplementation": "OpenMPI"},
    ),
    (
        ext.set_mpi_implementation_extension,
        (ext.MPIImplementation.MPICH,),
        ext.get_mpi_implementation_extension,
        ext.MPIImplementation.MPICH,
        {"mpiImplementation": "MPICH"},
    ),
    (
        ext.set_ssh_mount_path_extension,
        ("/home/mpiuser/.ssh",),
        ext.get_ssh_mount_path_extension,
        "/home/mpiuser/.ssh",
        {"sshMountPath": "/home/mpiuser/.ssh"},
    ),
    (
        ext.set_run_as_user_extension,
        (1000,),
        ext.get_run_as_user_extension,
        1000,
        {"runAsUser": "1000"},
    ),
    (ext.set_run_as_user_extension, (0,), ext.get_run_as_user_extension, 0, {"runAsUser": "0"}),
    (
        ext.set_launcher_resource_requests_extension,
        ({"cpu": 1, "memory": "1Gi"},),
        ext.get_launcher_resource_requests_extension,
        {"cpu": "1", "memory": "1Gi"},
        {"resourceRequestLauncher-cpu": "1", "resourceRequestLauncher-memory": "1Gi"},
    ),
    (
        ext.set_launcher_resource_limit_extension,
        ({"cpu": "500m"},),
        ext.get_launcher_resource_limit_extension,
        {"cpu": "500m"},
        {"resourceLimitLauncher-cpu": "500m"},
    ),
    (
        ext.set_worker_resource_requests_extension,
        ({"nvidia.com/gpu": 1, "ephemeral-storage": "10G"},),
        ext.get_worker_resource_requests_extension,
        {"ephemeral-storage": "10G", "nvidia.com/gpu": "1"},
        {
            "resourceRequestWorker-nvidia.com/gpu": "1",
            "resourceRequestWorker-ephemeral-storage": "10G",
        },
    ),
    (
        ext.set_worker_resource_limit_extension,
        ({"memory": "1.5e9"},),
        ext.get_worker_resource_limit_extension,
        {"memory": "1.5e9"},
        {"resourceLimitWorker-memory": "1.5e9"},
    ),
    (
        k8s.set_namespace_extension,
        ("team-a",),
        k8s.get_namespace_extension,
        "team-a",
        {"namespace": "team-a"},
    ),
    (
        k8s.set_labels_extension,
        ({"b": "2", "airflow-provider-mpi/dag-id": "etl"},),
        k8s.get_labels_extension,
        {"airflow-provider-mpi/dag-id": "etl", "b": "2"},
        {"labels": "airflow-provider-mpi/dag-id=etl,b=2"},
    ),
    (
        k8s.set_annotations_extension,
        ({"note": "a, b=c", "x": "1"},),
        k8s.get_annotations_extension,
        {"note": "a, b=c", "x": "1"},
        {"annotations": '{"note":"a, b=c","x":"1"}'},
    ),
    (
        k8s.set_node_selectors_extension,
        ({"kubernetes.io/hostname": "node1", "mylabel": "myvalue"},),
        k8s.get_node_selectors_extension,
        {"kubernetes.io/hostname": "node1", "mylabel": "myvalue"},
        {"node-selectors": "kubernetes.io/hostname=node1,mylabel=myvalue"},
    ),
    (
        k8s.set_kueue_queue_extension,
        ("team-q",),
        k8s.get_kueue_queue_extension,
        "team-q",
        {"kueueQueue": "team-q"},
    ),
    (
        k8s.set_service_account_name_extension,
        ("mpi-runner",),
        k8s.get_service_account_name_extension,
        "mpi-runner",
        {"service-account-name": "mpi-runner"},
    ),
    (
        k8s.set_scheduler_extension,
        ("volcano",),
        k8s.get_scheduler_extension,
        "volcano",
        {"scheduler": "volcano"},
    ),
    (
        k8s.set_priority_class_name_extension,
        ("high",),
        k8s.get_priority_class_name_extension,
        "high",
        {"priorityClassName": "high"},
    ),
    (
        k8s.set_image_pull_secrets_extension,
        (["reg-a", "reg-b"],),
        k8s.get_image_pull_secrets_extension,
        ["reg-a", "reg-b"],
        {"imagepullsecrets": "reg-a,reg-b"},
    ),
    (
        k8s.set_image_pull_policy_extension,
        ("ifnotpresent",),
        k8s.get_image_pull_policy_extension,
        k8s.ImagePullPolicy.IF_NOT_PRESENT,
        {"pullpolicy": "IfNotPresent"},
    ),
    (
        k8s.set_privileged_extension,
        (True,),
        k8s.get_privileged_extension,
        True,
        {"privileged": "true"},
    ),
    (
        k8s.set_privileged_extension,
        (False,),
        k8s.get_privileged_extension,
        False,
        {"privileged": "false"},
    ),
    (
        k8s.set_run_as_group_extension,
        (100,),
        k8s.get_run_as_group_extension,
        100,
        {"runasgroup": "100"},
    ),
    (k8s.set_fs_group_extension, (2000,), k8s.get_fs_group_extension, 2000, {"fsgroup": "2000"}),
    (
        k8s.set_env_from_secret_extension,
        (["s1", "s2"],),
        k8s.get_env_from_secret_extension,
        ["s1", "s2"],
        {"env-from-secret": "s1:s2"},
    ),
    (
        k8s.set_env_from_configmap_extension,
        (["c1"],),
        k8s.get_env_from_configmap_extension,
        ["c1"],
        {"env-from-configmap": "c1"},
    ),
    (
        pol.set_distribution_extension,
        ("GKE",),
        pol.get_distribution_extension,
        pol.Distribution.GKE,
        {"distribution": "gke"},
    ),
    (
        pol.set_accelerator_extension,
        (2, "nvidia-tesla-t4"),
        pol.get_accelerator_extension,
        pol.Accelerator(2, "nvidia-tesla-t4"),
        {"accelerator": "2*nvidia-tesla-t4"},
    ),
    (
        pol.set_ttl_seconds_after_finished_extension,
        (600,),
        pol.get_ttl_seconds_after_finished_extension,
        600,
        {"ttlsecondsafterfinished": "600"},
    ),
    (
        pol.set_backoff_limit_extension,
        (3,),
        pol.get_backoff_limit_extension,
        3,
        {"backoffLimit": "3"},
    ),
    (
        pol.set_clean_pod_policy_extension,
        ("all",),
        pol.get_clean_pod_policy_extension,
        pol.CleanPodPolicy.ALL,
        {"cleanPodPolicy": "All"},
    ),
    (
        pol.set_launcher_creation_policy_extension,
        ("waitforworkersready",),
        pol.get_launcher_creation_policy_extension,
        pol.LauncherCreationPolicy.WAIT_FOR_WORKERS_READY,
        {"launcherCreationPolicy": "WaitForWorkersReady"},
    ),
    (
        pol.set_run_launcher_as_worker_extension,
        (True,),
        pol.get_run_launcher_as_worker_extension,
        True,
        {"runLauncherAsWorker": "true"},
    ),
]


@pytest.mark.parametrize(
    ("setter", "args", "getter", "expected", "stored"),
    ROUND_TRIPS,
    ids=[f"{row[0].__name__}-{i}" for i, row in enumerate(ROUND_TRIPS)],
)
def test_set_then_get_round_trips_and_stores_the_go_string(
    setter: Callable[..., JobTemplate],
    args: tuple[Any, ...],
    getter: Callable[[JobTemplate], Any],
    expected: Any,
    stored: dict[str, str],
) -> None:
    original = template()
    before = original.to_dict()
    new = setter(original, *args)
    assert getter(new) == expected
    assert new.extension_list == stored
    # the argument is left untouched
    assert original.to_dict() == before
    assert original.extension_list == {}
    # a value read from Go JSON reads the same
    assert getter(JobTemplate.from_json(new.to_json())) == expected


def test_go_written_values_read_back_the_same() -> None:
    # As the Go seed marshals the OpenFoam template (json.Marshal of drmaa2interface.JobTemplate).
    go_json = """{"extension":{"extensionList":{
        "resourceLimitLauncher-cpu":"1","resourceLimitLauncher-memory":"1Gi",
        "resourceLimitWorker-cpu":"2","resourceRequestLauncher-cpu":"1",
        "resourceRequestLauncher-memory":"1Gi","resourceRequestWorker-cpu":"2",
        "slotsPerWorker":"2","sshMountPath":"/home/openfoam/.ssh",
        "workerCommand":"/usr/sbin/sshd<!~!>-De<!~!>-f<!~!>/home/openfoam/.sshd_config"}},
      "remoteCommand":"/bin/bash","args":["/home/openfoam/scripts/damBreak.sh"],
      "jobCategory":"quay.io/openshiftdemos/kubeflow-mpi-openfoam:latest","maxSlots":2,
      "stageInFiles":{"/home/openfoam/scripts":"configmap-read:dambreak-job:damBreak.sh:damBreak.sh",
                      "/home/openfoam/storage":"pvc:foam-tutorials-claim"}}"""
    jt = JobTemplate.from_json(go_json)
    assert ext.get_worker_command_extension(jt) == [
        "/usr/sbin/sshd",
        "-De",
        "-f",
        "/home/openfoam/.sshd_config",
    ]
    assert ext.get_slots_per_worker_extension(jt) == 2
    assert ext.get_ssh_mount_path_extension(jt) == "/home/openfoam/.ssh"
    assert ext.get_launcher_resource_requests_extension(jt) == {"cpu": "1", "memory": "1Gi"}
    assert ext.get_launcher_resource_limit_extension(jt) == {"cpu": "1", "memory": "1Gi"}
    assert ext.get_worker_resource_requests_extension(jt) == {"cpu": "2"}
    assert ext.get_worker_resource_limit_extension(jt) == {"cpu": "2"}
    assert ext.get_mpi_implementation_extension(jt) is ext.MPIImplementation.INTEL


# (extension key, malformed value): the getter must fail naming both.
MALFORMED: list[tuple[str, str, Callable[[JobTemplate], Any]]] = [
    ("slotsPerWorker", "two", ext.get_slots_per_worker_extension),
    ("slotsPerWorker", "0", ext.get_slots_per_worker_extension),
    ("slotsPerWorker", "2147483648", ext.get_slots_per_worker_extension),
    ("mpiImplementation", "MVAPICH", ext.get_mpi_implementation_extension),
    ("sshMountPath", "relative/.ssh", ext.get_ssh_mount_path_extension),
    ("runAsUser", "root", ext.get_run_as_user_extension),
    ("runAsUser", "-1", ext.get_run_as_user_extension),
    ("resourceRequestWorker-cpu", "two", ext.get_worker_resource_requests_extension),
    ("resourceRequestWorker-memory", "1 Gi", ext.get_worker_resource_requests_extension),
    ("resourceLimitWorker-memory", "-1Gi", ext.get_worker_resource_limit_extension),
    ("resourceLimitLauncher-cpu", "1.2.3", ext.get_launcher_resource_limit_extension),
    ("resourceRequestLauncher-bad name", "1", ext.get_launcher_resource_requests_extension),
    ("namespace", "Team_A", k8s.get_namespace_extension),
    ("labels", "novalue", k8s.get_labels_extension),
    ("labels", "key=bad value", k8s.get_labels_extension),
    ("labels", "-bad=1", k8s.get_labels_extension),
    ("labels", "{not json", k8s.get_labels_extension),
    ("annotations", '{"k": 1}', k8s.get_annotations_extension),
    ("node-selectors", "a=b=c", k8s.get_node_selectors_extension),
    ("kueueQueue", "q/with/slash", k8s.get_kueue_queue_extension),
    ("service-account-name", "Bad_Name", k8s.get_service_account_name_extension),
    ("scheduler", "no spaces", k8s.get_scheduler_extension),
    ("priorityClassName", "UPPER", k8s.get_priority_class_name_extension),
    ("imagepullsecrets", "ok,Not_Ok", k8s.get_image_pull_secrets_extension),
    ("pullpolicy", "sometimes", k8s.get_image_pull_policy_extension),
    ("privileged", "yes please", k8s.get_privileged_extension),
    ("runasgroup", "wheel", k8s.get_run_as_group_extension),
    ("fsgroup", "1.5", k8s.get_fs_group_extension),
    ("env-from-secret", "a:B", k8s.get_env_from_secret_extension),
    ("env-from-configmap", "c_1", k8s.get_env_from_configmap_extension),
    ("distribution", "openshift", pol.get_distribution_extension),
    ("accelerator", "nvidia-tesla-t4", pol.get_accelerator_extension),
    ("accelerator", "0*nvidia-tesla-t4", pol.get_accelerator_extension),
    ("accelerator", "two*t4", pol.get_accelerator_extension),
    ("ttlsecondsafterfinished", "-5", pol.get_ttl_seconds_after_finished_extension),
    ("backoffLimit", "many", pol.get_backoff_limit_extension),
    ("cleanPodPolicy", "Sometimes", pol.get_clean_pod_policy_extension),
    ("launcherCreationPolicy", "Later", pol.get_launcher_creation_policy_extension),
    ("runLauncherAsWorker", "maybe", pol.get_run_launcher_as_worker_extension),
]


@pytest.mark.parametrize(
    ("key", "value", "getter"), MALFORMED, ids=[f"{k}={v}" for k, v, _ in MALFORMED]
)
def test_malformed_values_fail_naming_the_extension_and_value(
    key: str, value: str, getter: Callable[[JobTemplate], Any]
) -> None:
    with pytest.raises(InvalidTemplateError) as caught:
        getter(template(**{key: value}))
    assert caught.value.field == key
    assert caught.value.value == value
    assert key in str(caught.value)


SETTER_ERRORS: list[tuple[Callable[..., JobTemplate], tuple[Any, ...], str]] = [
    (ext.set_slots_per_worker_extension, (0,), "slotsPerWorker"),
    (ext.set_mpi_implementation_extension, ("LAM",), "mpiImplementation"),
    (ext.set_ssh_mount_path_extension, ("~/.ssh",), "sshMountPath"),
    (ext.set_run_as_user_extension, (-1,), "runAsUser"),
    (ext.set_worker_command_extension, ("a<!~!>b",), "workerCommand"),
    (ext.set_worker_resource_requests_extension, ({"cpu": "lots"},), "resourceRequestWorker-cpu"),
    (k8s.set_labels_extension, ({"k": "v w"},), "labels"),
    (pol.set_accelerator_extension, (0, "t4"), "accelerator"),
    (pol.set_backoff_limit_extension, (-1,), "backoffLimit"),
]


@pytest.mark.parametrize(
    ("setter", "args", "field"), SETTER_ERRORS, ids=[f for _, _, f in SETTER_ERRORS]
)
def test_setters_reject_bad_values_at_once(
    setter: Callable[..., JobTemplate], args: tuple[Any, ...], field: str
) -> None:
    original = template()
    with pytest.raises(InvalidTemplateError) as caught:
        setter(original, *args)
    assert caught.value.field == field
    assert original.extension_list == {}


def test_labels_accept_a_json_object_and_sort() -> None:
    jt = template(labels='{"z": "1", "a": "2"}')
    assert list(k8s.get_labels_extension(jt).items()) == [("a", "2"), ("z", "1")]


def test_drmaa2os_spellings_are_aliases() -> None:
    jt = template(runasuser="1000", **{"env-from-secrets": "a:b", "env-from-configmaps": "c"})
    assert ext.get_run_as_user_extension(jt) == 1000
    assert k8s.get_env_from_secret_extension(jt) == ["a", "b"]
    assert k8s.get_env_from_configmap_extension(jt) == ["c"]
    ext.check_extension_keys(jt)
    # writing the canonical key drops the alias, so it cannot shadow the new value
    new = ext.set_run_as_user_extension(jt, 7)
    assert "runasuser" not in new.extension_list
    assert ext.get_run_as_user_extension(new) == 7


def test_alias_and_canonical_with_different_values_conflict() -> None:
    with pytest.raises(InvalidTemplateError) as caught:
        ext.get_run_as_user_extension(template(runAsUser="1", runasuser="2"))
    assert caught.value.field == "runAsUser"


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("workerImg", "workerImage"),
        ("slotPerWorker", "slotsPerWorker"),
        ("resourceRequestWorker", "resourceRequestWorker-"),
        ("DRMAA2_JOB_OUTPUT_IN_JOBINFO", None),
    ],
)
def test_unknown_extension_keys_are_rejected_with_a_hint(key: str, hint: str | None) -> None:
    with pytest.raises(UnsupportedAttributeError) as caught:
        ext.check_extension_keys(template(**{key: "x"}))
    assert key in caught.value.field
    if hint is not None:
        assert f"did you mean {hint!r}" in str(caught.value)


def test_resource_families_stay_open() -> None:
    ext.check_extension_keys(
        template(
            **{
                "resourceRequestWorker-example.com/fpga": "1",
                "resourceLimitWorker-example.com/fpga": "1",
                "resourceRequestLauncher-hugepages-2Mi": "4Mi",
                "resourceLimitLauncher-hugepages-2Mi": "4Mi",
            }
        )
    )


def test_setting_an_empty_worker_command_removes_it() -> None:
    jt = ext.set_worker_command_extension(template(workerCommand="sshd"))
    assert "workerCommand" not in jt.extension_list
    assert ext.get_worker_command_extension(jt) is None


_label_part = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?", fullmatch=True)
_dns_part = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
_label_keys = st.one_of(_label_part, st.builds(lambda p, n: f"{p}.io/{n}", _dns_part, _label_part))


@settings(max_examples=100, deadline=None)
@given(
    labels=st.dictionaries(_label_keys, st.one_of(st.just(""), _label_part), max_size=4),
    annotations=st.dictionaries(_label_keys, st.text(max_size=20), max_size=4),
)
def test_maps_round_trip_through_their_string_syntax(
    labels: dict[str, str], annotations: dict[str, str]
) -> None:
    jt = k8s.set_labels_extension(template(), labels)
    jt = k8s.set_annotations_extension(jt, annotations)
    jt = k8s.set_node_selectors_extension(jt, labels)
    assert k8s.get_labels_extension(jt) == labels
    assert k8s.get_annotations_extension(jt) == annotations
    assert k8s.get_node_selectors_extension(jt) == labels
    again = JobTemplate.from_json(jt.to_json())
    assert k8s.get_annotations_extension(again) == annotations
