"""The processes of one start: spawn, watch, wait for, stop; and the operator port's claim.

A :class:`ComponentGroup` owns every process of a
:class:`~.cluster.RealCluster` start: it adds the user's extra flags, keeps
each log, turns an early exit into a :class:`~.errors.ComponentExitedError`
with the log's tail, and stops the processes in reverse start order.

mpi-operator v0.8.2 listens on ``:8080`` for its health check, a constant in
its source, so one operator per machine can run at a time. :class:`PortClaim`
records which process holds it (a lock file beside the temporary folders), so
a second start names the first instead of failing with a bare "in use".
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from airflow_provider_mpi.testing.real import bootstrap
from airflow_provider_mpi.testing.real.errors import ComponentExitedError, PortInUseError
from airflow_provider_mpi.testing.real.procs import check_port_free, log_tail, spawn, stop_process

__all__ = ["Child", "ComponentGroup", "PortClaim"]


@dataclass
class Child:
    """One running component."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


class ComponentGroup:
    """The processes of one start, in start order.

    Args:
        folder: The start's private folder (logs go to ``logs/``).
        extra_args: More flags per component name.
        timeout: Seconds a component may take to become ready.
        grace: Seconds each component gets to stop after SIGTERM, by name (default 5).
    """

    def __init__(
        self,
        folder: Path,
        extra_args: Mapping[str, Sequence[str]],
        timeout: float,
        grace: Mapping[str, float] | None = None,
    ) -> None:
        self.folder = folder
        self._extra = extra_args
        self._timeout = timeout
        self._grace = dict(grace or {})
        self.children: list[Child] = []

    def spawn(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
        """Start a component (with its extra flags), its output in ``logs/<name>.log``."""
        log = self.folder / "logs" / f"{name}.log"
        argv = [*argv, *self._extra.get(name, ())]
        child = Child(name, spawn(argv, log_path=log, env=env, cwd=self.folder), log)
        self.children.append(child)
        return child

    def check_alive(self) -> None:
        """Raise when a component process has ended.

        Raises:
            ComponentExitedError: Naming the component, its status and its last log lines.
        """
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise ComponentExitedError(child.name, code, str(child.log), log_tail(child.log))

    def wait(self, child: Child, what: str, probe: Callable[[], bool]) -> None:
        """Wait until ``probe()`` is true, failing early when any component exits."""
        bootstrap.wait_until(
            child.name,
            what,
            probe,
            timeout=self._timeout,
            check_alive=self.check_alive,
            log_tail=lambda: log_tail(child.log),
        )

    def stop(self) -> None:
        """Stop every component, the last started first."""
        while self.children:
            child = self.children.pop()
            stop_process(child.process, grace=self._grace.get(child.name, 5.0))


class PortClaim:
    """Who holds a fixed port on this machine: a locked file naming the holder's pid.

    Args:
        port: The port.
        what: What it is for (for the message).
        hint: Advice for the message.
    """

    #: The longest a claim taken with a wait also waits for the port itself to be
    #: freed (by the exiting operator of a cluster that was just killed); a port
    #: that another program keeps is refused after it.
    PORT_GRACE = 10.0

    def __init__(self, port: int, what: str, hint: str) -> None:
        self.port = port
        self.what = what
        self.hint = hint
        self.path = Path(tempfile.gettempdir()) / f"mpi-real-cluster-port-{port}.lock"
        self._handle: int | None = None

    def acquire(self, wait: float = 0.0, progress: Callable[[str], None] | None = None) -> None:
        """Claim the port, or raise naming who holds it.

        Args:
            wait: Seconds to wait for another RealCluster to give the claim up, and
                then (at most :attr:`PORT_GRACE` of them) for its operator to free the port.
            progress: Told once when waiting starts.

        Raises:
            PortInUseError: Another start holds the claim (after ``wait``), or another
                program the port.
        """
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(handle, 200, 0).decode(errors="replace").strip()
                if time.monotonic() >= deadline:
                    os.close(handle)
                    raise PortInUseError(
                        self.port,
                        self.what,
                        f"held by another RealCluster: {holder or 'unknown process'}; {self.hint}",
                    ) from None
                if progress is not None and not told:
                    progress(f"waiting up to {wait:.0f} s for the RealCluster of {holder} to stop")
                    told = True
                time.sleep(0.2)
        # A cluster that was killed gives the claim up as it dies; its operator,
        # killed by the kernel in turn, frees the port a moment later.
        port_deadline = time.monotonic() + min(wait, self.PORT_GRACE)
        while True:
            try:
                check_port_free(self.port, self.what, self.hint)
                break
            except PortInUseError:
                if time.monotonic() >= port_deadline:
                    os.close(handle)
                    raise
                time.sleep(0.1)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"pid {os.getpid()}\n".encode(), 0)
        self._handle = handle

    def release(self) -> None:
        """Give the claim up (idempotent)."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._handle, 0)
            os.close(self._handle)
            self._handle = None
