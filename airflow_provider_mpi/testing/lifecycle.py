"""What starts and stops: the emulator's servers, agents and clusters as context managers.

``with X() as x:`` starts ``x`` and stops it on the way out, whatever happened
inside; :class:`Service` writes that once for every part that runs
(``EmulatorServer``, ``MPICluster``, ``RealCluster``, the node agent).
What exists only while a cluster runs is read through :func:`require_started`.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["ClusterNotRunningError", "Service", "require_started"]

_S = TypeVar("_S", bound="Service")
_T = TypeVar("_T")


class ClusterNotRunningError(RuntimeError):
    """A property or method that needs a started cluster was used outside ``with``."""


class Service:
    """A part that starts and stops; used in a ``with`` block it does both."""

    def start(self: _S) -> _S:
        """Start; the started service.

        Returns:
            The service itself.
        """
        raise NotImplementedError

    def stop(self) -> None:
        """Stop (idempotent)."""
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def require_started(value: _T | None, cluster: Service, name: str) -> _T:
    """``value``, a part of ``cluster`` that exists only while it runs.

    Args:
        value: the part (None while the cluster is stopped).
        cluster: the cluster it belongs to (its class names the fix).
        name: the property or method that needs it.

    Returns:
        ``value``.

    Raises:
        ClusterNotRunningError: the cluster is not started; the message says how to start it.
    """
    if value is None:
        kind = type(cluster).__name__
        raise ClusterNotRunningError(
            f"{kind}.{name} needs a started cluster: use `with {kind}() as c:`"
        )
    return value
