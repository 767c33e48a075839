"""HTML of the "MPI Jobs" pages, rendered on the server; a few lines of JS keep them live.

Every value is escaped. The page polls its own fragment URL (same origin, the
session cookie authenticates it) about once a second while the job is not in
an end state; the response header ``X-MPI-Terminal: true`` stops the polling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

__all__ = ["STYLE", "error_fragment", "job_fragment", "page", "query", "run_fragment", "text"]

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1rem;color:#1a202c}
h1{font-size:1.3rem;margin:.2rem 0} h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid #e2e8f0;padding:.25rem .5rem;text-align:left}
th{background:#f7fafc} .muted{color:#718096;font-size:.85rem}
.state{display:inline-block;padding:.1rem .6rem;border-radius:1rem;font-weight:600;color:#fff;
background:#718096}
.state-Done{background:#38a169} .state-Failed{background:#e53e3e} .state-Running{background:#3182ce}
.state-Queued,.state-Requeued{background:#a0aec0}
.state-QueuedHeld,.state-Suspended{background:#d69e2e}
ol.timeline{list-style:none;padding-left:0;border-left:3px solid #cbd5e0;margin-left:.4rem}
ol.timeline li{margin:.2rem 0;padding-left:.6rem} .cond-False{color:#a0aec0}
pre.log{background:#1a202c;color:#e2e8f0;padding:.6rem;max-height:24rem;overflow:auto;font-size:.85rem}
.warning{color:#c05621}
"""

_SCRIPT = """
(function(){
  var box=document.getElementById('live'); if(!box) return;
  var url=box.getAttribute('data-fragment'), every=Number(box.getAttribute('data-every')||'1000');
  function tick(){
    fetch(url,{credentials:'same-origin',headers:{'Accept':'text/html'}}).then(function(r){
      var done=r.headers.get('X-MPI-Terminal')==='true';
      return r.text().then(function(t){ if(r.ok){box.innerHTML=t;} return done||!r.ok; });
    }).then(function(stop){ if(!stop){setTimeout(tick,every);} },
            function(){ setTimeout(tick,every*3); });
  }
  if(box.getAttribute('data-terminal')!=='true'){ setTimeout(tick,every); }
})();
"""


def text(value: object) -> str:
    """Any value as escaped HTML text (attribute-safe)."""
    return escape(str(value), quote=True)


_e = text


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _state(state: str, sub_state: str = "") -> str:
    sub = f' <span class="muted">{_e(sub_state)}</span>' if sub_state else ""
    return f'<span class="state state-{_e(state)}" data-state="{_e(state)}">{_e(state)}</span>{sub}'


def job_fragment(view: Mapping[str, Any]) -> str:
    """The live part of a job's page.

    Args:
        view: a ``job_view.describe_job`` dict.

    Returns:
        HTML.
    """
    info = view["info"]
    facts = [
        ("Exit status", info["exitStatus"]),
        ("Slots", info["slots"]),
        ("Wallclock time", info["wallclockTime"] or ""),
        ("Submitted", info["submissionTime"] or ""),
        ("Dispatched", info["dispatchTime"] or ""),
        ("Finished", info["finishTime"] or ""),
    ]
    conditions = "".join(
        f'<li class="cond-{_e(c["status"])}"><span class="muted">{_e(c["time"])}</span> '
        f"<b>{_e(c['type'])}</b>={_e(c['status'])} {_e(c['reason'])} "
        f'<span class="muted">{_e(c["message"])}</span></li>'
        for c in view["conditions"]
    )
    pods = _table(
        ("Pod", "Role", "Phase", "Node", "Container", "Restarts"),
        (
            [_e(p[k]) for k in ("name", "role", "phase", "node", "container", "restarts")]
            for p in view["pods"]
        ),
        "No pods yet.",
    )
    events = _table(
        ("Time", "Object", "Reason", "Message", "Count"),
        (
            [
                _e(ev["time"]),
                _e(ev["object"]),
                f'<span class="warning">{_e(ev["reason"])}</span>',
                _e(ev["message"]),
                _e(ev["count"]),
            ]
            for ev in view["events"]
        ),
        "No Warning events.",
    )
    log = "\n".join(view["log"])
    return (
        f'<p id="job-state">DRMAA2 state: {_state(view["state"], view["subState"])}</p>'
        + _table(("Field", "Value"), ([_e(k), _e(v)] for k, v in facts), "")
        + "<h2>Conditions</h2>"
        + (
            f'<ol class="timeline">{conditions}</ol>'
            if conditions
            else '<p class="muted">None yet.</p>'
        )
        + "<h2>Launcher and workers</h2>"
        + pods
        + "<h2>Warning events</h2>"
        + events
        + "<h2>Launcher log (tail)</h2>"
        + f'<pre class="log" id="launcher-log">{_e(log) or "(nothing yet)"}</pre>'
    )


def run_fragment(rows: Sequence[Mapping[str, Any]], job_link: Any) -> str:
    """The live table of a run's jobs (array tasks as rows).

    Args:
        rows: ``job_view.describe_row`` dicts with their labels.
        job_link: ``row -> URL`` of the job's page.

    Returns:
        HTML.
    """
    return _table(
        ("Job", "Task", "Map index", "Array task", "Try", "State", "Created"),
        (
            [
                f'<a href="{_e(job_link(r))}">{_e(r["id"])}</a>',
                _e(r["labels"].get("task_id", "")),
                _e(r["labels"].get("map_index", "")),
                _e(r["labels"].get("array_task", "")),
                _e(r["labels"].get("try_number", "")),
                _state(r["state"], r["subState"]),
                _e(r["created"]),
            ]
            for r in rows
        ),
        "This run has made no MPIJob (yet).",
    )


def error_fragment(message: str) -> str:
    """A message in place of the live part."""
    return f'<p class="muted" id="not-shown">{_e(message)}</p>'


def page(title: str, subtitle: str, fragment: str, fragment_url: str, *, terminal: bool) -> str:
    """A whole page: heading, the live part and the polling script.

    Args:
        title: the heading.
        subtitle: a line under it (the Airflow identity).
        fragment: the live part's first rendering.
        fragment_url: where the script fetches the live part again.
        terminal: nothing changes any more; do not poll.

    Returns:
        HTML.
    """
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{_e(title)}</h1><p class="muted">{subtitle}</p>'
        f'<div id="live" data-fragment="{_e(fragment_url)}" data-every="1000" '
        f'data-terminal="{"true" if terminal else "false"}">{fragment}</div>'
        f"<script>{_SCRIPT}</script></body></html>"
    )


def query(**params: object) -> str:
    """A query string of the non-None parameters."""
    return urlencode({k: str(v) for k, v in params.items() if v is not None})
