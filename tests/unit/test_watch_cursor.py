from __future__ import annotations

import json

import pytest

from airflow_provider_mpi.drmaa2.errors import (
    AuthorizationError,
    BackendError,
    InvalidArgumentError,
    TransientBackendError,
)
from airflow_provider_mpi.mpioperator.client.translate import ResourceExpiredError
from airflow_provider_mpi.mpioperator.tracker.watch_cursor import (
    Snapshot,
    WatchCursor,
    WatchEventType,
    WatchRecovery,
)


def line(kind: str, name: str = "pi", rv: str = "7", **extra: object) -> str:
    obj: dict[str, object] = {"metadata": {"name": name, "resourceVersion": rv}}
    obj.update(extra)
    return json.dumps({"type": kind, "object": obj})


def error_line(code: int, message: str = "too old resource version") -> bytes:
    status = {"kind": "Status", "code": code, "reason": "Expired", "message": message}
    return json.dumps({"type": "ERROR", "object": status}).encode()


def test_a_new_cursor_needs_a_list() -> None:
    cursor = WatchCursor()
    assert cursor.needs_list
    cursor.listed("42")
    assert (cursor.needs_list, cursor.resource_version) == (False, "42")


@pytest.mark.parametrize("kind", ["ADDED", "MODIFIED", "DELETED"])
def test_changes_move_the_cursor(kind: str) -> None:
    cursor = WatchCursor("1")
    change = cursor.feed(line(kind, rv="9"))
    assert change is not None
    assert (change.type, change.name, change.deleted) == (
        WatchEventType(kind),
        "pi",
        kind == "DELETED",
    )
    assert cursor.resource_version == "9"


def test_bookmarks_move_the_cursor_without_a_change() -> None:
    cursor = WatchCursor("1")
    assert (
        cursor.feed(
            json.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "50"}}})
        )
        is None
    )
    assert cursor.resource_version == "50"


@pytest.mark.parametrize("text", ["", "   ", "\n", json.dumps({"type": "SOMETHING", "object": {}})])
def test_ignored_lines(text: str) -> None:
    cursor = WatchCursor("3")
    assert cursor.feed(text) is None
    assert cursor.resource_version == "3"


def test_bytes_are_read() -> None:
    assert WatchCursor("1").feed(line("ADDED").encode()) is not None


def test_gone_resets_the_cursor() -> None:
    cursor = WatchCursor("5")
    with pytest.raises(ResourceExpiredError) as info:
        cursor.feed(error_line(410))
    assert info.value.status == 410
    assert cursor.needs_list


@pytest.mark.parametrize(
    ("code", "cls"), [(500, TransientBackendError), (403, AuthorizationError), (400, BackendError)]
)
def test_other_error_events(code: int, cls: type[BackendError]) -> None:
    cursor = WatchCursor("5")
    with pytest.raises(cls) as info:
        cursor.feed(error_line(code, "nope"))
    assert info.value.status == code
    assert cursor.resource_version == "5"


@pytest.mark.parametrize("text", ['{"type": "ADDED", "obj', "[1, 2]"])
def test_a_cut_line_is_transient(text: str) -> None:
    cursor = WatchCursor("5")
    with pytest.raises(TransientBackendError):
        cursor.feed(text)
    assert cursor.resource_version == "5"


@pytest.mark.parametrize(
    ("error", "recovery", "needs_list"),
    [
        (ResourceExpiredError(410, "gone"), WatchRecovery.RELIST, True),
        (TransientBackendError(None, "reset"), WatchRecovery.RESUME, False),
        (TransientBackendError(503, "busy"), WatchRecovery.RESUME, False),
        (AuthorizationError(403, "no"), WatchRecovery.RAISE, False),
        (InvalidArgumentError("x", 1), WatchRecovery.RAISE, False),
    ],
)
def test_recover(error: Exception, recovery: WatchRecovery, needs_list: bool) -> None:
    cursor = WatchCursor("5")
    assert cursor.recover(error) is recovery
    assert cursor.needs_list is needs_list


def test_snapshot_indexes_by_name() -> None:
    snap = Snapshot.of([{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}], "9")
    assert sorted(snap.objects) == ["a", "b"]
    assert snap.resource_version == "9"
