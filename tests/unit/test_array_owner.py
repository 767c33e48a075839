"""The array's owner object: its intent, the adoption of an earlier run, the release mark."""

from __future__ import annotations

import random

import pytest

from airflow_provider_mpi.drmaa2 import JobTemplate
from airflow_provider_mpi.drmaa2.errors import ConflictError
from airflow_provider_mpi.mpioperator.names import ANNOTATION_HELD, LABEL_ARRAY_ID
from airflow_provider_mpi.mpioperator.tracker.array_owner import (
    ArrayIntent,
    intent_conflict,
    intent_hash,
    mark_patch,
    next_mark,
    owner_reference,
    read_intent,
)
from airflow_provider_mpi.mpioperator.tracker.submission import (
    ANNOTATION_SUBMISSION,
    adopt_intent,
    prepare_array,
)

JT = JobTemplate(
    remote_command="python", args=["pi.py"], job_category="img", job_name="arr", min_slots=2
)


def intent(mark: int, max_parallel: int = 2, end: int = 6) -> ArrayIntent:
    return ArrayIntent("arr", "ns", 1, end, 1, max_parallel, "h", "tok", "{}", mark=mark)


def test_owner_records_the_whole_intent_and_reads_back() -> None:
    plan = prepare_array(JT, 2, 11, 3, 2, namespace="ns")  # tasks 2, 5, 8, 11
    owner = plan.owner
    assert owner["kind"] == "ConfigMap"
    assert owner["metadata"]["name"] == "arr"
    assert owner["metadata"]["labels"][LABEL_ARRAY_ID] == "arr"
    back = read_intent({**owner, "metadata": {**owner["metadata"], "uid": "u1"}})
    assert back is not None
    assert (back.begin, back.end, back.step, back.max_parallel, back.mark) == (2, 11, 3, 2, 2)
    assert back.task_names == ["arr-2", "arr-5", "arr-8", "arr-11"]
    assert back.template_hash == intent_hash(JT, 2, 11, 3, 2)
    assert JobTemplate.from_json(back.template) == JT
    assert owner_reference(back)["uid"] == "u1"


def test_a_config_map_that_is_no_owner_reads_as_none() -> None:
    assert read_intent({"metadata": {"name": "arr"}, "data": {"begin": "1"}}) is None


def test_hash_changes_with_template_range_and_cap() -> None:
    base = intent_hash(JT, 1, 4, 1, 2)
    assert base == intent_hash(JT.copy(), 1, 4, 1, 2)
    others = [
        intent_hash(JT.replace(args=["other.py"]), 1, 4, 1, 2),
        intent_hash(JT, 1, 5, 1, 2),
        intent_hash(JT, 1, 4, 2, 2),
        intent_hash(JT, 1, 4, 1, 0),
    ]
    assert base not in others


def test_adopting_an_earlier_run_takes_its_token_mark_and_owner() -> None:
    plan = prepare_array(JT, 1, 5, 1, 2, namespace="ns")
    earlier = intent(mark=3, end=5)
    earlier = ArrayIntent(**{**earlier.__dict__, "uid": "u9", "token": "earlier"})
    adopted = adopt_intent(plan, earlier)
    assert adopted.resumed
    for index, task in enumerate(adopted.tasks):
        metadata = task["metadata"]
        assert metadata["annotations"][ANNOTATION_SUBMISSION] == "earlier"
        assert metadata["ownerReferences"][0]["uid"] == "u9"
        held = index >= 3
        assert (metadata["annotations"].get(ANNOTATION_HELD) == "true") is held
        assert bool(task["spec"]["runPolicy"].get("suspend")) is held


def test_conflict_names_what_differs() -> None:
    wanted = intent(mark=2)
    other_range = ArrayIntent(**{**wanted.__dict__, "end": 9})
    other_cap = ArrayIntent(**{**wanted.__dict__, "max_parallel": 3})
    assert "tasks 1..9" in str(intent_conflict("ns/arr", wanted, other_range))
    assert "max_parallel=3" in str(intent_conflict("ns/arr", wanted, other_cap))
    assert "different job template" in str(intent_conflict("ns/arr", wanted, wanted))
    assert isinstance(intent_conflict("ns/arr", wanted, None), ConflictError)


@pytest.mark.parametrize(
    ("mark", "ended", "expected"),
    [
        (2, [False, False, None, None, None, None], 2),  # both slots busy
        (2, [True, False, False, False, False, False], 3),  # one ended: one more
        (2, [True, True, False, False, False, False], 4),
        (2, [True, False, True, False, False, False], 4),  # a held task ended (terminated)
        (2, [False, True, None, False, False, False], 3),  # a missing task takes its slot
        (6, [True] * 6, 6),
        (4, [False, False, False, False, False, False], 4),  # never lowered
    ],
)
def test_next_mark(mark: int, ended: list[bool | None], expected: int) -> None:
    assert next_mark(intent(mark), ended) == expected


def test_next_mark_never_exceeds_the_cap_whatever_ends() -> None:
    rng = random.Random(3)
    for _ in range(500):
        cap = rng.randint(1, 4)
        n = rng.randint(1, 12)
        current = intent(min(cap, n), cap, n)
        ended: list[bool | None] = [False] * n
        for _step in range(3 * n):
            i = rng.randrange(n)
            if i < current.mark:
                ended[i] = True  # only a released task runs, and ended is final
            mark = next_mark(current, ended)
            assert mark >= current.mark
            assert sum(1 for done in ended[:mark] if not done) <= cap
            current = ArrayIntent(**{**current.__dict__, "mark": mark})


def test_mark_patch_is_conditional_and_claimed() -> None:
    current = ArrayIntent(**{**intent(2).__dict__, "resource_version": "41"})
    patch = mark_patch(current, 3, "c1", now=1000.0)
    assert patch["metadata"]["resourceVersion"] == "41"
    assert patch["data"] == {
        "released-through": "3",
        "released-by": "c1",
        "released-at": "1000.000",
    }
