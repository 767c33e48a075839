"""The objects the MPI operator creates for an MPIJob, built as upstream does.

Pure functions from a defaulted MPIJob to the Service, the ConfigMap with the
hostfile, the SSH Secret, the worker pods and the launcher Job, with the
upstream names, labels, environment and volumes; plus the defaults the API
server would add to pods and Jobs, since the store does not default objects.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from airflow_provider_mpi.testing.controller.meta import JSONDict, owner_reference
from airflow_provider_mpi.testing.controller.validation import MPIImplementation, ReplicaType
from airflow_provider_mpi.testing.store import copy_json

__all__ = [
    "JOB_NAME_LABEL",
    "JOB_ROLE_LABEL",
    "OPERATOR_NAME",
    "OPERATOR_NAME_LABEL",
    "REPLICA_INDEX_LABEL",
    "apply_pod_defaults",
    "default_labels",
    "new_config_map",
    "new_launcher_job",
    "new_service",
    "new_ssh_secret",
    "new_worker",
    "qos_class",
    "worker_name",
]

OPERATOR_NAME = "mpi-operator"
OPERATOR_NAME_LABEL = "training.kubeflow.org/operator-name"
JOB_NAME_LABEL = "training.kubeflow.org/job-name"
JOB_ROLE_LABEL = "training.kubeflow.org/job-role"
REPLICA_INDEX_LABEL = "training.kubeflow.org/replica-index"
CONFIG_MOUNT_PATH = "/etc/mpi"
HOSTFILE = "hostfile"
DISCOVER_HOSTS = "discover_hosts.sh"
_CONNECT_ARGS = "-o ConnectionAttempts=10"


def default_labels(job_name: str, role: str) -> dict[str, str]:
    """The labels the operator puts on every pod of a job."""
    return {OPERATOR_NAME_LABEL: OPERATOR_NAME, JOB_NAME_LABEL: job_name, JOB_ROLE_LABEL: role}


def worker_name(job: JSONDict, index: int) -> str:
    """``<job>-worker-<index>``."""
    return f"{job['metadata']['name']}-worker-{index}"


def _meta(job: JSONDict, name: str) -> JSONDict:
    return {
        "name": name,
        "namespace": job["metadata"]["namespace"],
        "labels": {"app": job["metadata"]["name"]},
        "ownerReferences": [owner_reference(job)],
    }


def _run_launcher_as_worker(job: JSONDict) -> bool:
    return bool(job["spec"].get("runLauncherAsWorker"))


def _worker_replicas(job: JSONDict) -> int:
    worker = (job["spec"].get("mpiReplicaSpecs") or {}).get(ReplicaType.WORKER.value)
    return int(worker.get("replicas") or 0) if isinstance(worker, dict) else 0


def _host(job: JSONDict, pod_name: str) -> str:
    meta = job["metadata"]
    return f"{pod_name}.{meta['name']}.{meta['namespace']}.svc"


def new_service(job: JSONDict) -> JSONDict:
    """The headless Service ``<job>`` in front of the job's pods."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(job, job["metadata"]["name"]),
        "spec": {
            "clusterIP": "None",
            "clusterIPs": ["None"],
            "selector": {
                OPERATOR_NAME_LABEL: OPERATOR_NAME,
                JOB_NAME_LABEL: job["metadata"]["name"],
            },
            "publishNotReadyAddresses": _run_launcher_as_worker(job),
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
        },
        "status": {"loadBalancer": {}},
    }


def new_config_map(job: JSONDict, running_workers: list[str]) -> JSONDict:
    """The ConfigMap ``<job>-config`` with ``hostfile`` and ``discover_hosts.sh``.

    Args:
        job: The defaulted MPIJob.
        running_workers: Names of the worker pods in phase Running.

    Returns:
        The ConfigMap.
    """
    slots = int(job["spec"].get("slotsPerWorker") or 1)
    colon = job["spec"].get("mpiImplementation") in (
        MPIImplementation.INTEL.value,
        MPIImplementation.MPICH.value,
    )
    hosts = []
    if _run_launcher_as_worker(job):
        hosts.append(_host(job, f"{job['metadata']['name']}-launcher"))
    hosts += [_host(job, worker_name(job, i)) for i in range(_worker_replicas(job))]
    hostfile = "".join(f"{h}:{slots}\n" if colon else f"{h} slots={slots}\n" for h in hosts)
    script = "#!/bin/sh\n"
    if _run_launcher_as_worker(job):
        script += f"echo {_host(job, job['metadata']['name'] + '-launcher')}\n"
    script += "".join(f"echo {_host(job, name)}\n" for name in sorted(running_workers))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(job, job["metadata"]["name"] + "-config"),
        "data": {HOSTFILE: hostfile, DISCOVER_HOSTS: script},
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_ssh_secret(job: JSONDict) -> JSONDict:
    """The Secret ``<job>-ssh`` (``kubernetes.io/ssh-auth``) with a fresh, fake key pair.

    The keys are random bytes in the shape of an ECDSA P-521 key pair: nothing
    in the emulator opens an SSH connection.
    """
    private_body = base64.encodebytes(os.urandom(223)).decode("ascii")
    private = f"-----BEGIN EC PRIVATE KEY-----\n{private_body}-----END EC PRIVATE KEY-----\n"
    public = f"ecdsa-sha2-nistp521 {_b64(os.urandom(172))}\n"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(job, job["metadata"]["name"] + "-ssh"),
        "type": "kubernetes.io/ssh-auth",
        "data": {"ssh-privatekey": _b64(private.encode()), "ssh-publickey": _b64(public.encode())},
    }


def _setup_ssh(pod_spec: JSONDict, job: JSONDict) -> None:
    mount_path = job["spec"]["sshAuthMountPath"]
    secret: JSONDict = {
        "secretName": job["metadata"]["name"] + "-ssh",
        "items": [
            {"key": "ssh-privatekey", "path": "id_rsa"},
            {"key": "ssh-publickey", "path": "id_rsa.pub"},
            {"key": "ssh-publickey", "path": "authorized_keys"},
        ],
    }
    if mount_path == "/root/.ssh":
        secret["defaultMode"] = 0o600
    pod_spec.setdefault("volumes", []).append({"name": "ssh-auth", "secret": secret})
    container = pod_spec["containers"][0]
    container.setdefault("volumeMounts", []).append({"name": "ssh-auth", "mountPath": mount_path})


def _restart_policy(replica_spec: JSONDict) -> str:
    policy = str(replica_spec.get("restartPolicy") or "Never")
    return "Never" if policy == "ExitCode" else policy


def _template(job: JSONDict, replica: ReplicaType) -> tuple[JSONDict, JSONDict]:
    replica_spec = job["spec"]["mpiReplicaSpecs"][replica.value]
    template = copy_json(replica_spec.get("template") or {})
    template.setdefault("metadata", {})
    template.setdefault("spec", {})
    return replica_spec, template


def new_worker(job: JSONDict, index: int) -> JSONDict:
    """The worker pod ``<job>-worker-<index>``, owned by the MPIJob."""
    name = worker_name(job, index)
    meta = job["metadata"]
    replica_spec, template = _template(job, ReplicaType.WORKER)
    labels = dict(template["metadata"].get("labels") or {})
    labels.update(default_labels(meta["name"], "worker"))
    labels[REPLICA_INDEX_LABEL] = str(index + 1 if _run_launcher_as_worker(job) else index)
    spec = template["spec"]
    spec["hostname"] = name
    spec["subdomain"] = meta["name"]
    if spec.get("hostNetwork"):
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    search = f"{meta['name']}.{meta['namespace']}.svc.cluster.local"
    spec.setdefault("dnsConfig", {}).setdefault("searches", []).append(search)
    spec["restartPolicy"] = _restart_policy(replica_spec)
    container = spec["containers"][0]
    if not container.get("command") and not container.get("args"):
        container["command"] = ["/usr/sbin/sshd", "-De"]
    container.setdefault("env", []).append({"name": "K_MPI_JOB_ROLE", "value": "worker"})
    _setup_ssh(spec, job)
    pod_meta: JSONDict = {
        "name": name,
        "namespace": meta["namespace"],
        "labels": labels,
        "ownerReferences": [owner_reference(job)],
    }
    if template["metadata"].get("annotations"):
        pod_meta["annotations"] = dict(template["metadata"]["annotations"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}
    return apply_pod_defaults(pod)


def _mpi_env(job: JSONDict) -> list[JSONDict]:
    hostfile = f"{CONFIG_MOUNT_PATH}/{HOSTFILE}"
    slots = str(job["spec"].get("slotsPerWorker") or 1)
    implementation = job["spec"].get("mpiImplementation")
    if implementation == MPIImplementation.INTEL.value:
        return [
            {"name": "I_MPI_HYDRA_HOST_FILE", "value": hostfile},
            {"name": "I_MPI_HYDRA_BOOTSTRAP_EXEC_EXTRA_ARGS", "value": _CONNECT_ARGS},
            {"name": "I_MPI_PERHOST", "value": slots},
        ]
    if implementation == MPIImplementation.MPICH.value:
        return [
            {"name": "HYDRA_HOST_FILE", "value": hostfile},
            {"name": "HYDRA_LAUNCH_EXTRA_ARGS", "value": _CONNECT_ARGS},
        ]
    return [
        {"name": "OMPI_MCA_orte_keep_fqdn_hostnames", "value": "true"},
        {"name": "OMPI_MCA_orte_default_hostfile", "value": hostfile},
        {"name": "OMPI_MCA_plm_rsh_args", "value": _CONNECT_ARGS},
        {"name": "OMPI_MCA_orte_set_default_slots", "value": slots},
    ]


def new_launcher_template(job: JSONDict) -> tuple[JSONDict, bool]:
    """The launcher Job's pod template.

    Returns:
        The template, and whether the user set a restartPolicy in the pod
        template (the operator warns with ``SetPodTemplateRestartPolicy``).
    """
    meta = job["metadata"]
    replica_spec, template = _template(job, ReplicaType.LAUNCHER)
    labels = dict(template["metadata"].get("labels") or {})
    labels.update(default_labels(meta["name"], "launcher"))
    if _run_launcher_as_worker(job):
        labels[REPLICA_INDEX_LABEL] = "0"
    spec = template["spec"]
    spec["hostname"] = meta["name"] + "-launcher"
    spec["subdomain"] = meta["name"]
    if spec.get("hostNetwork"):
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    container = spec["containers"][0]
    env = container.setdefault("env", [])
    env.append({"name": "K_MPI_JOB_ROLE", "value": "launcher"})
    env.extend(_mpi_env(job))
    if not _run_launcher_as_worker(job):
        env.extend([{"name": "NVIDIA_VISIBLE_DEVICES"}, {"name": "NVIDIA_DRIVER_CAPABILITIES"}])
    _setup_ssh(spec, job)
    warn = bool(spec.get("restartPolicy"))
    spec["restartPolicy"] = _restart_policy(replica_spec)
    spec.setdefault("volumes", []).append(
        {
            "name": "mpi-job-config",
            "configMap": {
                "name": meta["name"] + "-config",
                "items": [
                    {"key": HOSTFILE, "path": HOSTFILE, "mode": 0o444},
                    {"key": DISCOVER_HOSTS, "path": DISCOVER_HOSTS, "mode": 0o555},
                ],
            },
        }
    )
    container.setdefault("volumeMounts", []).append(
        {"name": "mpi-job-config", "mountPath": CONFIG_MOUNT_PATH}
    )
    pod_meta: JSONDict = {"labels": labels, "ownerReferences": [owner_reference(job)]}
    if template["metadata"].get("annotations"):
        pod_meta["annotations"] = dict(template["metadata"]["annotations"])
    return {"metadata": pod_meta, "spec": spec}, warn


def new_launcher_job(job: JSONDict, suspended: bool) -> tuple[JSONDict, bool]:
    """The launcher ``batch/v1`` Job ``<job>-launcher``.

    Returns:
        The Job, and whether to warn about a restartPolicy in the pod template.
    """
    run_policy = job["spec"].get("runPolicy") or {}
    template, warn = new_launcher_template(job)
    spec: JSONDict = {"template": template, "podReplacementPolicy": "Failed"}
    for key in ("ttlSecondsAfterFinished", "activeDeadlineSeconds", "backoffLimit"):
        if run_policy.get(key) is not None:
            spec[key] = run_policy[key]
    if suspended:
        spec["suspend"] = True
    launcher = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(job, job["metadata"]["name"] + "-launcher"),
        "spec": spec,
    }
    return launcher, warn


def _pull_policy(image: Any) -> str:
    text = str(image or "")
    last = text.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def apply_pod_defaults(pod: JSONDict) -> JSONDict:
    """Add the defaults the API server gives a new pod (in place; returns ``pod``)."""
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault(
        "tolerations",
        [
            {
                "key": f"node.kubernetes.io/{taint}",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
            for taint in ("not-ready", "unreachable")
        ],
    )
    for container in spec.get("containers") or []:
        container.setdefault("imagePullPolicy", _pull_policy(container.get("image")))
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})
    pod.setdefault("status", {"phase": "Pending", "qosClass": qos_class(spec)})
    return pod


def qos_class(pod_spec: JSONDict) -> str:
    """The pod's QoS class from its containers' resources, as the API server computes it."""
    containers = pod_spec.get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        if not {"cpu", "memory"} <= set(limits):
            return "Burstable"
        if any(str(requests.get(k, limits[k])) != str(limits[k]) for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"
