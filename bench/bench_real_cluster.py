"""The real control plane's figures: build time (fresh, recorded, cached) and start time.

What it prints:

- **recorded**: the seconds each component's build took when it was first
  built into this binary cache (``build.json``), with the Go build cache as
  it was then;
- **warm rebuild**: each component built again into an empty binary cache
  with the Go build cache warm (what a new checkout or worktree pays: the
  link steps, and any package not compiled yet);
- **cached**: ``Builder.ensure()`` on the filled binary cache (nothing to do);
- **start**: ``RealCluster.start()`` until the kubeconfig is ready (CRD
  Established, the operator leading with its workers started, the
  controller-manager's service accounts made, the node agent's Nodes
  registered), and ``stop()``, over ``--starts`` runs;
- with ``--fresh``: each component built with an EMPTY Go build cache
  (``GOCACHE`` in a temporary folder; downloaded modules stay in the module
  cache, so this is compile and link time, not download time).

Goals (issue 11): fresh build <= 15 min on a 2-core machine; start <= 15 s cached.
Run: ``python bench/bench_real_cluster.py [--starts 3] [--fresh]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import table, verdict

from airflow_provider_mpi.testing.real import Builder, RealCluster, RealClusterError
from airflow_provider_mpi.testing.real.versions import COMPONENTS


def _quiet(line: str) -> None:
    pass


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far (go and its compilers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rebuild(environ: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Each component built into an empty binary cache: (wall seconds, CPU seconds)."""
    times = {}
    with tempfile.TemporaryDirectory(prefix="bench-real-build-") as folder:
        builder = Builder(Path(folder), progress=_quiet, environ=environ)
        for component in COMPONENTS:
            cpu = _children_cpu()
            wall = builder.build(component)
            times[component.key] = (wall, _children_cpu() - cpu)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3, help="cluster starts to time")
    parser.add_argument("--fresh", action="store_true", help="also build with an empty GOCACHE")
    parser.add_argument("--no-rebuild", action="store_true", help="skip the warm rebuild")
    args = parser.parse_args()

    builder = Builder(progress=lambda line: print(f"  {line}", flush=True))
    print(f"binary cache: {builder.cache}", flush=True)
    first = time.monotonic()
    try:
        builder.ensure()
    except RealClusterError as exc:
        print(f"not measured: the real control plane cannot be built here: {exc}")
        return 0
    first_seconds = time.monotonic() - first
    started = time.monotonic()
    builder.ensure()
    cached = time.monotonic() - started

    rows = []
    recorded_total = 0.0
    for component in COMPONENTS:
        info = builder.build_info(component)
        seconds = float(str(info["seconds"]))
        recorded_total += seconds
        rows.append([component.key, "recorded", seconds, "", str(info.get("built_at", ""))])
    rows.append(["all", "recorded", round(recorded_total, 1), "", ""])
    rows.append(["all", "ensure() now", round(first_seconds, 3), "", "built what was missing"])
    rows.append(["all", "cached", round(cached, 3), "", "ensure() on a full cache"])
    if not args.no_rebuild:
        print("warm rebuild (empty binary cache, warm GOCACHE) ...", flush=True)
        warm = _rebuild(dict(os.environ))
        for key, (seconds, cpu) in warm.items():
            rows.append([key, "warm rebuild", round(seconds, 1), round(cpu, 1), "GOCACHE warm"])
        rows.append(
            [
                "all",
                "warm rebuild",
                round(sum(w for w, _ in warm.values()), 1),
                round(sum(c for _, c in warm.values()), 1),
                "",
            ]
        )
    fresh_total = fresh_cpu = None
    if args.fresh:
        print("fresh build (empty GOCACHE; takes many minutes) ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-real-gocache-") as gocache:
            fresh = _rebuild({**os.environ, "GOCACHE": gocache})
        for key, (seconds, cpu) in fresh.items():
            rows.append([key, "fresh", round(seconds, 1), round(cpu, 1), "GOCACHE empty"])
        fresh_total = sum(w for w, _ in fresh.values())
        fresh_cpu = sum(c for _, c in fresh.values())
        rows.append(
            [
                "all",
                "fresh",
                round(fresh_total, 1),
                round(fresh_cpu, 1),
                f"{fresh_total / 60:.1f} min",
            ]
        )
    print()
    print(table(["build", "kind", "seconds", "CPU s", "note"], rows))
    print(
        "(CPU s: user + system time of go and its compilers; on an otherwise idle machine the wall "
        f"time is about CPU s / cores, {os.cpu_count()} cores here; load average now "
        f"{os.getloadavg()[0]:.1f})"
    )
    if fresh_total is not None and fresh_cpu is not None:
        cores = os.cpu_count() or 1
        print(
            verdict(
                "fresh build <= 15 min",
                fresh_total <= 900,
                f"{fresh_total / 60:.1f} min of wall time; {fresh_cpu / 60:.1f} CPU min, "
                f"{fresh_cpu / cores / 60:.1f} min on {cores} idle cores",
            )
        )
    else:
        print("fresh build: not measured in this run (--fresh)")

    starts: list[float] = []
    stops: list[float] = []
    for _ in range(args.starts):
        cluster = RealCluster()
        cluster.start()
        # From built binaries to a ready kubeconfig (without waiting for another cluster).
        starts.append(cluster.timings["start"])
        began = time.monotonic()
        cluster.stop()
        stops.append(time.monotonic() - began)
    if not starts:
        print("start: not measured in this run (--starts 0)")
        return 0
    print()
    print(
        table(
            ["phase", "runs", "median s", "min s", "max s"],
            [
                [
                    "start to ready kubeconfig",
                    len(starts),
                    statistics.median(starts),
                    min(starts),
                    max(starts),
                ],
                [
                    "stop (every process gone)",
                    len(stops),
                    statistics.median(stops),
                    min(stops),
                    max(stops),
                ],
            ],
        )
    )
    print()
    print(
        verdict("start <= 15 s with a cached build", max(starts) <= 15, f"max {max(starts):.1f} s")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
