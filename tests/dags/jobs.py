"""Job templates for the DAG tests: scripted pods of the emulator, valid on a real cluster too."""

from __future__ import annotations

import json
from typing import Any

import kubernetes.client

__all__ = ["SCRIPT", "running_at_once", "scripted_template"]

#: Prefix of the emulator's pod script annotations (docs/internals.md).
SCRIPT = "emulator.airflow-provider-mpi/"


def scripted_template(
    *, exit_code: int = 0, log: str = "", duration: float = 1, **fields: Any
) -> dict[str, Any]:
    """A two-worker job whose launcher runs ``duration`` s, logs ``log`` and exits ``exit_code``."""
    annotations = {f"{SCRIPT}duration": str(duration), f"{SCRIPT}exit-code": str(exit_code)}
    if log:
        annotations[f"{SCRIPT}log"] = log
    return {
        "remoteCommand": "mpirun",
        "args": ["-n", "2", "/opt/app", "{{ dag_run.run_id }}"],
        "jobCategory": "example/app:1",
        "minSlots": 2,
        "extension": {"extensionList": {"annotations": json.dumps(annotations)}},
        **fields,
    }


def running_at_once(cluster: Any) -> int:
    """The most launchers the kubelets ever ran at the same time (from pod start/end).

    Read through the API, so it works on both backends.
    """
    client = cluster.api_client()
    listed = kubernetes.client.CoreV1Api(client).list_namespaced_pod(
        cluster.namespace, label_selector="training.kubeflow.org/job-role=launcher"
    )
    items = client.sanitize_for_serialization(listed.items)
    spans = []
    for pod in items:
        state = (pod["status"].get("containerStatuses") or [{}])[0].get("state", {})
        end = state.get("terminated") or {}
        if end.get("startedAt") and end.get("finishedAt"):
            spans.append((end["startedAt"], end["finishedAt"]))
    return max((sum(1 for s, e in spans if s <= start < e) for start, _ in spans), default=0)
