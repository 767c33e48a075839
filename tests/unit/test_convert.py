"""JobTemplate -> MPIJob: the seed's own cases and one table row per mapping."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_mpi.drmaa2 import (
    InvalidArgumentError,
    InvalidTemplateError,
    JobTemplate,
    UnsupportedAttributeError,
    template_for_task,
)
from airflow_provider_mpi.mpioperator import names as labels
from airflow_provider_mpi.mpioperator.template import (
    set_launcher_resource_limit_extension,
    set_launcher_resource_requests_extension,
    set_run_as_user_extension,
    set_slots_per_worker_extension,
    set_ssh_mount_path_extension,
    set_worker_command_extension,
    set_worker_resource_limit_extension,
    set_worker_resource_requests_extension,
)
from airflow_provider_mpi.mpioperator.template.convert import (
    build_mpi_job,
    convert_job_template_to_mpi_job,
    new_mpi_job,
)
from airflow_provider_mpi.mpioperator.template.volumes import VolumeMountSpec, set_volume_mounts

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
LAUNCHER = "spec.mpiReplicaSpecs.Launcher.template.spec"
WORKER = "spec.mpiReplicaSpecs.Worker.template.spec"


def at(obj: Any, path: str) -> Any:
    """Follow a dotted path (list indexes as numbers); a missing key reads as None."""
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def base(**fields: Any) -> JobTemplate:
    values: dict[str, Any] = {"job_category": "mpioperator/mpi-pi:openmpi", "min_slots": 2}
    values.update(fields)
    return JobTemplate(**values)


def build(jt: JobTemplate, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("namespace", "default")
    return build_mpi_job(jt, now=NOW, **kwargs)


# --------------------------------------------------------------------------- the seed's tests


def test_seed_minimal_job_template() -> None:
    jt = JobTemplate(
        remote_command="echo", args=["hello", "world"], job_category="mpi-launcher", min_slots=2
    )
    spec = convert_job_template_to_mpi_job(jt)
    launcher = spec["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert launcher["command"] == ["echo"]
    assert launcher["args"] == ["hello", "world"]
    assert spec["mpiReplicaSpecs"]["Worker"]["replicas"] == 2


def test_seed_example_job_uses_the_image_entrypoint() -> None:
    spec = convert_job_template_to_mpi_job(
        JobTemplate(job_category="rongou/tensorflow_benchmarks:latest", min_slots=2)
    )
    launcher = spec["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    worker = spec["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    assert "command" not in launcher
    assert "args" not in launcher
    # the seed's bug: an unset workerCommand became command [""]
    assert "command" not in worker
    assert "args" not in worker
    assert worker["image"] == "rongou/tensorflow_benchmarks:latest"


def test_seed_pi_example() -> None:
    jt = JobTemplate(
        job_category="mpioperator/mpi-pi:intel",
        remote_command="",
        args=["mpirun", "-n", "2", "hostname"],
        min_slots=2,
        max_slots=2,
    )
    jt = set_ssh_mount_path_extension(jt, "/home/mpiuser/.ssh")
    jt = set_worker_command_extension(
        jt, "/usr/sbin/sshd", "-De", "-f", "/home/mpiuser/.sshd_config"
    )
    jt = set_run_as_user_extension(jt, 1000)
    jt = set_slots_per_worker_extension(jt, 1)
    job = build(jt)
    launcher = at(job, LAUNCHER + ".containers.0")
    worker = at(job, WORKER + ".containers.0")
    assert launcher["image"] == "mpioperator/mpi-pi:intel"
    assert "command" not in launcher
    assert launcher["args"] == ["mpirun", "-n", "2", "hostname"]
    assert launcher["securityContext"]["runAsUser"] == 1000
    assert worker["securityContext"]["runAsUser"] == 1000
    assert worker["command"] == ["/usr/sbin/sshd"]
    assert worker["args"] == ["-De", "-f", "/home/mpiuser/.sshd_config"]
    assert job["spec"]["sshAuthMountPath"] == "/home/mpiuser/.ssh"
    assert job["spec"]["slotsPerWorker"] == 1


def openfoam_template() -> JobTemplate:
    jt = JobTemplate(
        remote_command="/bin/bash",
        args=["/home/openfoam/scripts/damBreak.sh"],
        job_category="quay.io/openshiftdemos/kubeflow-mpi-openfoam:latest",
    )
    jt = set_launcher_resource_requests_extension(jt, {"cpu": 1, "memory": 1024 * 1024 * 1024})
    jt = set_launcher_resource_limit_extension(jt, {"cpu": 1, "memory": 1024 * 1024 * 1024})
    jt = set_worker_resource_requests_extension(jt, {"cpu": 2})
    jt = set_worker_resource_limit_extension(jt, {"cpu": 2})
    jt = set_volume_mounts(
        jt,
        [
            VolumeMountSpec("/home/openfoam/storage", False, "pvc", "foam-tutorials-claim"),
            VolumeMountSpec(
                "/home/openfoam/scripts", True, "configmap", "dambreak-job:damBreak.sh:damBreak.sh"
            ),
        ],
    )
    jt = set_worker_command_extension(
        jt, "/usr/sbin/sshd", "-De", "-f", "/home/openfoam/.sshd_config"
    )
    jt = set_ssh_mount_path_extension(jt, "/home/openfoam/.ssh")
    jt = set_slots_per_worker_extension(jt, 2)
    return jt.replace(max_slots=2)


@pytest.mark.parametrize("replica", ["Launcher", "Worker"])
def test_seed_openfoam_example(replica: str) -> None:
    spec = convert_job_template_to_mpi_job(openfoam_template())
    assert spec["sshAuthMountPath"] == "/home/openfoam/.ssh"
    assert spec["slotsPerWorker"] == 2
    assert spec["mpiImplementation"] == "Intel"
    replica_spec = spec["mpiReplicaSpecs"][replica]
    assert replica_spec["restartPolicy"] == "Never"
    pod = replica_spec["template"]["spec"]
    [container] = pod["containers"]
    cpu = "1" if replica == "Launcher" else "2"
    assert container["resources"]["requests"]["cpu"] == cpu
    assert container["resources"]["limits"]["cpu"] == cpu
    if replica == "Launcher":
        assert container["command"] == ["/bin/bash"]
        assert container["args"] == ["/home/openfoam/scripts/damBreak.sh"]
        assert container["resources"]["requests"]["memory"] == "1073741824"
    else:
        assert container["command"] == ["/usr/sbin/sshd"]
        assert container["args"] == ["-De", "-f", "/home/openfoam/.sshd_config"]
    assert container["image"] == "quay.io/openshiftdemos/kubeflow-mpi-openfoam:latest"
    # both pods get both volumes (the seed gave the launcher the workers' list)
    assert container["volumeMounts"] == [
        {"name": "volume-0", "mountPath": "/home/openfoam/storage"},
        {"name": "volume-1", "mountPath": "/home/openfoam/scripts", "readOnly": True},
    ]
    assert pod["volumes"] == [
        {"name": "volume-0", "persistentVolumeClaim": {"claimName": "foam-tutorials-claim"}},
        {
            "name": "volume-1",
            "configMap": {
                "name": "dambreak-job",
                "items": [{"key": "damBreak.sh", "path": "damBreak.sh"}],
            },
        },
    ]


def test_seed_unset_template_fails() -> None:
    with pytest.raises(InvalidTemplateError) as caught:
        convert_job_template_to_mpi_job(JobTemplate())
    assert caught.value.field == "job_category"


# --------------------------------------------------------------------------- one row per mapping

DEADLINE = NOW + timedelta(minutes=10, seconds=0.5)

# (id, template, path in the whole MPIJob object, expected value)
MAPPINGS: list[tuple[str, JobTemplate, str, Any]] = [
    ("defaults-implementation", base(), "spec.mpiImplementation", "Intel"),
    ("defaults-slots", base(), "spec.slotsPerWorker", 1),
    ("defaults-ssh", base(), "spec.sshAuthMountPath", "/root/.ssh"),
    ("defaults-backoff", base(), "spec.runPolicy.backoffLimit", 0),
    ("defaults-clean", base(), "spec.runPolicy.cleanPodPolicy", "Running"),
    ("defaults-launcher-replicas", base(), "spec.mpiReplicaSpecs.Launcher.replicas", 1),
    ("defaults-launcher-restart", base(), "spec.mpiReplicaSpecs.Launcher.restartPolicy", "Never"),
    ("defaults-worker-restart", base(), "spec.mpiReplicaSpecs.Worker.restartPolicy", "Never"),
    ("defaults-no-suspend", base(), "spec.runPolicy.suspend", None),
    ("generate-name", base(), "metadata.generateName", "mpijob-"),
    (
        "job_category-launcher",
        base(),
        LAUNCHER + ".containers.0.image",
        "mpioperator/mpi-pi:openmpi",
    ),
    ("job_category-worker", base(), WORKER + ".containers.0.image", "mpioperator/mpi-pi:openmpi"),
    (
        "remote_command",
        base(remote_command="mpirun"),
        LAUNCHER + ".containers.0.command",
        ["mpirun"],
    ),
    (
        "remote_command-not-worker",
        base(remote_command="mpirun"),
        WORKER + ".containers.0.command",
        None,
    ),
    ("args", base(args=["-n", "2"]), LAUNCHER + ".containers.0.args", ["-n", "2"]),
    (
        "working_directory-l",
        base(working_directory="/w"),
        LAUNCHER + ".containers.0.workingDir",
        "/w",
    ),
    (
        "working_directory-w",
        base(working_directory="/w"),
        WORKER + ".containers.0.workingDir",
        "/w",
    ),
    (
        "job_environment-launcher",
        base(job_environment={"B": "2", "A": "1"}),
        LAUNCHER + ".containers.0.env",
        [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    ),
    (
        "job_environment-worker",
        base(job_environment={"TASK_ID": "3"}),
        WORKER + ".containers.0.env",
        [{"name": "TASK_ID", "value": "3"}],
    ),
    ("job_name", base(job_name="pi"), "metadata.name", "pi"),
    ("job_name-no-generate", base(job_name="pi"), "metadata.generateName", None),
    ("min_slots", base(min_slots=3), "spec.mpiReplicaSpecs.Worker.replicas", 3),
    ("max_slots", base(min_slots=2, max_slots=5), "spec.mpiReplicaSpecs.Worker.replicas", 5),
    ("max_slots-only", base(min_slots=0, max_slots=4), "spec.mpiReplicaSpecs.Worker.replicas", 4),
    ("submit_as_hold", base(submit_as_hold=True), "spec.runPolicy.suspend", True),
    (
        "submit_as_hold-annotation",
        base(submit_as_hold=True),
        f"metadata.annotations.{labels.ANNOTATION_HELD}",
        "true",
    ),
    ("re_runnable", base(re_runnable=True), "spec.runPolicy.backoffLimit", 6),
    ("deadline_time", base(deadline_time=DEADLINE), "spec.runPolicy.activeDeadlineSeconds", 601),
    ("queue_name-policy", base(queue_name="gpu"), "spec.runPolicy.schedulingPolicy.queue", "gpu"),
    (
        "queue_name-kueue",
        base(queue_name="gpu"),
        "metadata.labels.kueue.x-k8s.io/queue-name",
        "gpu",
    ),
    (
        "machine_os",
        base(machine_os="Linux"),
        LAUNCHER + ".nodeSelector",
        {"kubernetes.io/os": "linux"},
    ),
    (
        "machine_os-win",
        base(machine_os="WinNT"),
        WORKER + ".nodeSelector",
        {"kubernetes.io/os": "windows"},
    ),
    (
        "machine_arch",
        base(machine_arch="X64"),
        WORKER + ".nodeSelector",
        {"kubernetes.io/arch": "amd64"},
    ),
    (
        "machine_arch-arm",
        base(machine_arch="ARM64"),
        LAUNCHER + ".nodeSelector",
        {"kubernetes.io/arch": "arm64"},
    ),
    (
        "candidate_machines",
        base(candidate_machines=["node-b", "node-a", "node-b"]),
        WORKER + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms.0",
        {
            "matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-a", "node-b"]}
            ]
        },
    ),
    (
        "min_phys_memory",
        base(min_phys_memory=1048576),
        WORKER + ".containers.0.resources.requests.memory",
        "1048576Ki",
    ),
    (
        "min_phys_memory-not-launcher",
        base(min_phys_memory=1024),
        LAUNCHER + ".containers.0.resources",
        None,
    ),
    (
        "accounting_id",
        base(accounting_id="proj-42"),
        f"metadata.labels.{labels.LABEL_ACCOUNTING_ID}",
        "proj-42",
    ),
    ("join_files-accepted", base(join_files=True), "kind", "MPIJob"),
    # the seed's extensions
    (
        "workerImage",
        base(extension_list={"workerImage": "w:2"}),
        WORKER + ".containers.0.image",
        "w:2",
    ),
    (
        "workerImage-launcher-unchanged",
        base(extension_list={"workerImage": "w:2"}),
        LAUNCHER + ".containers.0.image",
        "mpioperator/mpi-pi:openmpi",
    ),
    (
        "workerCommand-entrypoint",
        base(extension_list={"workerCommand": "<!~!>-p<!~!>22"}),
        WORKER + ".containers.0.command",
        None,
    ),
    (
        "workerCommand-args",
        base(extension_list={"workerCommand": "<!~!>-p<!~!>22"}),
        WORKER + ".containers.0.args",
        ["-p", "22"],
    ),
    (
        "workerCommand-single",
        base(extension_list={"workerCommand": "sshd"}),
        WORKER + ".containers.0.command",
        ["sshd"],
    ),
    ("slotsPerWorker", base(extension_list={"slotsPerWorker": "8"}), "spec.slotsPerWorker", 8),
    (
        "mpiImplementation",
        base(extension_list={"mpiImplementation": "openmpi"}),
        "spec.mpiImplementation",
        "OpenMPI",
    ),
    (
        "mpiImplementation-mpich",
        base(extension_list={"mpiImplementation": "MPICH"}),
        "spec.mpiImplementation",
        "MPICH",
    ),
    ("runAsUser-none", base(), LAUNCHER + ".containers.0.securityContext", None),
    # DRMAA2OS extensions
    ("namespace", base(extension_list={"namespace": "team-a"}), "metadata.namespace", "team-a"),
    ("labels", base(extension_list={"labels": "team=hpc"}), "metadata.labels", {"team": "hpc"}),
    (
        "annotations",
        base(extension_list={"annotations": "note=x"}),
        "metadata.annotations.note",
        "x",
    ),
    (
        "node-selectors",
        base(extension_list={"node-selectors": "disk=ssd"}),
        WORKER + ".nodeSelector",
        {"disk": "ssd"},
    ),
    (
        "scheduler",
        base(extension_list={"scheduler": "volcano"}),
        LAUNCHER + ".schedulerName",
        "volcano",
    ),
    (
        "privileged",
        base(extension_list={"privileged": "TRUE"}),
        WORKER + ".containers.0.securityContext",
        {"privileged": True},
    ),
    (
        "pullpolicy",
        base(extension_list={"pullpolicy": "always"}),
        LAUNCHER + ".containers.0.imagePullPolicy",
        "Always",
    ),
    (
        "imagepullsecrets",
        base(extension_list={"imagepullsecrets": "a,b"}),
        WORKER + ".imagePullSecrets",
        [{"name": "a"}, {"name": "b"}],
    ),
    (
        "service-account-name",
        base(extension_list={"service-account-name": "sa"}),
        LAUNCHER + ".serviceAccountName",
        "sa",
    ),
    (
        "runasgroup",
        base(extension_list={"runasgroup": "10"}),
        WORKER + ".containers.0.securityContext",
        {"runAsGroup": 10},
    ),
    (
        "fsgroup",
        base(extension_list={"fsgroup": "20"}),
        WORKER + ".securityContext",
        {"fsGroup": 20},
    ),
    (
        "env-from",
        base(extension_list={"env-from-secret": "s", "env-from-configmap": "c"}),
        WORKER + ".containers.0.envFrom",
        [{"configMapRef": {"name": "c"}}, {"secretRef": {"name": "s"}}],
    ),
    (
        "accelerator",
        base(extension_list={"accelerator": "2*t4"}),
        WORKER + ".containers.0.resources.limits",
        {"nvidia.com/gpu": "2"},
    ),
    (
        "accelerator-not-launcher",
        base(extension_list={"accelerator": "2*t4"}),
        LAUNCHER + ".containers.0.resources",
        None,
    ),
    (
        "accelerator-gke",
        base(extension_list={"accelerator": "1*nvidia-tesla-t4", "distribution": "gke"}),
        WORKER + ".nodeSelector",
        {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"},
    ),
    (
        "accelerator-aks",
        base(extension_list={"accelerator": "1*v100", "distribution": "aks"}),
        WORKER + ".tolerations",
        [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
    ),
    (
        "ttlsecondsafterfinished",
        base(extension_list={"ttlsecondsafterfinished": "600"}),
        "spec.runPolicy.ttlSecondsAfterFinished",
        600,
    ),
    # MPIJob settings
    (
        "launcherCreationPolicy",
        base(extension_list={"launcherCreationPolicy": "WaitForWorkersReady"}),
        "spec.launcherCreationPolicy",
        "WaitForWorkersReady",
    ),
    (
        "runLauncherAsWorker",
        base(extension_list={"runLauncherAsWorker": "true"}),
        "spec.runLauncherAsWorker",
        True,
    ),
    (
        "cleanPodPolicy",
        base(extension_list={"cleanPodPolicy": "none"}),
        "spec.runPolicy.cleanPodPolicy",
        "None",
    ),
    (
        "priorityClassName",
        base(extension_list={"priorityClassName": "high"}),
        WORKER + ".priorityClassName",
        "high",
    ),
    ("backoffLimit", base(extension_list={"backoffLimit": "2"}), "spec.runPolicy.backoffLimit", 2),
    (
        "backoffLimit-wins",
        base(re_runnable=True, extension_list={"backoffLimit": "1"}),
        "spec.runPolicy.backoffLimit",
        1,
    ),
    (
        "kueueQueue",
        base(extension_list={"kueueQueue": "lq"}),
        "metadata.labels.kueue.x-k8s.io/queue-name",
        "lq",
    ),
    (
        "kueueQueue-no-policy",
        base(extension_list={"kueueQueue": "lq"}),
        "spec.runPolicy.schedulingPolicy",
        None,
    ),
]


def _lookup(job: dict[str, Any], path: str) -> Any:
    # label keys contain dots: look them up whole
    for prefix in ("metadata.labels.", "metadata.annotations."):
        if path.startswith(prefix):
            return at(job, prefix[:-1]).get(path[len(prefix) :]) if at(job, prefix[:-1]) else None
    return at(job, path)


@pytest.mark.parametrize(
    ("jt", "path", "expected"), [row[1:] for row in MAPPINGS], ids=[row[0] for row in MAPPINGS]
)
def test_field_and_extension_mappings(jt: JobTemplate, path: str, expected: Any) -> None:
    before = jt.to_dict()
    job = build(jt)
    assert _lookup(job, path) == expected
    assert jt.to_dict() == before, "the template must not change"


# (field, value): fields an MPIJob cannot honour
UNSUPPORTED: list[tuple[str, Any]] = [
    ("email", ["a@example.com"]),
    ("email_on_started", True),
    ("email_on_terminated", True),
    ("input_path", "/in"),
    ("output_path", "/out"),
    ("error_path", "/err"),
    ("reservation_id", "r1"),
    ("start_time", NOW + timedelta(hours=1)),
    ("stage_out_files", {"/out": "pvc:x"}),
    ("resource_limits", {"CPU_TIME": "10"}),
    ("priority", 5),
    ("machine_os", "AIX"),
    ("machine_arch", "SPARC64"),
]


@pytest.mark.parametrize(("field", "value"), UNSUPPORTED, ids=[f for f, _ in UNSUPPORTED])
def test_unsupported_fields_are_rejected_by_name(field: str, value: Any) -> None:
    with pytest.raises(UnsupportedAttributeError) as caught:
        build(base(**{field: value}))
    assert caught.value.field == field


# (id, template, field named in the error)
INVALID: list[tuple[str, JobTemplate, str]] = [
    ("no-category", base(job_category=""), "job_category"),
    ("space-category", base(job_category="my image"), "job_category"),
    ("no-workers", base(min_slots=0), "min_slots"),
    ("negative-workers", base(min_slots=-1), "min_slots"),
    ("max-below-min", base(min_slots=4, max_slots=2), "max_slots"),
    ("bad-name", base(job_name="Pi_Job"), "job_name"),
    ("name-digit", base(job_name="1pi"), "job_name"),
    ("name-too-long", base(job_name="a" * 55, min_slots=10), "job_name"),
    ("deadline-past", base(deadline_time=NOW - timedelta(seconds=1)), "deadline_time"),
    ("env-name", base(job_environment={"1BAD": "x"}), "job_environment"),
    ("queue", base(queue_name="has space"), "queue_name"),
    ("accounting", base(accounting_id="not a label"), "accounting_id"),
    ("candidate", base(candidate_machines=["bad host"]), "candidate_machines"),
    ("memory-negative", base(min_phys_memory=-1), "min_phys_memory"),
    (
        "memory-twice",
        base(min_phys_memory=1024, extension_list={"resourceRequestWorker-memory": "1Gi"}),
        "min_phys_memory",
    ),
    (
        "os-conflict",
        base(machine_os="linux", extension_list={"node-selectors": "kubernetes.io/os=windows"}),
        "machine_os",
    ),
    (
        "request-over-limit",
        base(extension_list={"resourceRequestWorker-cpu": "2", "resourceLimitWorker-cpu": "1"}),
        "resourceRequestWorker-cpu",
    ),
    (
        "extended-without-limit",
        base(extension_list={"resourceRequestWorker-example.com/fpga": "1"}),
        "resourceRequestWorker-example.com/fpga",
    ),
    (
        "gpu-fraction",
        base(extension_list={"resourceLimitWorker-nvidia.com/gpu": "500m"}),
        "resourceLimitWorker-nvidia.com/gpu",
    ),
    (
        "bad-quantity",
        base(extension_list={"resourceLimitLauncher-memory": "1 GB"}),
        "resourceLimitLauncher-memory",
    ),
    ("bad-slots", base(extension_list={"slotsPerWorker": "x"}), "slotsPerWorker"),
    ("bad-mpi", base(extension_list={"mpiImplementation": "LAM"}), "mpiImplementation"),
    ("bad-user", base(extension_list={"runAsUser": "root"}), "runAsUser"),
    ("bad-volume", base(stage_in_files={"/d": "nfs:server:/x"}), "stage_in_files['/d']"),
    (
        "volume-on-ssh",
        base(stage_in_files={"/root/.ssh": "pvc:keys"}),
        "stage_in_files['/root/.ssh']",
    ),
    (
        "gke-accelerator-conflict",
        base(
            extension_list={
                "accelerator": "1*t4",
                "distribution": "gke",
                "node-selectors": "cloud.google.com/gke-accelerator=a100",
            }
        ),
        "extension_list['accelerator']",
    ),
    (
        "kueue-vs-queue",
        base(queue_name="a", extension_list={"kueueQueue": "b"}),
        "extension_list['kueueQueue']",
    ),
    ("naive-deadline", base(deadline_time=datetime(2030, 1, 1)), "deadline_time"),
    ("wrong-type", base(min_slots="2"), "min_slots"),
    ("wrong-list", base(args="mpirun -n 2"), "args"),
]


@pytest.mark.parametrize(
    ("jt", "field"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID]
)
def test_invalid_templates_fail_naming_the_field(jt: JobTemplate, field: str) -> None:
    with pytest.raises(InvalidTemplateError) as caught:
        build(jt)
    assert caught.value.field == field
    assert field.split("[")[0] in str(caught.value)


def test_unknown_extension_fails_before_anything_is_built() -> None:
    with pytest.raises(UnsupportedAttributeError, match="did you mean 'workerImage'"):
        build(base(extension_list={"workerimage": "x"}))


def test_job_name_at_the_length_limit() -> None:
    # "<name>-worker-<n-1>" must fit 63 characters: with 10 workers, 54 for the name
    assert build(base(job_name="a" * 54, min_slots=10))["metadata"]["name"] == "a" * 54
    with pytest.raises(InvalidTemplateError):
        build(base(job_name="a" * 55, min_slots=10))


def test_build_metadata_precedence_and_template_annotation() -> None:
    jt = base(
        job_name="pi",
        extension_list={"labels": "a=ext,b=ext", "annotations": "x=ext", "namespace": "team"},
    )
    job = build(jt, namespace="tracker", labels={"b": "arg"}, annotations={"x": "arg", "y": "arg"})
    assert job["apiVersion"] == "kubeflow.org/v2beta1"
    assert job["kind"] == "MPIJob"
    assert job["metadata"]["namespace"] == "team"  # the extension wins over the tracker's namespace
    assert job["metadata"]["labels"] == {"a": "ext", "b": "arg"}
    assert job["metadata"]["annotations"]["x"] == "arg"
    assert (
        JobTemplate.from_json(job["metadata"]["annotations"][labels.ANNOTATION_JOB_TEMPLATE]) == jt
    )
    assert build(base(), namespace="tracker")["metadata"]["namespace"] == "tracker"


def test_build_name_argument_wins_and_is_checked() -> None:
    assert build(base(job_name="pi"), name="pi-3")["metadata"]["name"] == "pi-3"
    with pytest.raises(InvalidArgumentError) as caught:
        build(base(min_slots=10), name="a" * 60)
    assert caught.value.field == "name"


def test_array_task_environment_reaches_every_pod() -> None:
    job = build(template_for_task(base(job_name="arr"), 7), name="arr-7")
    for path in (LAUNCHER, WORKER):
        assert {"name": "TASK_ID", "value": "7"} in at(job, path + ".containers.0.env")


def test_new_mpi_job_wraps_a_spec() -> None:
    spec = convert_job_template_to_mpi_job(base())
    job = new_mpi_job(spec, namespace="ns", labels={"k": "v"}, annotations={"a": "b"})
    assert job == {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {
            "generateName": "mpijob-",
            "namespace": "ns",
            "labels": {"k": "v"},
            "annotations": {"a": "b"},
        },
        "spec": spec,
    }
    assert job["spec"] is not spec
    assert new_mpi_job(spec, name="x", generate_name="y-")["metadata"] == {"name": "x"}
    assert new_mpi_job(spec, generate_name="pi-")["metadata"] == {"generateName": "pi-"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Bad"}, "name"),
        ({"generate_name": "Bad-"}, "generate_name"),
        ({"namespace": "Bad_NS"}, "namespace"),
        ({"labels": {"k": "bad value"}}, "labels"),
        ({"annotations": {"bad key!": "v"}}, "annotations"),
    ],
)
def test_new_mpi_job_rejects_bad_metadata(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        new_mpi_job({}, **kwargs)
    assert caught.value.field == field


def test_output_is_plain_json_and_deterministic() -> None:
    jt = openfoam_template().replace(job_environment={"Z": "1", "A": "2"}, job_name="foam")
    first = build(jt)
    assert json.loads(json.dumps(first)) == first
    assert json.dumps(build(jt)) == json.dumps(first)
