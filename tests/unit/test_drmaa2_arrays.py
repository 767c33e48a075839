"""Array job helpers: task ranges, max_parallel, per-task templates, legacy IDs."""

from __future__ import annotations

import pytest

from airflow_provider_mpi.drmaa2 import (
    PLACEHOLDER_HOME_DIR,
    PLACEHOLDER_INDEX,
    PLACEHOLDER_WORKING_DIR,
    InvalidArgumentError,
    JobTemplate,
    TaskRange,
    format_legacy_array_job_id,
    parse_legacy_array_job_id,
    substitute_index,
    template_for_task,
    validate_max_parallel,
)


def test_placeholders_are_the_go_constants() -> None:
    assert PLACEHOLDER_INDEX == "$DRMAA2_INDEX$"
    assert PLACEHOLDER_HOME_DIR == "$DRMAA2_HOME_DIR$"
    assert PLACEHOLDER_WORKING_DIR == "$DRMAA2_WORKING_DIR$"


@pytest.mark.parametrize(
    ("begin", "end", "step", "ids"),
    [
        (1, 1, 1, [1]),
        (1, 5, 1, [1, 2, 3, 4, 5]),
        (1, 10, 3, [1, 4, 7, 10]),
        (2, 9, 3, [2, 5, 8]),
        (5, 6, 10, [5]),
    ],
)
def test_task_range(begin: int, end: int, step: int, ids: list[int]) -> None:
    tasks = TaskRange(begin, end, step)
    assert list(tasks) == ids
    assert list(tasks.task_ids) == ids
    assert len(tasks) == len(ids)
    assert ids[-1] in tasks
    assert end + 1 not in tasks


@pytest.mark.parametrize(
    ("begin", "end", "step", "field", "value"),
    [
        (0, 5, 1, "begin", 0),
        (-1, 5, 1, "begin", -1),
        (3, 2, 1, "end", 2),
        (1, 5, 0, "step", 0),
        (1, 5, -1, "step", -1),
        (1.0, 5, 1, "begin", 1.0),
        (1, "5", 1, "end", "5"),
        (1, 5, True, "step", True),
    ],
)
def test_task_range_validation(begin: int, end: int, step: int, field: str, value: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        TaskRange(begin, end, step)
    assert info.value.field == field
    assert info.value.value == value
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("max_parallel", "count", "effective"),
    [(0, 5, 5), (1, 5, 1), (5, 5, 5), (10, 5, 5), (0, 0, 0)],
)
def test_validate_max_parallel(max_parallel: int, count: int, effective: int) -> None:
    assert validate_max_parallel(max_parallel, count) == effective


@pytest.mark.parametrize("bad", [-1, 1.5, "2", None, True])
def test_validate_max_parallel_rejects(bad: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        validate_max_parallel(bad, 3)  # type: ignore[arg-type]
    assert info.value.field == "max_parallel"


@pytest.mark.parametrize(
    ("text", "task_id", "expected"),
    [
        ("/out/$DRMAA2_INDEX$.log", 3, "/out/3.log"),
        ("$DRMAA2_INDEX$-$DRMAA2_INDEX$", 12, "12-12"),
        ("no placeholder", 1, "no placeholder"),
        ("$DRMAA2_HOME_DIR$/x", 1, "$DRMAA2_HOME_DIR$/x"),
    ],
)
def test_substitute_index(text: str, task_id: int, expected: str) -> None:
    assert substitute_index(text, task_id) == expected


def test_template_for_task() -> None:
    index = PLACEHOLDER_INDEX
    template = JobTemplate(
        remote_command=f"/bin/run-{index}",
        args=["--input", f"data-{index}.csv", "--all"],
        working_directory=f"/work/{index}",
        input_path=f"/in/{index}",
        output_path=f"/out/{index}.log",
        error_path=f"/err/{index}.log",
        stage_in_files={f"pvc:in-{index}": f"/data/{index}"},
        stage_out_files={f"/results/{index}": "pvc:out"},
        job_environment={"TASK_ID": "old", "KEEP": index},
        job_name=f"array-{index}",
        extension_list={"workerCommand": index},
    )
    before = template.copy()
    task = template_for_task(template, 7)
    assert template == before
    assert task.remote_command == "/bin/run-7"
    assert task.args == ["--input", "data-7.csv", "--all"]
    assert task.working_directory == "/work/7"
    assert (task.input_path, task.output_path, task.error_path) == (
        "/in/7",
        "/out/7.log",
        "/err/7.log",
    )
    assert task.stage_in_files == {"pvc:in-7": "/data/7"}
    assert task.stage_out_files == {"/results/7": "pvc:out"}
    # TASK_ID is set; the placeholder is replaced in the other values too, and
    # in extensions (a worker command's arguments are not shell-expanded).
    assert task.job_environment == {"TASK_ID": "7", "KEEP": "7"}
    assert task.job_name == f"array-{index}"  # the tracker names the tasks
    assert task.extension_list == {"workerCommand": "7"}


@pytest.mark.parametrize("bad", [0, -3, "1", 1.0])
def test_template_for_task_rejects_bad_task_id(bad: object) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        template_for_task(JobTemplate(), bad)  # type: ignore[arg-type]
    assert info.value.field == "task_id"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["default/a-1", "default/a-2"]', ["default/a-1", "default/a-2"]),
        (" []", []),
        ("default/array", None),
        ("array", None),
    ],
)
def test_parse_legacy_array_job_id(text: str, expected: list[str] | None) -> None:
    assert parse_legacy_array_job_id(text) == expected


@pytest.mark.parametrize("bad", ["[default/a-1]", '["a", 1]', '[""]', '["a"'])
def test_parse_legacy_array_job_id_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        parse_legacy_array_job_id(bad)
    assert info.value.field == "array_id"
    assert info.value.value == bad


def test_legacy_array_job_id_round_trip() -> None:
    ids = ["default/a-1", "default/a-2"]
    assert parse_legacy_array_job_id(format_legacy_array_job_id(ids)) == ids
