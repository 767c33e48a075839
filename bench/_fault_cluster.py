"""An emulated cluster with the fault layer, in a child process (for bench_fault_matrix.py).

The emulator must not share the client's GIL (see ``_harness``), and the
fault mix has to be switched on and off around phases, so the child answers
a few commands over a pipe: ``faults`` (install the mix or clear it),
``jobs`` (every MPIJob as name, namespace, submission label, terminal
state), ``total`` (requests served), ``hits`` (requests each fault hit),
``stop``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["FAULT_MIX", "SUBMISSION_LABEL", "FaultClusterProcess"]

#: The label each submission carries, to count the MPIJobs it made.
SUBMISSION_LABEL = "bench.airflow-provider-mpi/submission"

#: (helper, kwargs): the fault mix of issue 12 (5xx incl. 502, 429 with
#: Retry-After, resets, dropped watches, 410 on resume, lost answers).
FAULT_MIX: list[tuple[str, dict[str, Any]]] = [
    ("fail", {"status": 500, "rate": 0.02}),
    ("fail", {"status": 502, "rate": 0.03}),
    ("fail", {"status": 503, "rate": 0.02}),
    ("fail", {"status": 504, "rate": 0.01}),
    ("throttle", {"retry_after": 1, "rate": 0.01}),
    ("reset_connections", {"rate": 0.02}),
    ("drop_watches", {"after_events": 3, "rate": 0.3}),
    ("drop_watches", {"after_seconds": 2.0, "abort": True, "rate": 0.1}),
    ("expire_watches", {"rate": 0.2}),
    ("lose_answers", {"status": 502, "verb": ["create", "patch", "delete"], "rate": 0.05}),
    ("lose_answers", {"verb": "create", "rate": 0.03}),
    ("lose_answers", {"status": 504, "verb": ["get", "list"], "rate": 0.02}),
    ("delay", {"seconds": 0.01, "rate": 0.2}),
]


def _terminal(obj: dict[str, Any]) -> str:
    conditions = (obj.get("status") or {}).get("conditions") or []
    true = {c.get("type") for c in conditions if c.get("status") == "True"}
    if "Succeeded" in true:
        return "Done"
    if "Failed" in true:
        return "Failed"
    return "active"


def _child(
    conn: Connection, speed: float, seed: int, namespaces: list[str]
) -> None:  # pragma: no cover
    import sys

    from airflow_provider_mpi.testing import MPICluster
    from airflow_provider_mpi.testing.faults import FaultInjector

    sys.setswitchinterval(0.0005)
    faults = FaultInjector(seed=seed)
    with MPICluster(clock=speed, faults=faults, tls=False) as cluster:
        for name in namespaces:
            if name != "default":
                cluster.store.create("namespaces", {"metadata": {"name": name}})
        conn.send(cluster.kubeconfig_path)
        while True:
            command, args = conn.recv()
            if command == "stop":
                conn.send(None)
                return
            if command == "faults":
                faults.clear()
                for helper, kwargs in args:
                    getattr(faults, helper)(**kwargs)
                conn.send(None)
            elif command == "jobs":
                found = []
                for name in namespaces:
                    items, _ = cluster.store.list("mpijobs", name)
                    for item in items:
                        labels = item["metadata"].get("labels") or {}
                        found.append(
                            (
                                name,
                                item["metadata"]["name"],
                                labels.get(SUBMISSION_LABEL),
                                _terminal(item),
                            )
                        )
                conn.send(found)
            elif command == "total":
                conn.send(cluster.requests.total)
            elif command == "hits":
                conn.send([(f.kind.value, f.status, f.hits) for f in faults.faults])
            elif command == "errors":
                conn.send([repr(e) for e in cluster.controller_errors])


class FaultClusterProcess:
    """An ``MPICluster`` with a ``FaultInjector`` in a child process.

    Args:
        speed: emulated seconds per real second.
        seed: the fault layer's seed (runs are reproducible up to timing).
        namespaces: namespaces to create.
    """

    def __init__(self, *, speed: float, seed: int, namespaces: list[str]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child_conn, speed, seed, namespaces), daemon=True
        )
        self.kubeconfig_path = ""

    def __enter__(self) -> FaultClusterProcess:
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the emulated cluster did not start within 60 s")
        self.kubeconfig_path = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.ask("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def ask(self, command: str, args: Any = None) -> Any:
        """Send a command, return the answer."""
        self._conn.send((command, args))
        return self._conn.recv()
