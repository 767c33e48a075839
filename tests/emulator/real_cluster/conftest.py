"""Helpers for the real control plane's own tests: a cache of fake binaries, process checks."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_mpi.testing.real.build import Builder
from airflow_provider_mpi.testing.real.versions import COMPONENTS


def fake_cache(folder: Path, scripts: dict[str, str]) -> Path:
    """A binary cache whose "binaries" are shell scripts (default: sleep until killed)."""
    for component in COMPONENTS:
        target = folder / component.key
        (target / "bin").mkdir(parents=True)
        for name in component.binary_names:
            path = target / "bin" / name
            path.write_text("#!/bin/sh\n" + scripts.get(name, "exec sleep 600\n"))
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        (target / "build.json").write_text(json.dumps({"module_dir": ""}))
    return folder


def pid_alive(pid: int) -> bool:
    """Whether any thread of a process still runs.

    A killed Go program's main thread can be a zombie while its other threads
    are still exiting, and until the last one has, its files (its listening
    sockets) stay open: the process is gone only when every thread is.
    """
    for stat_file in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            state = stat_file.read_text().rpartition(") ")[2][:1]
        except OSError:  # the thread has just been reaped
            continue
        if state not in ("Z", "X", ""):
            return True
    return False


def wait_gone(pids: list[int], timeout: float = 30.0) -> list[int]:
    """Wait until none of ``pids`` runs; return those still running at the timeout."""
    deadline = time.monotonic() + timeout
    alive = [pid for pid in pids if pid_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if pid_alive(pid)]
    return alive


@pytest.fixture(scope="session")
def built_cache() -> Path:
    """The real binaries' cache; skips (saying how to build) when they are not built."""
    builder = Builder()
    missing = builder.missing()
    if missing:
        reason = (
            "the real control plane is not built ("
            + ", ".join(c.key for c in missing)
            + f" in {builder.cache}): run `python -m airflow_provider_mpi.testing build-real`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return builder.cache


def children_of(pid: int) -> list[int]:
    """Direct children of a process (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if int(handle.read().split(") ", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, IndexError, ValueError):
                continue
    return found


@pytest.fixture(autouse=True)
def _share_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait for another RealCluster on this machine (another session's) instead of failing."""
    monkeypatch.setenv("MPI_REAL_CLUSTER_WAIT", "900")


@pytest.fixture(scope="module")
def machine() -> Iterator[None]:
    """The machine's one operator port for this module: pause the clusters this process runs.

    A session that also runs the real tier (``--cluster=both``) keeps its
    RealCluster up; these tests start their own (or fake ones), so they stop
    it first and start it again after, waiting for the machine if needed.
    """
    from airflow_provider_mpi.testing.real import RealCluster

    paused = RealCluster.started_here()
    for cluster in paused:
        cluster.stop()
    yield
    for cluster in paused:
        cluster.start(wait_for_machine=900)
