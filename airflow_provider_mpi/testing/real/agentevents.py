"""The node agent's event recorder: kubelet Events written through the API.

Builds each Event as the emulator's recorder does (``controller.events.new_event``)
and posts it; a repeat of the same event (same object, reason, message, host)
bumps ``count`` and ``lastTimestamp`` instead, as client-go's recorder does.
"""

from __future__ import annotations

import logging
from datetime import datetime

from airflow_provider_mpi.testing.controller.events import EventNote, event_key, new_event
from airflow_provider_mpi.testing.controller.meta import JSONDict, format_time
from airflow_provider_mpi.testing.real.agentapi import MERGE_PATCH, AgentAPI, ApiError

__all__ = ["ApiEvents"]

_log = logging.getLogger(__name__)


class ApiEvents:
    """The kubelet's event recorder, over the API (a repeat bumps ``count``).

    Args:
        api: The API access.
    """

    def __init__(self, api: AgentAPI) -> None:
        self._api = api
        self._seen: dict[tuple[str, ...], tuple[str, int]] = {}

    def record(self, pod: JSONDict, note: EventNote, *, now: datetime) -> None:
        """Record (or bump) one event about ``pod``; failures are dropped, as a kubelet does."""
        key = event_key(pod, note)
        namespace = key[0]
        seen = self._seen.get(key)
        try:
            if seen is not None:
                name, count = seen
                body = {"count": count + 1, "lastTimestamp": format_time(now)}
                self._api.request(
                    "PATCH",
                    f"/api/v1/namespaces/{namespace}/events/{name}",
                    body=body,
                    content_type=MERGE_PATCH,
                )
                self._seen[key] = (name, count + 1)
                return
            event = new_event(pod, note, now)
            created = self._api.request(
                "POST", f"/api/v1/namespaces/{namespace}/events", body=event
            )
            self._seen[key] = (str(created["metadata"]["name"]), 1)
        except ApiError as error:  # a real recorder drops what it cannot write
            _log.debug("event %s about %s dropped: %s", note.reason, pod["metadata"]["name"], error)
