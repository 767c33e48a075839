"""Errors of the real control plane: each names what is missing, where, and what to do.

One small tree, so a test or ``serve --real`` can tell a machine without Go
from a module the proxy refuses, a port already taken, or a component that
died during start::

    RealClusterError
    ├── BuildError
    │   ├── GoToolchainMissingError
    │   └── ModuleUnavailableError
    ├── PortInUseError
    ├── ComponentExitedError
    ├── ComponentNotReadyError
    └── ManifestError
"""

from __future__ import annotations

__all__ = [
    "BuildError",
    "ComponentExitedError",
    "ComponentNotReadyError",
    "GoToolchainMissingError",
    "ManifestError",
    "ModuleUnavailableError",
    "PortInUseError",
    "RealClusterError",
]


class RealClusterError(RuntimeError):
    """Base of every error raised while building, starting or stopping the real control plane."""


class BuildError(RealClusterError):
    """A Go build step failed; the message carries the command and the tail of its output."""


class GoToolchainMissingError(BuildError):
    """No usable ``go`` command was found."""

    def __init__(self, go: str, detail: str = "") -> None:
        self.go = go
        why = f": {detail}" if detail else ""
        text = (
            f"no Go toolchain: {go!r} was not found or does not run{why}."
            " The real control plane is built from Go modules; install Go 1.26 or newer"
            " (https://go.dev/dl/) and put it on PATH, or set MPI_REAL_CLUSTER_GO to the go binary."
        )
        super().__init__(text)


class ModuleUnavailableError(BuildError):
    """The Go module proxy (or the module cache) could not provide a module."""

    def __init__(self, module: str, version: str, detail: str) -> None:
        self.module = module
        self.version = version
        super().__init__(
            f"the Go module proxy refused {module}@{version} (GOPROXY, GOFLAGS and the network"
            f" decide where it is fetched from): {detail}"
        )


class PortInUseError(RealClusterError):
    """A port the control plane must listen on is taken."""

    def __init__(self, port: int, what: str, hint: str = "") -> None:
        self.port = port
        self.what = what
        super().__init__(
            f"port {port} on 127.0.0.1 is already in use; it was requested for {what}"
            + (f" ({hint})" if hint else "")
        )


class ComponentExitedError(RealClusterError):
    """A component process ended while the cluster was starting or running."""

    def __init__(self, name: str, returncode: int | None, log_path: str, log_tail: str) -> None:
        self.name = name
        self.returncode = returncode
        self.log_path = log_path
        self.log_tail = log_tail
        super().__init__(
            f"{name} exited early with status {returncode}; the last lines of its log"
            f" ({log_path}):\n{log_tail}"
        )


class ComponentNotReadyError(RealClusterError):
    """A component kept running but did not become ready in time."""

    def __init__(self, name: str, waited: float, what: str, log_tail: str = "") -> None:
        self.name = name
        super().__init__(
            f"{name} did not become ready within {waited:.0f} s ({what})"
            + (f"; the last lines of its log:\n{log_tail}" if log_tail else "")
        )


class ManifestError(RealClusterError):
    """An upstream manifest (the operator's CRD or RBAC) is missing or not the expected one."""
