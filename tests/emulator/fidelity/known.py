"""Differences between the emulator and the real cluster that stay, each with its reason.

:func:`explain` returns the reason for a difference at ``path`` in a
scenario, or ``None`` when the difference is not explained (a fidelity bug
to fix in the emulator).
"""

from __future__ import annotations

import fnmatch

#: ``(scenario pattern, path pattern, reason)``.
KNOWN: tuple[tuple[str, str, str], ...] = (
    (
        "clean-none",
        "tracker.machines",
        "placement: the real scheduler spreads the launcher and workers over more nodes; the "
        "emulator hashes pod names onto its four nodes (the count of distinct nodes differs, "
        "not the pods)",
    ),
    (
        "delete-with-children",
        "events",
        "deletion order: the garbage collector deletes the workers before the launcher pod, so "
        "the launcher loses its peers and the kubelet restarts it (Pod:BackOff); the emulator "
        "deletes the children at once",
    ),
    (
        "suspend-resume",
        "*",
        "upstream RBAC: mpi-operator v0.8.2 resumes a launcher Job that had started by "
        "clearing its status.startTime (Jobs().UpdateStatus), but the ClusterRole of its "
        "release manifests grants batch jobs create/list/update/watch and not jobs/status; on a "
        "real cluster the resume is refused (forbidden, retried forever), the workers come back "
        "and the launcher stays suspended. The emulator resumes as the operator's code means to",
    ),
    (
        "hold-release",
        "*",
        "the same upstream RBAC gap as suspend-resume, when the hold lands after the launcher "
        "Job was created and started (a race: the pods' start-delay does not delay the Job's "
        "startTime); when the hold comes first, the backends agree",
    ),
    (
        "api-watch-bookmark",
        "*",
        "the emulator does not implement the WatchList protocol (sendInitialEvents with the "
        "k8s.io/initial-events-end bookmark); the provider never asks for it",
    ),
)


def explain(scenario: str, path: str) -> str | None:
    """The reason a difference is left, or ``None``."""
    for scenario_pattern, path_pattern, reason in KNOWN:
        if fnmatch.fnmatch(scenario, scenario_pattern) and fnmatch.fnmatch(path, path_pattern):
            return reason
    return None
