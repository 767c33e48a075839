"""Container logs of the emulated cluster: written by the kubelet stand-in, read by the server.

Each container of each pod has its current log and, after a restart, the
previous one (``kubectl logs --previous``); followers wait on a condition
variable until a line arrives or the container ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from airflow_provider_mpi.testing.store.errors import BadRequest

__all__ = ["LogBook"]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class _Stream:
    lines: list[tuple[datetime, str]] = field(default_factory=list)
    closed: bool = False
    previous: list[tuple[datetime, str]] | None = None


class LogBook:
    """Container logs: written by the kubelet stand-in, read (and followed) by the server.

    Every method names the container by its first three arguments: the pod's
    ``namespace``, the ``pod``'s name and the ``container``'s name.

    Args:
        now: the clock stamping each line.
    """

    def __init__(self, now: Callable[[], datetime] = _utc_now) -> None:
        self._now = now
        self._streams: dict[tuple[str, str, str], _Stream] = {}
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def _changing(self, namespace: str, pod: str, container: str) -> Iterator[_Stream]:
        """Under the lock, the container's stream (made when new) to change; then wake followers."""
        with self._changed:
            key = (namespace, pod, container)
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = _Stream()
            yield stream
            self._changed.notify_all()

    def append(self, namespace: str, pod: str, container: str, line: str) -> None:
        """Append one line (without its newline) to a container's current log.

        Args:
            namespace: pod namespace.
            pod: pod name.
            container: container name.
            line: the text.
        """
        with self._changing(namespace, pod, container) as stream:
            stream.lines.append((self._now(), line))

    def close(self, namespace: str, pod: str, container: str) -> None:
        """Mark the container as ended: followers stop after the last line."""
        with self._changing(namespace, pod, container) as stream:
            stream.closed = True

    def reset(self, namespace: str, pod: str, container: str) -> None:
        """Restart the container: the current log becomes the previous one."""
        with self._changing(namespace, pod, container) as stream:
            stream.previous, stream.lines, stream.closed = stream.lines, [], False

    def read(
        self, namespace: str, pod: str, container: str, *, previous: bool = False
    ) -> tuple[list[tuple[datetime, str]], bool]:
        """Read a container's log.

        Args:
            namespace: pod namespace.
            pod: pod name.
            container: container name.
            previous: the log of the previous (restarted) instance.

        Returns:
            The ``(timestamp, line)`` pairs and whether the container has ended
            (always True for ``previous``).

        Raises:
            BadRequest: ``previous`` asked for a container that never restarted.
        """
        with self._changed:
            stream = self._streams.get((namespace, pod, container))
            if previous:
                if stream is None or stream.previous is None:
                    raise BadRequest(
                        f'previous terminated container "{container}" in pod "{pod}" not found'
                    )
                return list(stream.previous), True
            if stream is None:
                return [], False
            return list(stream.lines), stream.closed

    def wait(self, namespace: str, pod: str, container: str, seen: int, timeout: float) -> None:
        """Block until the log has more than ``seen`` lines, is closed, or time runs out.

        Args:
            namespace: pod namespace.
            pod: pod name.
            container: container name.
            seen: lines already read.
            timeout: seconds to wait at most.
        """
        key = (namespace, pod, container)

        def ready() -> bool:
            stream = self._streams.get(key)
            return stream is not None and (len(stream.lines) > seen or stream.closed)

        with self._changed:
            self._changed.wait_for(ready, timeout=timeout)

    def forget(self, namespace: str, pod: str) -> None:
        """Drop all logs of a pod (when it is deleted).

        Args:
            namespace: pod namespace.
            pod: pod name.
        """
        with self._changed:
            for key in [k for k in self._streams if k[0] == namespace and k[1] == pod]:
                self._streams[key].closed = True
                del self._streams[key]
            self._changed.notify_all()
