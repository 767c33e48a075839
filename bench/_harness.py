"""Shared pieces of the benchmarks: the emulated cluster in its own process, and figures.

The benchmarks measure what a client costs the API server and how soon it
notices a change. On a 2-core machine the emulator must not share the
client's interpreter (and its GIL), or every figure would measure the two
fighting for one core. :class:`ClusterProcess` therefore runs an
:class:`~airflow_provider_mpi.testing.MPICluster` in a child process (bound
to 127.0.0.1 only) and answers a few commands over a pipe:

- the emulated API server's own request counters (``MPICluster.requests``,
  by verb and resource, the ones the tests assert on): a request is counted
  when it arrives, so a watch still open is counted too, and its errors
  when it is answered;
- when each MPIJob's terminal condition (``Succeeded``/``Failed`` True) was
  written: a store subscription in the child stamps it with ``time.time()``
  the moment the controller writes it, so a client in this process can take
  the difference with its own ``time.time()`` (same machine, same clock);
- how many MPIJobs were active at once (created, not suspended, not ended),
  the maximum seen from the store's side;
- releasing suspended MPIJobs straight in the store (no HTTP request, so
  the counters hold only what the client under test sent);
- the emulator's own garbage-collector pauses. The emulator keeps every
  object, its history and its events as Python dicts, so a full (gen 2)
  collection in its process takes 80-150 ms with the GIL held: the server
  thread stops writing watch events meanwhile. Measured stage by stage in
  a 200-job burst, such a pause made p99s of 70-150 ms; it is a property of
  the stand-in (a real API server is Go, with a concurrent collector), not of
  the client under test. So by default the child collects once when the
  counters are zeroed and then leaves cyclic collection off until the next
  ``clear`` (reference counting still frees everything acyclic);
  ``gc_pauses=True`` keeps the collector on, to see the stall. The pauses
  that did happen during a wait are reported either way.

The rest are small helpers: percentiles, aligned tables, verdict lines, the
template of a scripted job, polling baselines, and the process's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

__all__ = [
    "SCRIPT",
    "ClusterProcess",
    "Counts",
    "delays_ms",
    "held_mpijob",
    "peer_object",
    "percentiles",
    "poll_wait",
    "rss_bytes",
    "scripted_template",
    "table",
    "verdict",
]

# Importing Airflow creates $AIRFLOW_HOME (~/airflow by default). The benchmarks
# import this module before Airflow, so they get a private, temporary home.
if "AIRFLOW_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="airflow-provider-mpi-bench-home-")
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
    os.environ["AIRFLOW_HOME"] = _home
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_home}/airflow.db"

SCRIPT = "emulator.airflow-provider-mpi/"
IMAGE = "mpioperator/mpi-pi:openmpi"
_TERMINAL = ("Succeeded", "Failed")
#: Label of the bench's bare pods (KubernetesPodTrigger's baseline).
BARE_LABEL = "bench.airflow-provider-mpi/bare"
_BATCH_JOB_LABEL = "batch.kubernetes.io/job-name"


# ----------------------------------------------------------------- the child


class _Recorder:
    """Store subscriber in the child: terminal-condition times and active counts.

    Runs under the store's lock (callbacks must be cheap): only dict updates.
    """

    def __init__(self) -> None:
        self.ended: dict[str, float] = {}
        self.active: set[str] = set()
        self.max_active = 0
        self.running: set[str] = set()
        self.max_running = 0

    def reset(self) -> None:
        self.ended.clear()
        self.max_active = len(self.active)
        self.max_running = len(self.running)

    def __call__(self, event: Any) -> None:
        plural = event.resource.plural
        if plural in ("jobs", "pods"):
            self._peer(plural, event.object)
            return
        if plural != "mpijobs":
            return
        obj = event.object
        name = obj["metadata"]["name"]
        conditions = (obj.get("status") or {}).get("conditions") or []
        true = {c.get("type") for c in conditions if c.get("status") == "True"}
        ended = any(t in true for t in _TERMINAL)
        if ended and name not in self.ended:
            self.ended[name] = time.time()
        suspended = bool(((obj.get("spec") or {}).get("runPolicy") or {}).get("suspend"))
        gone = event.type.value == "DELETED"
        if gone or ended or suspended:
            self.active.discard(name)
        else:
            self.active.add(name)
            self.max_active = max(self.max_active, len(self.active))
        if not gone and not ended and "Running" in true:
            self.running.add(name)
            self.max_running = max(self.max_running, len(self.running))
        else:
            self.running.discard(name)

    def _peer(self, plural: str, obj: Any) -> None:
        """A batch Job's Complete/Failed condition, or a bare pod's end (the cncf baselines)."""
        name = obj["metadata"]["name"]
        if name in self.ended:
            return
        if plural == "jobs":
            conditions = (obj.get("status") or {}).get("conditions") or []
            if any(
                c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                for c in conditions
            ):
                self.ended[name] = time.time()
        elif BARE_LABEL in ((obj["metadata"].get("labels")) or {}) and (
            (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        ):
            self.ended[name] = time.time()


def _child(
    conn: Connection, speed: float | str, tls: bool, gc_pauses: bool
) -> None:  # pragma: no cover - child
    import gc
    import sys

    from airflow_provider_mpi.testing import MPICluster

    # The emulator's server and controllers share this process's GIL; a short
    # switch interval keeps the server answering while the controllers work
    # through a burst (a real API server does not wait for the controllers).
    sys.setswitchinterval(0.0005)
    recorder = _Recorder()
    pauses: list[tuple[int, float]] = []  # (generation, ms) since the last reset
    collecting: list[float] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collecting[:] = [time.perf_counter()]
        elif collecting:
            pauses.append((int(info["generation"]), (time.perf_counter() - collecting[0]) * 1000))

    gc.callbacks.append(on_gc)
    with MPICluster(clock=speed, tls=tls) as cluster:
        store = cluster.store
        unsubscribe = store.subscribe(recorder)
        conn.send(cluster.kubeconfig_path)
        try:
            while True:
                command, args = conn.recv()
                if command == "stop":
                    conn.send(None)
                    return
                if command == "reset":
                    cluster.requests.reset()
                    recorder.reset()
                    if not gc_pauses:
                        gc.collect()
                        gc.disable()
                    pauses.clear()
                    conn.send(None)
                elif command == "gc":
                    conn.send(list(pauses))
                elif command == "counters":
                    # Counted on arrival (an open watch too), errors when answered.
                    stats = cluster.requests.snapshot()
                    conn.send({(v.value, r): (s.count, s.errors) for (v, r), s in stats.items()})
                elif command == "ended":
                    conn.send(dict(recorder.ended))
                elif command == "active":
                    conn.send((recorder.max_active, recorder.max_running, len(recorder.active)))
                elif command == "release":
                    conn.send(_release(store, cluster.namespace, args))
                elif command == "quiet":  # until the controllers stop writing for a while
                    last, began = None, time.monotonic()
                    while time.monotonic() - began < float(args or 120):
                        version = store.list("namespaces")[1]
                        if version == last:
                            break
                        last = version
                        time.sleep(0.5)
                    conn.send(time.monotonic() - began)
                elif command == "cpu":
                    conn.send(time.process_time())
                elif command == "create_peers":  # (plural, names): batch Jobs or bare pods
                    plural, names = args
                    for name in names:
                        store.create(plural, peer_object(plural, name, cluster.namespace))
                    conn.send(len(names))
                elif command == "end_pods":  # pods of these batch Jobs or bare pods end now
                    conn.send(_end_pods(store, cluster.namespace, args))
                elif command == "create_held":
                    for name, duration in args:
                        store.create("mpijobs", held_mpijob(name, duration, cluster.namespace))
                    conn.send(len(args))
                elif command == "clear":
                    items, _ = store.list("mpijobs", cluster.namespace)
                    for item in items:
                        store.delete("mpijobs", cluster.namespace, item["metadata"]["name"])
                    for plural in ("events",):
                        events, _ = store.list(plural, cluster.namespace)
                        for event in events:
                            store.delete(plural, cluster.namespace, event["metadata"]["name"])
                    gc.enable()
                    conn.send(len(items))
                elif command == "latency":
                    # added latency of every MPIJob create, as a remote API server has
                    cluster.faults.clear()
                    if args:
                        cluster.faults.delay(float(args), verb="create", resource="mpijobs")
                    conn.send(None)
                elif command == "errors":
                    conn.send([repr(e) for e in cluster.controller_errors])
                else:
                    conn.send(ValueError(f"unknown command {command!r}"))
        finally:
            unsubscribe()
            gc.enable()


def _release(store: Any, namespace: str, names: Sequence[str] | None) -> float:
    """Resume suspended MPIJobs in the store; return when (``time.time()``) it was done."""
    if names is None:
        items, _ = store.list("mpijobs", namespace)
        names = [item["metadata"]["name"] for item in items]
    for name in names:
        obj = store.get("mpijobs", namespace, name)
        obj["spec"].setdefault("runPolicy", {})["suspend"] = False
        store.update("mpijobs", obj)
    return time.time()


def _end_pods(store: Any, namespace: str, names: Sequence[str]) -> float:
    """Script the pods of batch Jobs (by job name) or bare pods (by name) to end now."""
    for name in names:
        pods, _ = store.list("pods", namespace, label_selector=f"{_BATCH_JOB_LABEL}={name}")
        if not pods:
            pods = [store.get("pods", namespace, name)]
        for pod in pods:
            pod["metadata"].setdefault("annotations", {})[SCRIPT + "duration"] = "0"
            pod["metadata"].pop("resourceVersion", None)
            store.update("pods", pod)
    return time.time()


# ---------------------------------------------------------------- the parent


@dataclass(frozen=True)
class Counts:
    """Requests the emulated API server received, by (verb, resource).

    Read from the server's ``RequestCounters`` (``MPICluster.requests``):
    ``by_key`` maps ``(verb, resource)`` to ``(requests arrived, errors answered)``.
    """

    by_key: dict[tuple[str, str], tuple[int, int]]

    def count(self, verb: str | None = None, resource: str | None = None) -> int:
        """Requests of that verb and resource (None: any)."""
        return sum(
            count
            for (v, r), (count, _) in self.by_key.items()
            if (verb is None or v == verb) and (resource is None or r == resource)
        )

    @property
    def total(self) -> int:
        """Every request."""
        return self.count()

    @property
    def errors(self) -> int:
        """Requests answered with an error."""
        return sum(errors for _, errors in self.by_key.values())

    def minus(self, earlier: Counts) -> Counts:
        """The requests counted since ``earlier``."""
        keys = set(self.by_key) | set(earlier.by_key)
        return Counts(
            {
                key: (
                    self.by_key.get(key, (0, 0))[0] - earlier.by_key.get(key, (0, 0))[0],
                    self.by_key.get(key, (0, 0))[1] - earlier.by_key.get(key, (0, 0))[1],
                )
                for key in keys
            }
        )

    def describe(self) -> str:
        """``"get mpijobs 12, watch mpijobs 1"``, biggest first."""
        parts = sorted(
            ((count, f"{v} {r}") for (v, r), (count, _) in self.by_key.items() if count),
            reverse=True,
        )
        return ", ".join(f"{name} {count}" for count, name in parts) or "none"


class ClusterProcess:
    """An ``MPICluster`` in a child process, steered over a pipe (see the module doc).

    Args:
        speed: emulated seconds per real second, or ``"manual"`` for a
            stopped clock (the controllers then stay idle: the API server alone).
        tls: serve HTTPS, as a real API server does.
        gc_pauses: keep the emulator's cyclic garbage collector on between
            ``reset`` and ``clear`` (off by default: see the module doc).
    """

    def __init__(
        self, *, speed: float | str = 1.0, tls: bool = True, gc_pauses: bool = False
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_child,
            args=(child_conn, speed, tls, gc_pauses),
            name="mpi-emulator",
            daemon=True,
        )
        self.kubeconfig_path = ""

    def __enter__(self) -> ClusterProcess:
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the emulated cluster did not start within 60 s")
        self.kubeconfig_path = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._ask("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)

    def _ask(self, command: str, args: Any = None) -> Any:
        self._conn.send((command, args))
        answer = self._conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reset(self) -> None:
        """Zero the request counters, forget the recorded end times, stop collecting.

        Unless the process was started with ``gc_pauses=True``, the emulator
        collects garbage once now and not again until :meth:`clear`.
        """
        self._ask("reset")

    def gc_pauses(self) -> list[tuple[int, float]]:
        """The emulator's garbage collections since the last reset: (generation, ms)."""
        pauses: list[tuple[int, float]] = [tuple(p) for p in self._ask("gc")]
        return pauses

    def counters(self) -> Counts:
        """The request counters now."""
        return Counts(self._ask("counters"))

    def ended(self) -> dict[str, float]:
        """MPIJob name to when its terminal condition was written (epoch seconds)."""
        ended: dict[str, float] = self._ask("ended")
        return ended

    def active(self) -> tuple[int, int, int]:
        """(max active, max with Running=True, active now) since the last reset."""
        answer: tuple[int, int, int] = self._ask("active")
        return answer

    def release(self, names: Sequence[str] | None = None) -> float:
        """Resume suspended MPIJobs in the store (all when None); returns when."""
        released: float = self._ask("release", list(names) if names is not None else None)
        return released

    def quiet(self, limit: float = 120.0) -> float:
        """Wait until the emulator's store stops changing for half a second; return the wait."""
        waited: float = self._ask("quiet", limit)
        return waited

    def cpu_seconds(self) -> float:
        """The emulator process's CPU time so far (all its threads)."""
        seconds: float = self._ask("cpu")
        return seconds

    def create_peers(self, plural: str, names: Sequence[str]) -> int:
        """Create batch Jobs (``"jobs"``) or bare pods (``"pods"``) that run until ended."""
        created: int = self._ask("create_peers", (plural, list(names)))
        return created

    def end_pods(self, names: Sequence[str]) -> float:
        """End the pods of these batch Jobs or these bare pods now; returns when."""
        when: float = self._ask("end_pods", list(names))
        return when

    def create_held(self, jobs: Sequence[tuple[str, float]]) -> int:
        """Create suspended MPIJobs ``(name, duration)`` straight in the store (no request).

        Thousands of jobs are set up in seconds, and the counters see nothing
        of it; the jobs are the ones :func:`held_mpijob` builds.
        """
        created: int = self._ask("create_held", list(jobs))
        return created

    def clear(self) -> int:
        """Delete every MPIJob (and event) of the namespace; collect again; return how many."""
        cleared: int = self._ask("clear")
        return cleared

    def create_latency(self, seconds: float) -> None:
        """Delay every MPIJob create by ``seconds`` in the emulator (0: none)."""
        self._ask("latency", seconds)

    def controller_errors(self) -> list[str]:
        """Errors raised on the emulator's controller thread."""
        errors: list[str] = self._ask("errors")
        return errors


# ------------------------------------------------------------------ the jobs


def scripted_template(duration: float, *, min_slots: int = 1, name: str = "") -> Any:
    """A JobTemplate whose emulated launcher works ``duration`` seconds and succeeds."""
    from airflow_provider_mpi.drmaa2 import JobTemplate
    from airflow_provider_mpi.mpioperator.template import set_annotations_extension

    jt = JobTemplate(
        remote_command="python",
        args=["pi.py"],
        job_category=IMAGE,
        min_slots=min_slots,
        job_name=name,
    )
    return set_annotations_extension(jt, {SCRIPT + "duration": str(duration)})


def held_mpijob(name: str, duration: float, namespace: str = "default") -> dict[str, Any]:
    """The MPIJob the tracker would submit for a scripted template, created suspended.

    The benchmarks create jobs suspended, start waiting, zero the counters,
    and only then release the jobs in the store, so the wait's length and
    the requests it cost are measured alone.
    """
    from airflow_provider_mpi.mpioperator.template.convert import build_mpi_job

    mpijob = build_mpi_job(scripted_template(duration, name=name), namespace=namespace)
    mpijob["spec"].setdefault("runPolicy", {})["suspend"] = True
    return mpijob


def peer_object(plural: str, name: str, namespace: str = "default") -> dict[str, Any]:
    """A batch Job or a bare pod for the cncf triggers, running until its script ends it.

    The emulator's kubelet runs the pod for the ``duration`` its annotation
    says (an hour here); :meth:`ClusterProcess.end_pods` sets it to 0.
    """
    annotations = {SCRIPT + "duration": "3600"}
    spec = {
        "restartPolicy": "Never",
        "containers": [{"name": "base", "image": "busybox", "command": ["true"]}],
    }
    if plural == "pods":
        metadata = {
            "name": name,
            "namespace": namespace,
            "labels": {BARE_LABEL: "true"},
            "annotations": annotations,
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": {"annotations": annotations}, "spec": spec},
        },
    }


async def poll_wait(tracker: Any, job_id: str, interval: float) -> float:
    """The Go seed's wait: ask for the state, sleep ``interval``, until the job ended.

    Args:
        tracker: an ``AsyncMPIOperatorTracker`` (the same client as ours).
        job_id: the job.
        interval: seconds between two reads.

    Returns:
        ``time.time()`` when the end was seen.
    """
    while True:
        state, _ = await tracker.job_state(job_id)
        if state.is_terminal:
            return time.time()
        await asyncio.sleep(interval)


# ---------------------------------------------------------------- the figures


def percentiles(values: Sequence[float], points: Iterable[float] = (50, 95, 99)) -> list[float]:
    """Nearest-rank percentiles, then the maximum (empty input gives NaNs)."""
    ordered = sorted(values)
    if not ordered:
        return [float("nan")] * (len(list(points)) + 1)
    out = []
    for p in points:
        rank = max(1, -(-len(ordered) * p // 100))
        out.append(ordered[int(rank) - 1])
    return [*out, ordered[-1]]


def delays_ms(ended: dict[str, float], seen: dict[str, float]) -> list[float]:
    """Per job, milliseconds from the terminal condition's write to the client noticing it."""
    return [(seen[name] - ended[name]) * 1000 for name in seen if name in ended]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An aligned text table (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]

    def line(values: Sequence[str], numeric: Sequence[bool]) -> str:
        return "  ".join(
            v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True)
        ).rstrip()

    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]
    out = [line(list(headers), numeric), line(["-" * w for w in widths], [False] * len(widths))]
    out += [line(r, numeric) for r in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit() or text == "-"


def verdict(target: str, met: bool, figures: str) -> str:
    """One line: ``TARGET ... met|NOT MET (figures)``."""
    return f"verdict: {target}: {'met' if met else 'NOT MET'} ({figures})"


def rss_bytes() -> int:
    """This process's resident set size."""
    with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def scale_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The waiting-at-scale benches' common options, parsed (``--quick`` applied)."""
    parser.add_argument("--waiters", type=int, nargs="+", default=[1000, 5000], help="N")
    parser.add_argument("--rate", type=int, default=100, help="ends per second (100)")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long jobs end (15)")
    parser.add_argument(
        "--gc",
        nargs="+",
        choices=["off", "hub", "freeze"],
        default=["off", "hub", "freeze"],
    )
    parser.add_argument(
        "--state-only",
        action="store_true",
        help="wait() instead of wait_info(): the MPIJob stream alone, no pod stream",
    )
    parser.add_argument("--quick", action="store_true", help="N = 500 and 2,000, 8 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.waiters, args.seconds = [500, 2000], 8.0
    return args
