"""Benchmark: array submission against sequential add_job on the REAL API server, and the floor.

``bench_array.py`` measures submission speed on the emulator, whose API
server is Python sharing 2 cores with the client. Here, in one run, on the
real control plane (``RealCluster``: Go kube-apiserver v1.35.4, etcd,
kube-controller-manager, kube-scheduler, the real mpi-operator v0.8.2):
``--tasks`` (1,000) MPIJobs created one after the other with
``MPIOperatorTracker.add_job``, then one array of as many tasks with the
sync and with the async tracker (``add_array_job(jt, 1, N, 1, 1)``: the
owner ConfigMap, then one create per task; ``max_parallel`` 1 holds all
tasks but one, and the one-by-one jobs are created held too, so both sides
create the same objects). Then the emulator's API server alone, as
``bench_array``'s first setting.

Per phase, the CPU seconds of every process (``/proc/<pid>/stat``): each
control-plane component, this process (the client), the latency proxy; and
the control plane's tail (what it spent after the phase until quiet again:
the operator still reconciling). From them, **the floor**: the control
plane's CPU for the async array's creates divided by the cores of this
machine is a lower bound on any client's array time here, since the server
must do that work on these cores whatever the client does; ``floor ratio =
floor / sequential seconds`` stands beside the measured ratio. The
``all CPU`` floor adds the client's and the proxy's CPU: the bound for this
very client on this machine.

First, what one create costs the control plane by body (``_body_cost``):
the tracker's task, the same without its annotations and labels, a minimal
MPIJob, a ConfigMap of the same bytes; its rehearsal pass also warms the
server up before the measured phases.

Two variants: **operator** (the headline: the mpi-operator reconciles every
new MPIJob, as a cluster's does) and **unmanaged** (every MPIJob created with
``runPolicy.managedBy: kueue.x-k8s.io/multikueue``, which v0.8.2 leaves to
another controller; see ``_array_clients``), to separate the operator's
reaction from the submission itself. A sample of each phase's jobs is read
back: the operator's ``Created`` condition must be on the first and absent
from the second.

On this machine client and server share one loopback: ``--rtt-ms`` (0, 2, 5,
10 ms) puts the real server that far away through a proxy in its own process
(``_latency_proxy.py``), delaying every chunk by half the round trip each way.

Clients as a user's kubeconfig makes them (pool: ``kubernetes`` 5 per CPU,
``kubernetes_asyncio`` 100; ``--pool`` sets both). ``--profile``: one async
array on loopback, its client CPU per task and the parts of it measured
alone (``_client_profile``).

Run from the repository root with the real cluster's binaries built
(``MPI_REAL_CLUSTER_CACHE``, ``/usr/local/go/bin`` on PATH):
``.venv/bin/python bench/bench_array_real.py`` (``--quick``: 200 tasks).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _array_clients import MULTIKUEUE, NAMESPACE, SUBMISSIONS
from _body_cost import IN_FLIGHT, body_costs
from _cpu_meter import CLIENT, CpuMeter, cores
from _harness import ClusterProcess, table, verdict
from _latency_proxy import LatencyProxy, kubeconfig_via, server_port

#: The control plane's processes, in table order, with their short column names.
PLANE = (
    ("kube-apiserver", "apiserver"),
    ("etcd", "etcd"),
    ("mpi-operator", "operator"),
    ("kube-controller-manager", "kcm"),
    ("kube-scheduler", "scheduler"),
)
PLANE_NAMES = tuple(name for name, _ in PLANE)
PROXY = "proxy"
VARIANTS = {"operator": None, "unmanaged": MULTIKUEUE}
SAMPLE = 3


@dataclass
class Phase:
    """One way of submitting, on one server, in one variant."""

    server: str
    variant: str
    how: str
    jobs: int
    seconds: float
    cpu: dict[str, float]
    tail: float = 0.0
    idle: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    names: list[str] = field(default_factory=list)

    @property
    def plane(self) -> float:
        """The control plane's CPU seconds during the phase."""
        return sum(self.cpu.get(name, 0.0) for name in PLANE_NAMES)

    def per_create(self, name: str) -> float:
        """CPU milliseconds per create of one process."""
        return 1000.0 * self.cpu.get(name, 0.0) / self.jobs


def _sample_names(how: str, prefix: str, jobs: int) -> list[str]:
    ids = sorted({1, jobs // 2, jobs})[:SAMPLE]
    if how.startswith("sequential"):
        return [f"{prefix}-seq-{i}" for i in ids]
    kind = "sync" if how.startswith("sync") else "async"
    return [f"{prefix}-{kind}-{i}" for i in ids]


def measure(
    server: str, variant: str, kubeconfig: str, args: argparse.Namespace, meter: CpuMeter
) -> list[Phase]:
    """The three submissions on one server; ``meter`` reads the processes around each."""
    tag = "emu" if server == "emulator" else "r" + "".join(c for c in server if c.isdigit())
    prefix = f"{tag}-{variant[0]}"
    plane = tuple(n for n in PLANE_NAMES if n in meter.pids)
    phases = []
    for how, submit in SUBMISSIONS:
        idle = meter.rate(plane, 1.0) if plane else 0.0
        load = os.getloadavg()[0]
        before = meter.read()
        seconds = submit(kubeconfig, args.tasks, prefix, args.pool, VARIANTS.get(variant))
        spent = CpuMeter.spent(before, meter.read())
        phase = Phase(server, variant, how, args.tasks, seconds, spent, idle=idle)
        phase.load = (load, os.getloadavg()[0])
        phase.names = _sample_names(how, prefix, args.tasks)
        if plane:
            phase.tail, _ = meter.settle(plane, limit=args.settle)
        phases.append(phase)
        print(f"  {server}, {variant}: {how} done ({seconds:.1f} s)", file=sys.stderr, flush=True)
    return phases


def check_samples(cluster: Any, phases: list[Phase]) -> list[str]:
    """Read back a sample of each phase's MPIJobs: who manages them, did the operator act."""
    from kubernetes import client

    api = client.CustomObjectsApi(cluster.api_client(admin=True))
    seen: dict[str, list[int]] = {}
    for phase in phases:
        counts = seen.setdefault(phase.variant, [0, 0, 0])
        for name in phase.names:
            job = api.get_namespaced_custom_object(
                "kubeflow.org", "v2beta1", NAMESPACE, "mpijobs", name
            )
            conditions = (job.get("status") or {}).get("conditions") or []
            counts[0] += 1
            counts[1] += any(c.get("type") == "Created" for c in conditions)
            counts[2] += job["spec"].get("runPolicy", {}).get("managedBy") == MULTIKUEUE
    lines = [
        f"  {variant}: of {n} sampled jobs (first, middle, last of each phase), {created} "
        f"reconciled by mpi-operator (condition Created), {managed} with managedBy {MULTIKUEUE}"
        for variant, (n, created, managed) in seen.items()
    ]
    core = client.CoreV1Api(cluster.api_client(admin=True))
    jobs = api.list_namespaced_custom_object(
        "kubeflow.org", "v2beta1", NAMESPACE, "mpijobs", limit=1
    )
    services = core.list_namespaced_service(NAMESPACE, limit=1)
    job_count = len(jobs["items"]) + (jobs["metadata"].get("remainingItemCount") or 0)
    service_count = len(services.items) + (services.metadata.remaining_item_count or 0)
    lines.append(
        f"  in the namespace at the end: {job_count:,} MPIJobs, {service_count:,} Services (one "
        "per MPIJob the operator reconciled, and the API server's own 'kubernetes')"
    )
    return lines


def operator_flags(args: argparse.Namespace) -> dict[str, list[str]]:
    """mpi-operator's client rate limit, when ``--operator-qps`` raises it from v0.8.2's 5/s."""
    if not args.operator_qps:
        return {}
    qps = args.operator_qps
    return {"mpi-operator": [f"--kube-api-qps={qps}", f"--kube-api-burst={2 * qps}"]}


def real_phases(args: argparse.Namespace) -> tuple[list[Phase], list[str], list[Any]]:
    """The creates' cost by body, then every variant at every distance, on one control plane."""
    from airflow_provider_mpi.testing.real import RealCluster

    phases: list[Phase] = []
    with (
        RealCluster(
            namespace=NAMESPACE, nodes=(), wait_for_machine=600, extra_args=operator_flags(args)
        ) as cluster,
        tempfile.TemporaryDirectory(prefix="bench-array-real-") as folder,
    ):
        pids = {name: pid for name, pid in cluster.pids.items() if name in PLANE_NAMES}
        CpuMeter(pids).settle(PLANE_NAMES, limit=args.settle)
        costs = []
        if args.cost_creates:
            costs = body_costs(
                cluster.kubeconfig_path,
                NAMESPACE,
                CpuMeter(pids),
                PLANE_NAMES,
                args.cost_creates,
                args.cost_passes,
            )
            print("  cost by body done", file=sys.stderr, flush=True)
        for rtt in args.rtt_ms:
            server = "real" + (f", {rtt:g} ms away" if rtt else ", loopback")
            for variant in args.variants:
                if not rtt:
                    phases += measure(
                        server, variant, cluster.kubeconfig_path, args, CpuMeter(pids)
                    )
                    continue
                with LatencyProxy(server_port(cluster.kubeconfig_path), rtt) as proxy:
                    kubeconfig = kubeconfig_via(
                        cluster.kubeconfig_path, proxy.port, Path(folder) / f"rtt-{rtt:g}.yaml"
                    )
                    meter = CpuMeter({**pids, PROXY: proxy.pid})
                    phases += measure(server, variant, kubeconfig, args, meter)
        checks = check_samples(cluster, phases)
    return phases, checks, costs


def report_costs(costs: list[Any], count: int, passes: int) -> None:
    """The table of what one create costs the control plane, by body."""
    if not costs:
        return
    print(
        f"\nWhat a create costs, by body: {count} creates of each, {IN_FLIGHT} in flight, a bare "
        "kubernetes_asyncio client, real API server on loopback (after a rehearsal pass, the "
        f"cheapest of {passes} passes); CPU ms per create"
    )
    print(
        table(
            ["body", "bytes", *(short for _, short in PLANE), "plane", "client"],
            [
                (
                    label,
                    size,
                    *(per.get(name, 0.0) for name in PLANE_NAMES),
                    sum(per.get(name, 0.0) for name in PLANE_NAMES),
                    per[CLIENT],
                )
                for label, size, per in costs
            ],
        )
    )


def report(phases: list[Phase], args: argparse.Namespace, began: float) -> None:
    """Print the three tables, the sample checks' lines aside, and the verdicts."""
    n = cores()
    groups: dict[tuple[str, str], list[Phase]] = {}
    for phase in phases:
        groups.setdefault((phase.server, phase.variant), []).append(phase)
    print(
        f"\nSubmission of {args.tasks} MPIJobs: one by one (held) against one array "
        f"(max_parallel 1), on the real control plane (kube-apiserver v1.35.4, etcd, "
        f"kube-controller-manager, kube-scheduler, mpi-operator v0.8.2; no nodes), at added "
        f"round trips of {', '.join(f'{r:g}' for r in args.rtt_ms)} ms, in the variants "
        f"{', '.join(args.variants)}, then on the emulator's API server alone; client pool: "
        f"{args.pool or 'library default'}; mpi-operator's client limit: "
        f"{f'{args.operator_qps}/s (--kube-api-qps)' if args.operator_qps else '5/s (its default)'}"
        f"; {n} cores; {time.monotonic() - began:.0f} s\n"
    )
    rows = []
    for (server, variant), group in groups.items():
        base = group[0].seconds
        rows += [
            (
                server,
                variant,
                p.how,
                p.seconds,
                p.jobs / p.seconds,
                f"{p.seconds / base:.3f}",
                p.cpu[CLIENT],
                p.plane if variant != "emulator" else p.cpu.get("emulator", 0.0),
                f"{p.load[0]:.1f}-{p.load[1]:.1f}",
            )
            for p in group
        ]
    print(
        table(
            [
                "server",
                "variant",
                "how",
                "seconds",
                "jobs/s",
                "ratio",
                "client CPU s",
                "server CPU s",
                "load avg",
            ],
            rows,
        )
    )
    print(
        "(server CPU: the whole control plane during the phase, or the emulator's process; "
        "load avg: the 1-minute load average at the phase's start and end)\n"
    )
    real = [p for p in phases if p.variant != "emulator"]
    print("CPU ms per create, by process (during the phase; tail: the control plane after it)")
    print(
        table(
            ["server", "variant", "how"]
            + [short for _, short in PLANE]
            + ["plane", "tail", "client", PROXY, "idle cores"],
            [
                (
                    p.server,
                    p.variant,
                    p.how,
                    *(p.per_create(name) for name in PLANE_NAMES),
                    1000.0 * p.plane / p.jobs,
                    1000.0 * p.tail / p.jobs,
                    p.per_create(CLIENT),
                    p.per_create(PROXY) if PROXY in p.cpu else float("nan"),
                    f"{p.idle:.2f}",
                )
                for p in real
            ],
        )
    )
    print(
        "(plane: the five control-plane processes together; idle cores: the control plane's "
        "CPU rate in the second before the phase)\n"
    )
    bound_rows = []
    for (server, variant), group in groups.items():
        if variant == "emulator":
            continue
        base, array = group[0], group[2]
        floor = (array.cpu["kube-apiserver"] + array.cpu["etcd"]) / n
        plane = array.plane / n
        all_cpu = (array.plane + array.cpu[CLIENT] + array.cpu.get(PROXY, 0.0)) / n
        bound_rows.append(
            (
                server,
                variant,
                base.seconds,
                array.seconds,
                f"{array.seconds / base.seconds:.3f}",
                floor,
                f"{floor / base.seconds:.3f}",
                f"{plane / base.seconds:.3f}",
                all_cpu,
                f"{all_cpu / base.seconds:.3f}",
            )
        )
    print(f"The floor: the async array's CPU on {n} cores, against its measured time")
    print(
        table(
            [
                "server",
                "variant",
                "sequential s",
                "async array s",
                "ratio",
                "floor s",
                "floor ratio",
                "+controllers",
                "all-CPU s",
                "all-CPU ratio",
            ],
            bound_rows,
        )
    )
    print(
        f"(floor: kube-apiserver + etcd CPU during the array / {n} cores, the server's own work "
        f"for the creates: no client submits the array faster on this machine; floor ratio: "
        f"floor / sequential s; +controllers: the same with the operator, controller-manager "
        f"and scheduler working meanwhile; all-CPU: every process of the run (plane, client, "
        f"proxy) / {n} cores, which the measured time cannot beat either)\n"
    )
    for (server, variant), group in groups.items():
        base = group[0].seconds
        print(
            verdict(
                f"{server}, {variant}: an array submits >= 10x faster than add_job one by one "
                "(ratio <= 0.1)",
                all(p.seconds / base <= 0.1 for p in group[1:]),
                "; ".join(f"{p.how}: {p.seconds / base:.3f}" for p in group[1:]),
            )
        )
    for row in bound_rows:
        print(
            verdict(
                f"{row[0]}, {row[1]}: the machine allows ratio <= 0.1 (floor ratio <= 0.1)",
                float(row[6]) <= 0.1,
                f"floor ratio {row[6]}, with the controllers {row[7]}, measured {row[4]}",
            )
        )


def warm_up() -> None:
    """Import both clients and trackers first, so that no phase's client CPU pays for imports."""
    for module in (
        "kubernetes.client",
        "kubernetes.config",
        "kubernetes_asyncio.client",
        "kubernetes_asyncio.config",
        "airflow_provider_mpi.mpioperator.tracker.sync",
        "airflow_provider_mpi.mpioperator.tracker.aio",
    ):
        importlib.import_module(module)


def main(argv: list[str] | None = None) -> int:
    """Run the real control plane, then the emulator; print the tables and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000, help="jobs per submission (1000)")
    parser.add_argument("--pool", type=int, default=None, help="client connection pool size")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        nargs="+",
        default=[0.0, 2.0, 5.0, 10.0],
        help="round trips added between client and real API server (0 2 5 10 ms)",
    )
    parser.add_argument(
        "--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS), help="both"
    )
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to wait at most for a quiet plane"
    )
    parser.add_argument(
        "--cost-creates", type=int, default=500, help="creates per body in the cost table (0: none)"
    )
    parser.add_argument(
        "--operator-qps",
        type=int,
        default=0,
        help="mpi-operator's --kube-api-qps (burst twice that); default: v0.8.2's own, 5",
    )
    parser.add_argument(
        "--cost-passes", type=int, default=2, help="measured passes of the cost table (2)"
    )
    parser.add_argument("--json", default="", help="also write the raw figures to this file")
    parser.add_argument("--no-emulator", action="store_true", help="the real server only")
    parser.add_argument("--quick", action="store_true", help="200 tasks")
    parser.add_argument(
        "--profile", action="store_true", help="split the client CPU of one async array"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.tasks = 200
    if args.profile:
        from _client_profile import profile_async_array

        return profile_async_array(args.tasks)

    warm_up()
    began = time.monotonic()
    phases, checks, costs = real_phases(args)
    if not args.no_emulator:
        with ClusterProcess(speed="manual") as emulator:
            pid = emulator._process.pid
            assert pid is not None
            meter = CpuMeter({"emulator": pid})
            phases += measure("emulator", "emulator", emulator.kubeconfig_path, args, meter)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"phases": [asdict(p) for p in phases], "costs": costs, "checks": checks})
        )
    report(phases, args, began)
    report_costs(costs, args.cost_creates, args.cost_passes)
    print("\nread back (a sample of each phase's jobs, after the run):")
    print("\n".join(checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
