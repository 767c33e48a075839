"""API behaviour scenarios of the fidelity corpus: what the API server answers, not what runs.

Each function makes a few raw requests about MPIJobs and returns a
normalised observation: pruning of unknown fields, ``fieldValidation``
(Ignore/Warn/Strict), the 422 body of an invalid object, list pagination,
a watch from an expired resourceVersion (410) and the initial-events
bookmark of a watch list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubernetes.client.rest import ApiException

from tests.emulator.fidelity.corpus import (
    GROUP,
    PLURAL,
    SCENARIOS,
    VERSION,
    Run,
    Scenario,
    mpijob,
    normalise,
)

JSONDict = dict[str, Any]


def _call(
    run: Run,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
) -> tuple[int, Any, dict[str, str]]:
    api = run.api
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    api.update_params_for_auth(headers, [], ["BearerToken"])
    url = api.configuration.host + path
    try:
        answer = api.rest_client.request(
            method,
            url,
            query_params=query or [],
            headers=headers,
            body=body,
            _preload_content=False,
            _request_timeout=20,
        )
        data = answer.data
        status, answer_headers = answer.status, dict(answer.getheaders())
    except ApiException as error:
        data, status, answer_headers = error.body, error.status, dict(error.headers or {})
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = data.decode() if isinstance(data, bytes) else data
    return status, decoded, answer_headers


def _collection(run: Run) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{run.namespace}/{PLURAL}"


def _status_summary(run: Run, status: int, body: Any) -> JSONDict:
    body = body if isinstance(body, dict) else {}
    details = body.get("details") or {}
    return {
        "code": status,
        "kind": body.get("kind"),
        "reason": body.get("reason"),
        "message": normalise(str(body.get("message", "")), run),
        "causes": sorted(
            (c.get("reason", ""), c.get("field", "")) for c in details.get("causes") or []
        ),
    }


def pruning(run: Run) -> JSONDict:
    body = mpijob(run.name)
    body["spec"]["unknownField"] = "x"
    body["spec"]["runPolicy"]["alsoUnknown"] = 1
    status, created, headers = _call(
        run, "POST", _collection(run), [("fieldValidation", "Ignore")], body
    )
    spec = (created or {}).get("spec") or {}
    return {
        "code": status,
        "stored_unknown": "unknownField" in spec,
        "stored_nested_unknown": "alsoUnknown" in (spec.get("runPolicy") or {}),
        "warning": "Warning" in headers,
    }


def field_validation(run: Run) -> JSONDict:
    observed: JSONDict = {}
    for mode in ("Warn", "Strict"):
        body = mpijob(f"{run.name}-{mode.lower()}")
        body["spec"]["unknownField"] = "x"
        status, answer, headers = _call(
            run, "POST", _collection(run), [("fieldValidation", mode)], body
        )
        warning = normalise(headers.get("Warning", ""), run).replace(mode.lower(), "{mode}")
        observed[mode] = {
            "code": status,
            "warning": warning,
            "error": _status_summary(run, status, answer) if status >= 400 else None,
        }
    return observed


def invalid_422(run: Run) -> JSONDict:
    body = mpijob(run.name)
    body["spec"]["runPolicy"]["cleanPodPolicy"] = "Sometimes"
    body["spec"]["slotsPerWorker"] = "two"
    status, answer, _ = _call(run, "POST", _collection(run), None, body)
    return _status_summary(run, status, answer)


def pagination(run: Run) -> JSONDict:
    for index in range(3):
        _call(run, "POST", _collection(run), None, mpijob(f"{run.name}-{index}"))
    status, first, _ = _call(run, "GET", _collection(run), [("limit", "2")])
    meta = (first or {}).get("metadata") or {}
    token = meta.get("continue") or ""
    status2, second, _ = _call(run, "GET", _collection(run), [("limit", "2"), ("continue", token)])
    meta2 = (second or {}).get("metadata") or {}
    status3, bad, _ = _call(run, "GET", _collection(run), [("limit", "2"), ("continue", "x")])
    return {
        "codes": [status, status2],
        "first_page": len((first or {}).get("items") or []),
        "has_continue": bool(token),
        "remaining": meta.get("remainingItemCount"),
        "second_page": len((second or {}).get("items") or []),
        "second_continue": bool(meta2.get("continue")),
        "bad_token": _status_summary(run, status3, bad)["code"],
    }


def _watch_lines(run: Run, query: list[tuple[str, str]], limit: int) -> list[JSONDict]:
    api = run.api
    headers = {"Accept": "application/json"}
    api.update_params_for_auth(headers, [], ["BearerToken"])
    try:
        answer = api.rest_client.request(
            "GET",
            api.configuration.host + _collection(run),
            query_params=[("watch", "true"), *query],
            headers=headers,
            _preload_content=False,
            _request_timeout=20,
        )
    except ApiException as error:
        return [{"http": error.status}]
    events: list[JSONDict] = []
    buffer = b""
    for chunk in answer.stream(1024):
        buffer += chunk
        while b"\n" in buffer and len(events) < limit:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                events.append(json.loads(line))
        if len(events) >= limit:
            break
    answer.release_conn()
    return events


def watch_expired(run: Run) -> JSONDict:
    events = _watch_lines(run, [("resourceVersion", "1"), ("timeoutSeconds", "5")], 1)
    first = events[0] if events else {}
    obj = first.get("object") or {}
    return {"type": first.get("type"), "code": obj.get("code"), "reason": obj.get("reason")}


def watch_bookmark(run: Run) -> JSONDict:
    _call(run, "POST", _collection(run), None, mpijob(run.name))
    query = [
        ("allowWatchBookmarks", "true"),
        ("sendInitialEvents", "true"),
        ("resourceVersionMatch", "NotOlderThan"),
        ("timeoutSeconds", "10"),
    ]
    events = _watch_lines(run, query, 2)
    return {
        "types": [e.get("type") for e in events],
        "initial_events_end": [
            ((e.get("object") or {}).get("metadata") or {})
            .get("annotations", {})
            .get("k8s.io/initial-events-end")
            for e in events
            if e.get("type") == "BOOKMARK"
        ],
    }


def _noop(run: Run) -> None:
    """API scenarios act through their probe."""


_PROBES: dict[str, Callable[[Run], JSONDict]] = {
    "api-pruning": pruning,
    "api-field-validation": field_validation,
    "api-422-body": invalid_422,
    "api-pagination": pagination,
    "api-watch-410": watch_expired,
    "api-watch-bookmark": watch_bookmark,
}
API_SCENARIOS = tuple(
    Scenario(name, dict, _noop, settle=0.0, tracker=False, probe=probe)
    for name, probe in _PROBES.items()
)
#: The whole corpus: the jobs' lives, then the API's behaviour.
ALL_SCENARIOS = SCENARIOS + API_SCENARIOS
