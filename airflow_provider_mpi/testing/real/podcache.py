"""What the node agent knows of the pods bound to its nodes, and which of them to sync next.

One :class:`PodCache` holds the latest pod objects seen by the watches (one
list-then-watch loop per node, :func:`watch_node`), the keys that changed
since the agent last looked (a changed worker dirties its launcher, which
watches its peers), and timers for pods to look at again later. The agent's
loop takes what is due with :meth:`PodCache.take`.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from airflow_provider_mpi.testing.controller.builders import JOB_NAME_LABEL, JOB_ROLE_LABEL
from airflow_provider_mpi.testing.controller.meta import JSONDict, label
from airflow_provider_mpi.testing.controller.podlife import pod_role
from airflow_provider_mpi.testing.controller.scripts import Role
from airflow_provider_mpi.testing.real.agentapi import AgentAPI, ApiError

__all__ = ["RETRY_SECONDS", "Key", "PodCache", "pod_key", "utc_now", "watch_node"]

_log = logging.getLogger(__name__)

#: A pod's key: namespace, name.
Key = tuple[str, str]
#: Seconds before a failed watch or sync is tried again.
RETRY_SECONDS = 0.5
_WATCH_SECONDS = "240"


def utc_now() -> datetime:
    """Wall time, UTC."""
    return datetime.now(timezone.utc)


def pod_key(pod: JSONDict) -> Key:
    """A pod's namespace and name.

    Args:
        pod: the pod.

    Returns:
        Its key.
    """
    return (str(pod["metadata"]["namespace"]), str(pod["metadata"]["name"]))


def _newer(candidate: JSONDict, current: JSONDict) -> bool:
    """Whether ``candidate`` is the same pod as ``current`` at a later version."""
    a, b = candidate["metadata"], current["metadata"]
    if a.get("uid") != b.get("uid"):
        return False
    try:
        return int(a["resourceVersion"]) > int(b["resourceVersion"])
    except (KeyError, ValueError):
        return False


class PodCache:
    """The pods seen, the keys to sync, and the timers; thread-safe (one condition)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pods: dict[Key, JSONDict] = {}
        self._dirty: set[Key] = set()
        self._timers: dict[Key, datetime] = {}

    def get(self, key: Key) -> JSONDict | None:
        """The latest pod seen under ``key``, or None once deleted.

        Args:
            key: the pod's key.

        Returns:
            The pod (shared: never change it).
        """
        with self._cond:
            return self._pods.get(key)

    def replace(self, node: str, pods: list[JSONDict]) -> None:
        """Take a fresh list of the pods bound to ``node``: the ones not in it are gone.

        Args:
            node: the node.
            pods: the listed pods.
        """
        with self._cond:
            fresh = {pod_key(p): p for p in pods}
            for key, pod in list(self._pods.items()):
                if (pod.get("spec") or {}).get("nodeName") == node and key not in fresh:
                    del self._pods[key]
                    self._dirty.add(key)
            self._pods.update(fresh)
            self._dirty.update(fresh)
            self._cond.notify_all()

    def observe(self, pod: JSONDict, *, deleted: bool) -> None:
        """Take one watch event's pod; a worker's change dirties its launcher too.

        Args:
            pod: the pod.
            deleted: whether the event is a deletion.
        """
        key = pod_key(pod)
        with self._cond:
            if deleted:
                self._pods.pop(key, None)
            else:
                self._pods[key] = pod
            self._dirty.add(key)
            job = label(pod, JOB_NAME_LABEL)
            if job and pod_role(pod) is Role.WORKER:  # its launcher watches its peers
                for other_key, other in self._pods.items():
                    if (
                        other_key[0] == key[0]
                        and label(other, JOB_NAME_LABEL) == job
                        and pod_role(other) is Role.LAUNCHER
                    ):
                        self._dirty.add(other_key)
            self._cond.notify_all()

    def keep_if_newer(self, pod: JSONDict) -> None:
        """Take a pod the agent itself wrote, unless a watch brought a later version.

        Args:
            pod: the pod as the API server answered the write.
        """
        key = pod_key(pod)
        with self._cond:
            current = self._pods.get(key)
            if current is not None and _newer(pod, current):
                self._pods[key] = pod

    def workers(self, namespace: str, job: str) -> list[JSONDict]:
        """The worker pods of a job, as last seen.

        Args:
            namespace: the job's namespace.
            job: the MPIJob's name.

        Returns:
            The pods.
        """
        with self._cond:
            return [
                p
                for (ns, _), p in self._pods.items()
                if ns == namespace
                and label(p, JOB_NAME_LABEL) == job
                and label(p, JOB_ROLE_LABEL) == Role.WORKER.value
            ]

    def kick(self, key: Key, at: datetime | None = None) -> None:
        """Sync a pod now, or not later than ``at``.

        Args:
            key: the pod's key.
            at: when (None: now).
        """
        with self._cond:
            if at is None:
                self._dirty.add(key)
            elif key not in self._timers or at < self._timers[key]:
                self._timers[key] = at
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake a :meth:`take` waiting (the agent is stopping)."""
        with self._cond:
            self._cond.notify_all()

    def take(self, stopping: threading.Event) -> set[Key]:
        """Wait for the keys to sync: the changed ones and the timers due.

        Args:
            stopping: set when the agent stops.

        Returns:
            The keys (empty once ``stopping`` is set).
        """
        with self._cond:
            while not stopping.is_set():
                now = utc_now()
                due = {k for k, at in self._timers.items() if at <= now}
                for key in due:
                    del self._timers[key]
                keys = due | self._dirty
                self._dirty.clear()
                if keys:
                    return keys
                upcoming = min(self._timers.values(), default=now + timedelta(seconds=1))
                self._cond.wait(timeout=max(0.01, (upcoming - now).total_seconds()))
            return set()


def watch_node(api: AgentAPI, node: str, cache: PodCache, stopping: threading.Event) -> None:
    """List and watch the pods bound to ``node`` into ``cache`` until ``stopping`` is set.

    A ``410 Expired`` (an ERROR event or an answer) lists again; other API
    errors are retried after :data:`RETRY_SECONDS`.

    Args:
        api: the API server.
        node: the node.
        cache: where the pods go.
        stopping: set when the agent stops.
    """
    selector = f"spec.nodeName={node}"
    version: str | None = None
    while not stopping.is_set():
        try:
            if version is None:
                listed = api.request("GET", "/api/v1/pods", query={"fieldSelector": selector})
                version = str(listed["metadata"]["resourceVersion"])
                cache.replace(node, listed.get("items") or [])
            query = {
                "fieldSelector": selector,
                "resourceVersion": version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": _WATCH_SECONDS,
            }
            for event in api.watch("/api/v1/pods", query):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    version = None  # 410 Expired: list again
                    break
                version = str(obj["metadata"]["resourceVersion"])
                if kind == "BOOKMARK":
                    continue
                cache.observe(obj, deleted=kind == "DELETED")
        except ApiError as error:
            if stopping.is_set():
                return
            if error.status == 410:
                version = None
            _log.debug("node agent: watch of %s ended: %s", node, error)
            stopping.wait(RETRY_SECONDS)
