"""What starts and stops: the emulator's servers, agents and clusters as context managers.

``with X() as x:`` starts ``x`` and stops it on the way out, whatever happened
inside; :class:`Service` writes that once for every part that runs
(``EmulatorServer``, ``MPICluster``, ``RealCluster``, the node agent).
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["Service"]

_S = TypeVar("_S", bound="Service")


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
