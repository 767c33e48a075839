"""Malformed job templates, each mistake labelled with the field that must be named.

The property test and the fault-matrix benchmark break a valid template in
one to several independent ways and check that the one error raised names
every field they broke, before any request. Each mistake here is a
``(field, change)`` pair: ``field`` is the name the error must carry (a
template field, or an extension as ``extension_list['key']``) and ``change``
maps the template's keyword arguments to broken ones.

This module builds plain keyword dicts (no product import): the caller turns
them into a ``JobTemplate``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

__all__ = ["MISTAKES", "Mistake", "base_template_kwargs", "broken_template_kwargs"]

#: One mistake: the field the error must name, and how to make it.
Mistake = tuple[str, Callable[[dict[str, Any], random.Random], None]]

MB = 1024 * 1024


def base_template_kwargs() -> dict[str, Any]:
    """The keyword arguments of a valid two-worker template."""
    return {
        "remote_command": "python",
        "args": ["pi.py", "--steps", "1000"],
        "job_category": "mpioperator/mpi-pi:openmpi",
        "min_slots": 2,
        "job_environment": {"OMP_NUM_THREADS": "1"},
        "extension_list": {},
    }


def _ext(key: str, value: str) -> Callable[[dict[str, Any], random.Random], None]:
    def change(kwargs: dict[str, Any], rng: random.Random) -> None:
        kwargs["extension_list"][key] = value

    return change


def _huge(rng: random.Random, low: int, high: int) -> str:
    return rng.choice("abcxyz") * rng.randint(low, high)


def _set(name: str, make: Callable[[random.Random], Any]) -> Callable[..., None]:
    def change(kwargs: dict[str, Any], rng: random.Random) -> None:
        kwargs[name] = make(rng)

    return change


def _long_arg(kwargs: dict[str, Any], rng: random.Random) -> None:
    kwargs["args"] = [*kwargs["args"], _huge(rng, 140_000, MB)]


def _bad_env(kwargs: dict[str, Any], rng: random.Random) -> None:
    kwargs["job_environment"] = {**kwargs["job_environment"], "1-BAD NAME": "x"}


MISTAKES: tuple[Mistake, ...] = (
    ("extension_list['workerImage']", _ext("workerImage", "w" * MB)),
    ("extension_list['workerImage']", _ext("workerImage", "reg.io/" + "p" * 300 + ":v1")),
    ("args", _long_arg),
    ("working_directory", _set("working_directory", lambda r: "/" + _huge(r, 5_000, MB))),
    ("remote_command", _set("remote_command", lambda r: "/bin/" + _huge(r, 5_000, 50_000))),
    ("job_category", _set("job_category", lambda r: "reg.io/" + _huge(r, 300, 3_000))),
    ("priority", _set("priority", lambda r: r.randint(1, 100))),
    ("extension_list['notAnExtension']", _ext("notAnExtension", "1")),
    ("min_slots", _set("min_slots", lambda r: -r.randint(1, 9))),
    ("job_name", _set("job_name", lambda r: "Bad_Name_" + str(r.randint(0, 99)))),
    ("slotsPerWorker", _ext("slotsPerWorker", "many")),
    ("deadline_time", _set("deadline_time", lambda r: datetime(2030, 1, 1))),  # naive
    ("queue_name", _set("queue_name", lambda r: "no spaces allowed")),
    ("job_environment", _bad_env),
    ("accounting_id", _set("accounting_id", lambda r: "not a label value!")),
)


def broken_template_kwargs(
    rng: random.Random, count: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """A valid template's keyword arguments broken in ``count`` independent ways.

    Args:
        rng: the random source.
        count: how many mistakes (1 to 4 at random when None).

    Returns:
        The keyword arguments and the fields the error must name.
    """
    wanted = count if count is not None else rng.randint(1, 4)
    kwargs = base_template_kwargs()
    fields: list[str] = []
    for field, change in rng.sample(MISTAKES, len(MISTAKES)):
        if field in fields:
            continue
        change(kwargs, rng)
        fields.append(field)
        if len(fields) == wanted:
            break
    return kwargs, fields
