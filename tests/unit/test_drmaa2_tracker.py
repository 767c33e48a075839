"""The JobTracker protocols: structure and written contract."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator

import pytest

from airflow_provider_mpi.drmaa2 import (
    AsyncJobOutputReader,
    AsyncJobTemplater,
    AsyncJobTracker,
    JobControlAction,
    JobInfo,
    JobOutputReader,
    JobState,
    JobTemplate,
    JobTemplater,
    JobTracker,
)

# The methods of drmaa2os pkg/jobtracker JobTracker, in snake case.
GO_METHODS = [
    "list_jobs",
    "list_array_jobs",
    "add_job",
    "add_array_job",
    "job_state",
    "job_info",
    "job_control",
    "wait",
    "delete_job",
    "list_job_categories",
]


class _SyncTracker:
    def list_jobs(self) -> list[str]:
        return []

    def list_array_jobs(self, array_id: str) -> list[str]:
        return []

    def add_job(self, template: JobTemplate) -> str:
        return "default/a"

    def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        return "default/arr"

    def job_state(self, job_id: str) -> tuple[JobState, str]:
        return JobState.DONE, ""

    def job_info(self, job_id: str) -> JobInfo:
        return JobInfo(id=job_id)

    def job_control(self, job_id: str, action: JobControlAction) -> None:
        return None

    def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        return JobState.DONE

    def delete_job(self, job_id: str) -> None:
        return None

    def list_job_categories(self) -> list[str]:
        return []

    def job_template(self, job_id: str) -> JobTemplate:
        return JobTemplate()

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> Iterator[str]:
        return iter(())


class _AsyncTracker:
    async def list_jobs(self) -> list[str]:
        return []

    async def list_array_jobs(self, array_id: str) -> list[str]:
        return []

    async def add_job(self, template: JobTemplate) -> str:
        return "default/a"

    async def add_array_job(
        self, template: JobTemplate, begin: int, end: int, step: int, max_parallel: int
    ) -> str:
        return "default/arr"

    async def job_state(self, job_id: str) -> tuple[JobState, str]:
        return JobState.DONE, ""

    async def job_info(self, job_id: str) -> JobInfo:
        return JobInfo(id=job_id)

    async def job_control(self, job_id: str, action: JobControlAction) -> None:
        return None

    async def wait(self, job_id: str, timeout: float | None, *states: JobState) -> JobState:
        return JobState.DONE

    async def delete_job(self, job_id: str) -> None:
        return None

    async def list_job_categories(self) -> list[str]:
        return []

    async def job_template(self, job_id: str) -> JobTemplate:
        return JobTemplate()

    async def _lines(self) -> AsyncIterator[str]:
        lines: list[str] = []
        for line in lines:
            yield line

    def job_output(
        self, job_id: str, *, follow: bool = False, tail_lines: int | None = None
    ) -> AsyncIterator[str]:
        return self._lines()


def test_complete_implementations_satisfy_the_protocols() -> None:
    # Static check as well: mypy verifies these assignments.
    sync_tracker: JobTracker = _SyncTracker()
    templater: JobTemplater = _SyncTracker()
    reader: JobOutputReader = _SyncTracker()
    async_tracker: AsyncJobTracker = _AsyncTracker()
    async_templater: AsyncJobTemplater = _AsyncTracker()
    async_reader: AsyncJobOutputReader = _AsyncTracker()
    for obj, protocol in [
        (sync_tracker, JobTracker),
        (templater, JobTemplater),
        (reader, JobOutputReader),
        (async_tracker, AsyncJobTracker),
        (async_templater, AsyncJobTemplater),
        (async_reader, AsyncJobOutputReader),
    ]:
        assert isinstance(obj, protocol)


@pytest.mark.parametrize("missing", GO_METHODS)
def test_a_missing_method_is_not_a_tracker(missing: str) -> None:
    partial = type("Partial", (_SyncTracker,), {missing: None})()
    assert not isinstance(partial, JobTracker)


def test_protocols_have_the_go_methods() -> None:
    for protocol in (JobTracker, AsyncJobTracker):
        public = sorted(
            name
            for name, _ in inspect.getmembers(protocol, inspect.isfunction)
            if not name.startswith("_")
        )
        assert public == sorted(GO_METHODS)
    for name in GO_METHODS:
        assert inspect.iscoroutinefunction(getattr(AsyncJobTracker, name))


@pytest.mark.parametrize("name", GO_METHODS)
def test_every_method_states_its_contract(name: str) -> None:
    doc = inspect.getdoc(getattr(JobTracker, name)) or ""
    assert "Returns:" in doc or "Raises:" in doc
    # The async twin refers to the same contract.
    assert f"JobTracker.{name}" in (inspect.getdoc(getattr(AsyncJobTracker, name)) or "")


def test_wait_contract_mentions_timeout_semantics() -> None:
    doc = inspect.getdoc(JobTracker.wait) or ""
    assert "WaitTimeoutError" in doc
    assert "``0`` checks once" in doc
    assert "``None`` waits forever" in doc
