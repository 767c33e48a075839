"""An in-memory API server for the node agent's tests: the agent's narrow API, nothing more.

It keeps nodes, leases, events and pods as JSON, applies merge patches,
honours DELETE preconditions and ``gracePeriodSeconds`` (0 deletes, else it
sets ``deletionTimestamp`` as the real server does), and streams pod watch
events per field selector. Not a Kubernetes emulation: just enough to watch
the agent's requests and answers.
"""

from __future__ import annotations

import copy
import itertools
import queue
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from airflow_provider_mpi.testing.real.agentapi import ApiError

JSONDict = dict[str, Any]


def merge(target: JSONDict, patch: Mapping[str, Any]) -> JSONDict:
    """RFC 7386 merge patch."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeAPI:
    """The agent's API, in memory (see module docstring)."""

    def __init__(self) -> None:
        self.objects: dict[str, JSONDict] = {}
        self.calls: list[tuple[str, str]] = []
        self._versions = itertools.count(1)
        self._lock = threading.Lock()
        self._watchers: list[tuple[str, queue.Queue[JSONDict | None]]] = []
        self._uids = itertools.count(1)
        self.closed = False
        #: Every version of every pod written, by path.
        self.history: dict[str, list[JSONDict]] = {}

    # ----------------------------------------------------------- test helpers

    def add_pod(self, pod: JSONDict) -> JSONDict:
        """Create a pod (as the API server would after the scheduler bound it)."""
        pod = copy.deepcopy(pod)
        meta = pod.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta["uid"] = f"uid-{next(self._uids)}"
        pod.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        with self._lock:
            self._store(self._pod_path(meta["namespace"], meta["name"]), pod, "ADDED")
        return pod

    def pod(self, namespace: str, name: str) -> JSONDict | None:
        with self._lock:
            found = self.objects.get(self._pod_path(namespace, name))
            return copy.deepcopy(found) if found else None

    def watching(self) -> int:
        """How many watches are open."""
        with self._lock:
            return len(self._watchers)

    def events(self) -> list[JSONDict]:
        with self._lock:
            return [copy.deepcopy(o) for p, o in self.objects.items() if "/events/" in p]

    @staticmethod
    def _pod_path(namespace: str, name: str) -> str:
        return f"/api/v1/namespaces/{namespace}/pods/{name}"

    def _store(self, path: str, obj: JSONDict, kind: str) -> JSONDict:
        obj["metadata"]["resourceVersion"] = str(next(self._versions))
        if kind == "DELETED":
            self.objects.pop(path, None)
        else:
            self.objects[path] = obj
        if "/pods/" in path:
            self.history.setdefault(path, []).append(copy.deepcopy(obj))
            node = (obj.get("spec") or {}).get("nodeName")
            for selector, channel in self._watchers:
                if selector == f"spec.nodeName={node}":
                    channel.put({"type": kind, "object": copy.deepcopy(obj)})
        return copy.deepcopy(obj)

    # --------------------------------------------------------------- AgentAPI

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: JSONDict | None = None,
        content_type: str = "application/json",
    ) -> JSONDict:
        self.calls.append((method, path))
        with self._lock:
            if method == "GET" and path == "/api/v1/pods":
                selector = (query or {}).get("fieldSelector", "")
                node = selector.removeprefix("spec.nodeName=")
                items = [
                    copy.deepcopy(o)
                    for p, o in self.objects.items()
                    if "/pods/" in p and (o.get("spec") or {}).get("nodeName") == node
                ]
                version = str(next(self._versions))
                return {"items": items, "metadata": {"resourceVersion": version}}
            if method == "POST":
                assert body is not None
                name = body["metadata"]["name"]
                target = f"{path}/{name}"
                if target in self.objects:
                    raise ApiError(409, {"reason": "AlreadyExists", "message": "exists"})
                return self._store(target, copy.deepcopy(body), "ADDED")
            target = path.removesuffix("/status")
            current = self.objects.get(target)
            if current is None:
                raise ApiError(404, {"reason": "NotFound", "message": f"{target} not found"})
            if method == "GET":
                return copy.deepcopy(current)
            if method == "PATCH":
                assert body is not None
                uid = (body.get("metadata") or {}).get("uid")
                if uid and uid != current["metadata"].get("uid"):
                    raise ApiError(409, {"reason": "Conflict", "message": "uid"})
                patch = copy.deepcopy(body)
                patch.pop("metadata", None)
                if path.endswith("/status"):
                    patch = {"status": patch.get("status")}
                return self._store(target, merge(copy.deepcopy(current), patch), "MODIFIED")
            if method == "DELETE":
                options = body or {}
                wanted = (options.get("preconditions") or {}).get("uid")
                if wanted and wanted != current["metadata"].get("uid"):
                    raise ApiError(409, {"reason": "Conflict", "message": "precondition"})
                if options.get("gracePeriodSeconds") == 0:
                    return self._store(target, copy.deepcopy(current), "DELETED")
                updated = copy.deepcopy(current)
                updated["metadata"]["deletionTimestamp"] = datetime.now(timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
                updated["metadata"]["deletionGracePeriodSeconds"] = options.get(
                    "gracePeriodSeconds", 30
                )
                return self._store(target, updated, "MODIFIED")
        raise AssertionError(f"unexpected {method} {path}")

    def watch(self, path: str, query: Mapping[str, str]) -> Iterator[JSONDict]:
        channel: queue.Queue[JSONDict | None] = queue.Queue()
        with self._lock:
            if self.closed:
                return
            self._watchers.append((query["fieldSelector"], channel))
        while True:
            item = channel.get()
            if item is None:
                return
            yield item

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for _, channel in self._watchers:
                channel.put(None)

    # Deleting as a user does (graceful by default).
    def delete_pod(self, namespace: str, name: str, grace: int | None = 30) -> None:
        body = {} if grace is None else {"gracePeriodSeconds": grace}
        self.request("DELETE", self._pod_path(namespace, name), body=body)
