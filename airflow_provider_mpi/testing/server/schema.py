"""Structural validation of ``kubeflow.org/v2beta1`` MPIJobs, as the API server does for the CRD.

A real API server checks a custom resource against the CRD's structural
schema: wrong types and values outside an ``enum`` are refused with
``422 Invalid`` and one cause per field; unknown fields are pruned silently
(with a ``Warning`` header, or refused under ``fieldValidation=Strict``); and
defaults are filled in. This module does the same from the API facts of the
MPI operator v0.8.2 (``MPIJobSpec``, ``RunPolicy``, ``SchedulingPolicy``,
``ReplicaSpec``, ``JobStatus``) and of the core ``PodTemplateSpec``. Subtrees
of the pod spec we do not model field by field (affinity, probes, lifecycle,
volume sources other than the common ones) are type-checked as objects and
kept as they are. A conformance test compares the verdicts with the upstream
CRD.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_mpi.testing.store import Invalid, copy_json

__all__ = ["MPIJOB_SCHEMA", "Node", "validate_mpijob"]

JSONDict = dict[str, Any]

_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


@dataclass(frozen=True)
class Node:
    """One node of a structural schema.

    Attributes:
        type: ``object``, ``array``, ``string``, ``integer``, ``number``,
            ``boolean``, ``int-or-string``, ``quantity`` or ``any``.
        properties: known fields of an object (others are pruned).
        items: the schema of array items.
        values: the schema of map values (``additionalProperties``).
        enum: allowed values.
        default: the value filled in when the field is absent.
        required: fields an object must have.
        keep: keep unknown fields of an object (``x-kubernetes-preserve-unknown-fields``).
    """

    type: str
    properties: dict[str, Node] | None = None
    items: Node | None = None
    values: Node | None = None
    enum: tuple[str, ...] = ()
    default: Any = None
    required: tuple[str, ...] = ()
    keep: bool = False


def _obj(required: tuple[str, ...] = (), **props: Node) -> Node:
    return Node("object", properties=props, required=required)


def _arr(item: Node) -> Node:
    return Node("array", items=item)


def _map(value: Node) -> Node:
    return Node("object", values=value)


_S = Node("string")
_I = Node("integer")
_B = Node("boolean")
_N = Node("number")
_INT_OR_STRING = Node("int-or-string")
_QTY = Node("quantity")
_ANY_OBJECT = Node("object", keep=True)
_STRINGS = _arr(_S)
_STRING_MAP = _map(_S)


def _enum(*values: str, default: str | None = None) -> Node:
    return Node("string", enum=values, default=default)


_KEY_REF = _obj(("key",), key=_S, name=_S, optional=_B)
_ENV = _obj(
    ("name",),
    name=_S,
    value=_S,
    valueFrom=_obj(
        configMapKeyRef=_KEY_REF,
        secretKeyRef=_KEY_REF,
        fieldRef=_obj(("fieldPath",), apiVersion=_S, fieldPath=_S),
        resourceFieldRef=_obj(("resource",), containerName=_S, divisor=_QTY, resource=_S),
        fileKeyRef=_ANY_OBJECT,
    ),
)
_ENV_FROM = _obj(
    configMapRef=_obj(name=_S, optional=_B),
    prefix=_S,
    secretRef=_obj(name=_S, optional=_B),
)
_RESOURCES = _obj(
    claims=_arr(_obj(("name",), name=_S, request=_S)),
    limits=_map(_QTY),
    requests=_map(_QTY),
)
_CAPABILITIES = _obj(add=_STRINGS, drop=_STRINGS)
_SECURITY_CONTEXT = _obj(
    allowPrivilegeEscalation=_B,
    appArmorProfile=_ANY_OBJECT,
    capabilities=_CAPABILITIES,
    privileged=_B,
    procMount=_S,
    readOnlyRootFilesystem=_B,
    runAsGroup=_I,
    runAsNonRoot=_B,
    runAsUser=_I,
    seLinuxOptions=_ANY_OBJECT,
    seccompProfile=_ANY_OBJECT,
    windowsOptions=_ANY_OBJECT,
)
_CONTAINER = _obj(
    ("name",),
    args=_STRINGS,
    command=_STRINGS,
    env=_arr(_ENV),
    envFrom=_arr(_ENV_FROM),
    image=_S,
    imagePullPolicy=_S,
    lifecycle=_ANY_OBJECT,
    livenessProbe=_ANY_OBJECT,
    name=_S,
    ports=_arr(
        _obj(
            ("containerPort",),
            containerPort=_I,
            hostIP=_S,
            hostPort=_I,
            name=_S,
            protocol=Node("string", default="TCP"),
        )
    ),
    readinessProbe=_ANY_OBJECT,
    resizePolicy=_arr(_obj(("resourceName", "restartPolicy"), resourceName=_S, restartPolicy=_S)),
    resources=_RESOURCES,
    restartPolicy=_S,
    restartPolicyRules=_arr(_ANY_OBJECT),
    securityContext=_SECURITY_CONTEXT,
    startupProbe=_ANY_OBJECT,
    stdin=_B,
    stdinOnce=_B,
    terminationMessagePath=_S,
    terminationMessagePolicy=_S,
    tty=_B,
    volumeDevices=_arr(_obj(("devicePath", "name"), devicePath=_S, name=_S)),
    volumeMounts=_arr(
        _obj(
            ("mountPath", "name"),
            mountPath=_S,
            mountPropagation=_S,
            name=_S,
            readOnly=_B,
            recursiveReadOnly=_S,
            subPath=_S,
            subPathExpr=_S,
        )
    ),
    workingDir=_S,
)
_KEY_TO_PATH = _arr(_obj(("key", "path"), key=_S, mode=_I, path=_S))
_VOLUME = _obj(
    ("name",),
    name=_S,
    configMap=_obj(defaultMode=_I, items=_KEY_TO_PATH, name=_S, optional=_B),
    secret=_obj(defaultMode=_I, items=_KEY_TO_PATH, optional=_B, secretName=_S),
    emptyDir=_obj(medium=_S, sizeLimit=_QTY),
    hostPath=_obj(("path",), path=_S, type=_S),
    persistentVolumeClaim=_obj(("claimName",), claimName=_S, readOnly=_B),
    projected=_ANY_OBJECT,
    downwardAPI=_ANY_OBJECT,
    nfs=_obj(("path", "server"), path=_S, readOnly=_B, server=_S),
    csi=_ANY_OBJECT,
    ephemeral=_ANY_OBJECT,
    image=_ANY_OBJECT,
    **{
        name: _ANY_OBJECT
        for name in (
            "awsElasticBlockStore",
            "azureDisk",
            "azureFile",
            "cephfs",
            "cinder",
            "fc",
            "flexVolume",
            "flocker",
            "gcePersistentDisk",
            "gitRepo",
            "glusterfs",
            "iscsi",
            "photonPersistentDisk",
            "portworxVolume",
            "quobyte",
            "rbd",
            "scaleIO",
            "storageos",
            "vsphereVolume",
        )
    },
)
_POD_SECURITY_CONTEXT = _obj(
    appArmorProfile=_ANY_OBJECT,
    fsGroup=_I,
    fsGroupChangePolicy=_S,
    runAsGroup=_I,
    runAsNonRoot=_B,
    runAsUser=_I,
    seLinuxChangePolicy=_S,
    seLinuxOptions=_ANY_OBJECT,
    seccompProfile=_ANY_OBJECT,
    supplementalGroups=_arr(_I),
    supplementalGroupsPolicy=_S,
    sysctls=_arr(_obj(("name", "value"), name=_S, value=_S)),
    windowsOptions=_ANY_OBJECT,
)
_TOLERATION = _obj(effect=_S, key=_S, operator=_S, tolerationSeconds=_I, value=_S)
_POD_SPEC = _obj(
    ("containers",),
    activeDeadlineSeconds=_I,
    affinity=_ANY_OBJECT,
    automountServiceAccountToken=_B,
    containers=_arr(_CONTAINER),
    dnsConfig=_ANY_OBJECT,
    dnsPolicy=_S,
    enableServiceLinks=_B,
    ephemeralContainers=_arr(_ANY_OBJECT),
    hostAliases=_arr(_obj(("ip",), hostnames=_STRINGS, ip=_S)),
    hostIPC=_B,
    hostNetwork=_B,
    hostPID=_B,
    hostUsers=_B,
    hostname=_S,
    hostnameOverride=_S,
    imagePullSecrets=_arr(_obj(name=_S)),
    initContainers=_arr(_CONTAINER),
    nodeName=_S,
    nodeSelector=_STRING_MAP,
    os=_obj(("name",), name=_S),
    overhead=_map(_QTY),
    preemptionPolicy=_S,
    priority=_I,
    priorityClassName=_S,
    readinessGates=_arr(_obj(("conditionType",), conditionType=_S)),
    resourceClaims=_arr(_ANY_OBJECT),
    resources=_RESOURCES,
    restartPolicy=_S,
    runtimeClassName=_S,
    schedulerName=_S,
    schedulingGates=_arr(_obj(("name",), name=_S)),
    securityContext=_POD_SECURITY_CONTEXT,
    serviceAccount=_S,
    serviceAccountName=_S,
    setHostnameAsFQDN=_B,
    shareProcessNamespace=_B,
    subdomain=_S,
    terminationGracePeriodSeconds=_I,
    tolerations=_arr(_TOLERATION),
    topologySpreadConstraints=_arr(_ANY_OBJECT),
    volumes=_arr(_VOLUME),
    workloadRef=_ANY_OBJECT,
)
_TEMPLATE = _obj(
    metadata=_obj(
        annotations=_STRING_MAP,
        finalizers=_STRINGS,
        labels=_STRING_MAP,
        name=_S,
        namespace=_S,
    ),
    spec=_POD_SPEC,
)
_RUN_POLICY = _obj(
    activeDeadlineSeconds=_I,
    backoffLimit=_I,
    cleanPodPolicy=_S,
    managedBy=_S,
    schedulingPolicy=_obj(
        minAvailable=_I,
        minResources=_map(_QTY),
        priorityClass=_S,
        queue=_S,
        scheduleTimeoutSeconds=_I,
    ),
    suspend=Node("boolean", default=False),
    ttlSecondsAfterFinished=_I,
)
_REPLICA_SPEC = _obj(replicas=_I, restartPolicy=_S, template=_TEMPLATE)
_CONDITION = _obj(
    ("status", "type"),
    lastTransitionTime=_S,
    lastUpdateTime=_S,
    message=_S,
    reason=_S,
    status=_enum("True", "False", "Unknown"),
    type=_S,
)
_REPLICA_STATUS = _obj(
    active=_I,
    failed=_I,
    labelSelector=_ANY_OBJECT,
    selector=_S,
    succeeded=_I,
)
#: The MPIJob structural schema (kubeflow.org/v2beta1, MPI operator v0.8.2).
MPIJOB_SCHEMA = _obj(
    apiVersion=_S,
    kind=_S,
    metadata=Node("object", keep=True),
    spec=_obj(
        ("mpiReplicaSpecs",),
        launcherCreationPolicy=Node("string", default="AtStartup"),
        mpiImplementation=_enum("OpenMPI", "Intel", "MPICH", default="OpenMPI"),
        mpiReplicaSpecs=_map(_REPLICA_SPEC),
        runLauncherAsWorker=Node("boolean", default=False),
        runPolicy=_RUN_POLICY,
        slotsPerWorker=Node("integer", default=1),
        sshAuthMountPath=Node("string", default="/root/.ssh"),
    ),
    status=_obj(
        completionTime=_S,
        conditions=_arr(_CONDITION),
        lastReconcileTime=_S,
        replicaStatuses=_map(_REPLICA_STATUS),
        startTime=_S,
    ),
)

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


#: The scalar types checked by one predicate; a mismatch names the type.
_SCALARS: dict[str, Callable[[Any], bool]] = {
    "integer": _is_integer,
    "number": _is_number,
    "boolean": _is_boolean,
}


class _Walker:
    def __init__(self) -> None:
        self.causes: list[JSONDict] = []
        self.unknown: list[str] = []

    def _cause(self, reason: str, message: str, path: str) -> None:
        self.causes.append({"reason": reason, "message": message, "field": path})

    def _type_error(self, path: str, value: Any, expected: str) -> None:
        shown = _type_name(value)
        self._cause(
            "FieldValueTypeInvalid",
            f'Invalid value: "{shown}": {path} in body must be of type {expected}: "{shown}"',
            path,
        )

    def walk(self, node: Node, value: Any, path: str) -> Any:
        kind = node.type
        if value is None:
            # JSON null on a non-nullable field is pruned by the API server.
            return None
        if kind == "any":
            return value
        if kind == "string":
            if not isinstance(value, str):
                self._type_error(path, value, "string")
            elif node.enum and value not in node.enum:
                allowed = ", ".join(f'"{v}"' for v in node.enum)
                message = f'Unsupported value: "{value}": supported values: {allowed}'
                self._cause("FieldValueNotSupported", message, path)
            return value
        if (is_type := _SCALARS.get(kind)) is not None:
            if not is_type(value):
                self._type_error(path, value, kind)
            return value
        if kind in ("int-or-string", "quantity"):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                self._type_error(path, value, "integer,string" if kind == "quantity" else "string")
            elif kind == "quantity" and isinstance(value, str) and not _QUANTITY.match(value):
                self._cause(
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": {path} in body should match '
                    f"'{_QUANTITY.pattern}'",
                    path,
                )
            return value
        if kind == "array":
            if not isinstance(value, list):
                self._type_error(path, value, "array")
                return value
            assert node.items is not None
            return [self.walk(node.items, item, f"{path}[{i}]") for i, item in enumerate(value)]
        if not isinstance(value, dict):
            self._type_error(path, value, "object")
            return value
        return self._object(node, value, path)

    def _object(self, node: Node, value: JSONDict, path: str) -> JSONDict:
        result: JSONDict = {}
        prefix = f"{path}." if path else ""
        for key, child in value.items():
            if node.properties is not None and key in node.properties:
                walked = self.walk(node.properties[key], child, prefix + key)
            elif node.values is not None:
                walked = self.walk(node.values, child, f"{prefix}{key}")
            elif node.keep:
                walked = child
            else:
                self.unknown.append(prefix + key)
                continue
            if walked is not None:
                result[key] = walked
        for key in node.required:
            if key not in result:
                self._cause("FieldValueRequired", "Required value", prefix + key)
        for key, child_node in (node.properties or {}).items():
            if key not in result and child_node.default is not None:
                result[key] = copy_json(child_node.default)
        return result


def validate_mpijob(obj: JSONDict) -> tuple[JSONDict, list[str]]:
    """Validate an MPIJob against the structural schema; prune and default it.

    Args:
        obj: the MPIJob as sent by a client.

    Returns:
        The pruned and defaulted object, and the paths of the unknown fields
        that were pruned (e.g. ``spec.slotPerWorker``).

    Raises:
        Invalid: wrong types, values outside an enum or missing required
            fields; one cause per field, the message names them all.
    """
    walker = _Walker()
    pruned = walker.walk(MPIJOB_SCHEMA, obj, "")
    if walker.causes:
        name = (obj.get("metadata") or {}).get("name", "")
        details = [f"{c['field']}: {c['message']}" for c in walker.causes]
        joined = details[0] if len(details) == 1 else "[" + ", ".join(details) + "]"
        raise Invalid(
            f'MPIJob.kubeflow.org "{name}" is invalid: {joined}',
            causes=walker.causes,
            name=name,
            group="kubeflow.org",
            kind="MPIJob",
        )
    return pruned, walker.unknown
