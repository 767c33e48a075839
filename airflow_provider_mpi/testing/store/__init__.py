"""The emulated cluster's object store: the one source of truth for server and controller.

:class:`Store` (in :mod:`.store`) keeps the objects, the resourceVersion and
the garbage collector's cascade; :mod:`.writes` decides what a write leaves,
:mod:`.indexes` and :mod:`.history` keep the owner/label indexes and the
event history watches resume from, :mod:`.queries` and :mod:`.selectors`
what a list may select on, :mod:`.metadata` the ObjectMeta rules,
:mod:`.errors` the ``Status`` errors, :mod:`.logbook` the container logs.
"""

from __future__ import annotations

from airflow_provider_mpi.testing.store.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    StoreError,
)
from airflow_provider_mpi.testing.store.logbook import LogBook
from airflow_provider_mpi.testing.store.objects import (
    EventType,
    PropagationPolicy,
    WatchEvent,
    copy_json,
    format_timestamp,
)
from airflow_provider_mpi.testing.store.queries import field_value
from airflow_provider_mpi.testing.store.resources import RESOURCES, ResourceType
from airflow_provider_mpi.testing.store.store import DEFAULT_NAMESPACES, Store

__all__ = [
    "DEFAULT_NAMESPACES",
    "RESOURCES",
    "AlreadyExists",
    "BadRequest",
    "Conflict",
    "EventType",
    "Gone",
    "Invalid",
    "LogBook",
    "NotFound",
    "PropagationPolicy",
    "ResourceType",
    "Store",
    "StoreError",
    "WatchEvent",
    "copy_json",
    "field_value",
    "format_timestamp",
]
