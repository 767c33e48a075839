"""Differences between the emulator and the real cluster that stay, each with its reason.

:func:`explain` returns the reason for a difference at ``path`` in a
scenario, or ``None`` when the difference is not explained (a fidelity bug
to fix in the emulator).
"""

from __future__ import annotations

import fnmatch

#: ``(scenario pattern, path pattern, reason)``.
KNOWN: tuple[tuple[str, str, str], ...] = ()


def explain(scenario: str, path: str) -> str | None:
    """The reason a difference is left, or ``None``."""
    for scenario_pattern, path_pattern, reason in KNOWN:
        if fnmatch.fnmatch(scenario, scenario_pattern) and fnmatch.fnmatch(path, path_pattern):
            return reason
    return None
