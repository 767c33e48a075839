"""What the emulated pods do, read from annotations.

No container runs in the emulator: a pod's life (how long it runs, how it
ends, what it logs, whether it is evicted or never scheduled) is scripted by
annotations with the prefix ``emulator.airflow-provider-mpi/`` on the MPIJob
(or on a bare pod). This module parses them into a :class:`PodScript`, failing
with a message naming the annotation and its value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "ANNOTATION_PREFIX",
    "Eviction",
    "PodScript",
    "Role",
    "ScriptAnnotation",
    "ScriptError",
    "parse_script",
]

ANNOTATION_PREFIX = "emulator.airflow-provider-mpi/"


class Role(str, Enum):
    """The part a pod plays in an MPIJob (the ``training.kubeflow.org/job-role`` label)."""

    LAUNCHER = "launcher"
    WORKER = "worker"


class ScriptAnnotation(str, Enum):
    """The script annotations (names without the prefix)."""

    DURATION = "duration"
    EXIT_CODE = "exit-code"
    LOG = "log"
    WORKER_DURATION = "worker-duration"
    EVICT_WORKER = "evict-worker"
    UNSCHEDULABLE = "unschedulable"
    IMAGE_PULL_ERROR = "image-pull-error"
    START_DELAY = "start-delay"

    @property
    def key(self) -> str:
        """The full annotation key."""
        return ANNOTATION_PREFIX + self.value


class ScriptError(ValueError):
    """A script annotation has a value that cannot be understood.

    Args:
        annotation: The annotation key.
        value: The offending value.
        expected: What would have been accepted.
    """

    def __init__(self, annotation: str, value: str, expected: str) -> None:
        super().__init__(f"annotation {annotation}={value!r}: expected {expected}")
        self.annotation = annotation
        self.value = value


@dataclass(frozen=True)
class Eviction:
    """One worker evicted after it ran for a while.

    Attributes:
        index: The worker's replica index.
        after: Seconds of running before the eviction.
    """

    index: int
    after: float


@dataclass(frozen=True)
class PodScript:
    """The scripted behaviour of an MPIJob's pods.

    Attributes:
        duration: Seconds the launcher works once it and all workers run.
        exit_code: The launcher container's exit code.
        log: Launcher log lines, spread evenly over ``duration``.
        worker_duration: Seconds a worker spends starting before it runs.
        evict_worker: A worker to evict, if any.
        unschedulable: Roles whose pods are never scheduled.
        image_pull_error: Roles whose pods fail to pull their image.
        start_delay: Seconds every pod stays Pending (ContainerCreating).
    """

    duration: float = 1.0
    exit_code: int = 0
    log: tuple[str, ...] = ()
    worker_duration: float = 0.0
    evict_worker: Eviction | None = None
    unschedulable: frozenset[Role] = field(default_factory=frozenset)
    image_pull_error: frozenset[Role] = field(default_factory=frozenset)
    start_delay: float = 0.0

    def pending_seconds(self, role: Role | None) -> float:
        """Seconds a pod of ``role`` stays Pending after it was scheduled."""
        extra = self.worker_duration if role is Role.WORKER else 0.0
        return self.start_delay + extra


def _seconds(annotation: ScriptAnnotation, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ScriptError(annotation.key, raw, "a number of seconds >= 0")
    return value


def _exit_code(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 255:
        raise ScriptError(ScriptAnnotation.EXIT_CODE.key, raw, "an integer from 0 to 255")
    return value


def _eviction(raw: str) -> Eviction:
    annotation = ScriptAnnotation.EVICT_WORKER
    index_text, sep, after_text = raw.partition("@")
    if not sep or not index_text.strip().isdigit():
        raise ScriptError(annotation.key, raw, '"<worker index>@<seconds>", e.g. "1@5"')
    return Eviction(index=int(index_text), after=_seconds(annotation, after_text.strip()))


def _roles(annotation: ScriptAnnotation, raw: str) -> frozenset[Role]:
    text = raw.strip().lower()
    if text in ("true", "all"):
        return frozenset(Role)
    if text in ("false", ""):
        return frozenset()
    roles: set[Role] = set()
    for part in text.split(","):
        try:
            roles.add(Role(part.strip()))
        except ValueError:
            raise ScriptError(
                annotation.key, raw, '"true", "launcher", "worker" or "launcher,worker"'
            ) from None
    return frozenset(roles)


def parse_script(annotations: Mapping[str, str] | None) -> PodScript:
    """Read a :class:`PodScript` from object annotations.

    Annotations without the prefix are ignored; missing ones take the defaults
    of :class:`PodScript`.

    Args:
        annotations: ``metadata.annotations`` of an MPIJob or a pod.

    Returns:
        The script.

    Raises:
        ScriptError: When an annotation of the prefix is unknown or malformed.
    """
    values: dict[ScriptAnnotation, str] = {}
    for key, raw in (annotations or {}).items():
        if not key.startswith(ANNOTATION_PREFIX):
            continue
        name = key[len(ANNOTATION_PREFIX) :]
        try:
            values[ScriptAnnotation(name)] = raw
        except ValueError:
            known = ", ".join(a.value for a in ScriptAnnotation)
            raise ScriptError(key, raw, f"a known annotation name ({known})") from None
    A = ScriptAnnotation
    default = PodScript()

    def get(annotation: ScriptAnnotation) -> str | None:
        return values.get(annotation)

    duration, exit_code = get(A.DURATION), get(A.EXIT_CODE)
    log, worker_duration = get(A.LOG), get(A.WORKER_DURATION)
    evict, start_delay = get(A.EVICT_WORKER), get(A.START_DELAY)
    unschedulable, image_pull = get(A.UNSCHEDULABLE), get(A.IMAGE_PULL_ERROR)
    return PodScript(
        duration=default.duration if duration is None else _seconds(A.DURATION, duration),
        exit_code=default.exit_code if exit_code is None else _exit_code(exit_code),
        log=default.log if log is None else tuple(log.splitlines()),
        worker_duration=(
            default.worker_duration
            if worker_duration is None
            else _seconds(A.WORKER_DURATION, worker_duration)
        ),
        evict_worker=None if evict is None else _eviction(evict),
        unschedulable=frozenset()
        if unschedulable is None
        else _roles(A.UNSCHEDULABLE, unschedulable),
        image_pull_error=frozenset()
        if image_pull is None
        else _roles(A.IMAGE_PULL_ERROR, image_pull),
        start_delay=default.start_delay
        if start_delay is None
        else _seconds(A.START_DELAY, start_delay),
    )
