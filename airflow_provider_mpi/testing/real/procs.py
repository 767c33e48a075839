"""Child processes that cannot outlive us: own process group, killed with their parent.

Every binary of the real control plane (and every ``go`` command that builds
one) is started here. Three guarantees:

- each child leads its own process group, so stopping it also stops what it
  started;
- ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill the child when
  the thread that started it dies, also when the parent is SIGKILLed and has
  no chance to clean up (start children from a thread that lives as long as
  the cluster, such as the main thread);
- output goes to a log file whose tail explains an early exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "check_port_free",
    "free_port",
    "log_tail",
    "port_in_use",
    "spawn",
    "stop_process",
]

_PR_SET_PDEATHSIG = 1
# Resolved once here: between fork and exec the child only calls it (no loading, no lock).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _die_with_parent(parent: int) -> None:
    """Run in the child between fork and exec: ask to be killed with the parent."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    # The parent may have died between fork and prctl: then nobody would kill us.
    if os.getppid() != parent:
        os._exit(1)


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a process in its own group, killed with us, its output appended to ``log_path``.

    Args:
        argv: The command.
        log_path: Where stdout and stderr go.
        env: The environment (default: ours).
        cwd: The working directory.

    Returns:
        The process.
    """
    parent = os.getpid()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent),
        )


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> int | None:
    """Stop a process and its group: SIGTERM, then SIGKILL after ``grace`` seconds.

    Args:
        process: A process from :func:`spawn`.
        grace: Seconds to wait after SIGTERM.

    Returns:
        Its exit status.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # What the child started, in its group, goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.poll()


def log_tail(path: Path, lines: int = 25, max_bytes: int = 64 * 1024) -> str:
    """The last lines of a log file (empty when it does not exist).

    Args:
        path: The file.
        lines: How many lines.
        max_bytes: How much of the end of the file to read at most.

    Returns:
        The lines, joined.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except FileNotFoundError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on (or holds) ``host:port``.

    Args:
        port: The port.
        host: The address.

    Returns:
        True when binding it fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As Go's listeners do: a port held only by closed connections is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def check_port_free(port: int, what: str, hint: str = "") -> None:
    """Raise :class:`PortInUseError` when ``port`` is taken on 127.0.0.1 (or on any address).

    Args:
        port: The port.
        what: What it was meant for (put in the message).
        hint: Extra advice for the message.

    Raises:
        PortInUseError: When the port is taken.
    """
    from airflow_provider_mpi.testing.real.errors import PortInUseError

    if port_in_use(port, "127.0.0.1") or port_in_use(port, "0.0.0.0"):
        raise PortInUseError(port, what, hint)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now (the kernel's choice).

    Returns:
        The port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
