"""The job tracker: each operation written once, run by a sync and an async driver.

- :mod:`.steps`, :mod:`.array_steps`: every tracker operation as pure steps
  over request descriptors and answers (see :mod:`.run` for the protocol);
- :mod:`.sync` (:class:`MPIOperatorTracker`) and :mod:`.aio`
  (:class:`AsyncMPIOperatorTracker`): the thin drivers, over the
  ``kubernetes`` and ``kubernetes_asyncio`` transports of :mod:`..client`;
- the pure parts: :mod:`.submission` (names, tokens, array plans),
  :mod:`.array_owner` and :mod:`.release` (an array's intent and release
  mark), :mod:`.control`, :mod:`.ids`, :mod:`.queries`, :mod:`.arrays`,
  :mod:`.waiting`, :mod:`.waiters`, :mod:`.watch_cursor`;
- waiting: :mod:`.sync_watch` (one watch per sync wait) and the shared
  watches of the event loop (:mod:`.shared_watch`, :mod:`.watch_hub`,
  :mod:`.pod_hub`); :mod:`.submit_window` paces an array's creates;
- :mod:`.job_view`: the run page's view of a job (read through the transport).

This package's ``__init__`` imports nothing, so its pure modules stay pure;
import the trackers from :mod:`airflow_provider_mpi.mpioperator`.
"""
