"""Run MPIJobTriggers in a fresh interpreter, as a triggerer does, and report event-loop blocks.

Usage (a child process; the parent starts the emulator and submits the jobs)::

    python tests/dags/loop_probe.py <kubeconfig> <job_id_to_wait> <job_id_to_kill> ...

The process imports what a real triggerer has loaded before its first
trigger (``airflow.jobs.triggerer_job_runner``), then runs an asyncio loop in
debug mode with ``slow_callback_duration = 0.05``. Inside the loop, as
``TriggerRunner.create_triggers`` does, it imports the trigger class from its
classpath, then runs the triggers through Airflow's own
``TriggerRunner.run_trigger``: the first waits for its job to end, the
others are killed by user action (``cancel_triggers``, which runs
``on_kill``). asyncio's "Executing <handle> took N seconds" warnings are
collected, and one JSON line is printed: the worst block in seconds, every
slow callback, and how each trigger ended. The import of the trigger's
module by Airflow's ``create_triggers`` (its own code, synchronous, in the
loop) is reported apart: ``import_seconds`` as timed and ``import_block``
if it was a slow callback (about 20 ms on an idle machine, since the trigger
module loads nothing heavy; the heavy client modules load in a thread).

Timing alone misses a blocking call that is short on an idle machine and long
under load (the TLS context of the first API client: 20-30 ms idle, 52-181 ms
under load). So the probe also records, by thread rather than by time, what
ran on the loop's thread after the trigger class was imported:

- ``tls_in_loop``: every ``ssl.create_default_context`` call (a spy that
  times the call and changes nothing; the call reads the CA bundle);
- ``worst_step_cpu``: the most CPU time the loop's thread spent in one step
  (``time.thread_time`` around each handle), which, unlike the wall time of
  the slow-callback warning, a busy machine that does not schedule the
  process cannot inflate;
- ``files_in_loop``: every file opened (Python's ``open`` audit event: kube
  config files, certificates written to temporary files, token files), but
  Python sources, which debug mode reads for its tracebacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import ssl
import sys
import tempfile
import threading
import time
from typing import Any

SLOW = 0.05
CLASSPATH = "airflow_provider_mpi.triggers.mpi_job.MPIJobTrigger"
#: The task importing the trigger class, as Airflow's create_triggers does in the loop.
IMPORT_TASK = "create_triggers-import"
_TOOK = re.compile(r"took (?P<seconds>[0-9.]+) seconds")


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.blocks: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if (match := _TOOK.search(message)) is not None:
            self.blocks.append((float(match.group("seconds")), message[:300]))


class _LoopThreadSpy:
    """Records blocking calls made on the loop's thread while ``watching`` is set."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()
        self.watching = False
        self.tls: list[str] = []
        self.files: list[str] = []
        self.worst_step_cpu = 0.0
        self.worst_step = ""

    def _on_loop(self) -> bool:
        return self.watching and threading.get_ident() == self.loop_thread

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        # Python sources are read by debug mode's tracebacks (linecache), not by us.
        if event == "open" and self._on_loop() and not str(args[0]).endswith(".py"):
            self.files.append(str(args[0]))

    def install(self) -> None:
        sys.addaudithook(self.audit)
        original = ssl.create_default_context

        def create_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                if self._on_loop():
                    took = (time.perf_counter() - began) * 1000
                    self.tls.append(f"ssl.create_default_context{kwargs or args} {took:.1f} ms")

        ssl.create_default_context = create_default_context  # type: ignore[assignment]
        run = asyncio.events.Handle._run
        spy = self

        def timed_run(handle: asyncio.events.Handle) -> None:
            began = time.thread_time()
            try:
                run(handle)
            finally:
                took = time.thread_time() - began
                if spy.watching and took > spy.worst_step_cpu:
                    spy.worst_step_cpu, spy.worst_step = took, repr(handle)[:300]

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]


SPY = _LoopThreadSpy()

# Client libraries whose import takes far longer than a loop step; the
# trigger module must leave them to the thread that loads them.
HEAVY_PACKAGES = frozenset({"kubernetes", "kubernetes_asyncio", "aiohttp", "urllib3", "yaml"})


async def _probe(kubeconfig: str, wait_id: str, kill_ids: list[str]) -> dict[str, Any]:
    from airflow.jobs.triggerer_job_runner import TriggerRunner

    runner = TriggerRunner()
    started = time.perf_counter()

    async def create_triggers() -> Any:
        # What create_triggers does, in the loop: import the class from its classpath.
        before = set(sys.modules)
        began = time.perf_counter()
        found = runner.get_trigger_by_classpath(CLASSPATH)
        seconds = time.perf_counter() - began
        loaded = sorted(
            name for name in set(sys.modules) - before if name.split(".")[0] in HEAVY_PACKAGES
        )
        return found, seconds, loaded

    trigger_class, import_seconds, heavy = await asyncio.create_task(
        create_triggers(), name=IMPORT_TASK
    )
    SPY.watching = True  # from here on, the triggers run
    kwargs = {"conn_id": None, "config_file": kubeconfig, "namespace": "default"}

    def start(trigger_id: int, trigger: Any) -> asyncio.Task[None]:
        runner.triggers[trigger_id] = {  # type: ignore[typeddict-item]
            "task": None,
            "name": f"probe-{trigger_id}",
            "events": 0,
            "is_watcher": False,
        }
        task = asyncio.create_task(runner.run_trigger(trigger_id, trigger))
        runner.triggers[trigger_id]["task"] = task
        return task

    waiting = start(1, trigger_class(wait_id, **kwargs))
    killed = [
        start(n, trigger_class(job_id, terminate_on_kill=True, **kwargs))
        for n, job_id in enumerate(kill_ids, 2)
    ]
    await asyncio.sleep(1.0)  # the kills come while the triggers wait
    kill_started = time.perf_counter()
    runner.to_cancel.extend(range(2, 2 + len(kill_ids)))
    await runner.cancel_triggers()
    for task in killed:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    kill_seconds = time.perf_counter() - kill_started
    await waiting
    SPY.watching = False
    return {
        "import_seconds": import_seconds,
        "heavy_imports_in_loop": heavy,
        "events": [entry.event.payload for entry in runner.events],
        "kill_seconds": kill_seconds,
        "tls_in_loop": SPY.tls,
        "files_in_loop": SPY.files,
        "worst_step_cpu": SPY.worst_step_cpu,
        "worst_step": SPY.worst_step,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str]) -> int:
    kubeconfig, wait_id, *kill_ids = argv
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="loop-probe-home-"))
    import airflow.jobs.triggerer_job_runner  # noqa: F401  (loaded in a triggerer already)

    SPY.install()
    handler = _SlowCallbacks()
    logging.getLogger("asyncio").addHandler(handler)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW
    try:
        result = loop.run_until_complete(_probe(kubeconfig, wait_id, kill_ids))
    finally:
        loop.close()
    blocks = sorted(handler.blocks, reverse=True)
    ours = [(seconds, text) for seconds, text in blocks if IMPORT_TASK not in text]
    imports = [seconds for seconds, text in blocks if IMPORT_TASK in text]
    result["worst_block"] = ours[0][0] if ours else 0.0
    result["slow_callbacks"] = [text for _, text in ours]
    result["import_block"] = imports[0] if imports else 0.0
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
