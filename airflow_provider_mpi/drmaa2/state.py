"""DRMAA2 job states and job control actions as enums.

States and actions cross every layer (tracker, trigger payloads, XCom, logs),
so they are enums with one spelling: the Go ``drmaa2interface`` one. A
``JobState`` is an ``IntEnum`` in the Go order, so the integer Go writes in
JSON reads back as the same member; ``str()`` gives the Go name.
"""

from __future__ import annotations

import contextlib
import enum
import re

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError
from airflow_provider_mpi.drmaa2.strenum import StrEnum

__all__ = ["END_STATES", "JobControlAction", "JobState"]


def _normalise(name: str) -> str:
    return re.sub(r"[\s_-]", "", name).lower()


class JobState(enum.IntEnum):
    """The DRMAA2 job state, numbered as Go's ``drmaa2interface.JobState``.

    ``str(state)`` and ``format(state)`` give the Go name (``"QueuedHeld"``);
    :meth:`from_string` reads the Go name, the Python name or snake case.
    """

    UNSET = 0
    UNDETERMINED = 1
    QUEUED = 2
    QUEUED_HELD = 3
    RUNNING = 4
    SUSPENDED = 5
    REQUEUED = 6
    REQUEUED_HELD = 7
    DONE = 8
    FAILED = 9

    @property
    def go_name(self) -> str:
        """The Go spelling of the state, e.g. ``"QueuedHeld"``."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def is_terminal(self) -> bool:
        """True for the end states Done and Failed (:data:`END_STATES`)."""
        return self in END_STATES

    def __str__(self) -> str:
        return self.go_name

    def __format__(self, format_spec: str) -> str:
        if format_spec:
            return int.__format__(int(self), format_spec)
        return self.go_name

    @classmethod
    def from_string(cls, name: str) -> JobState:
        """Read a state name.

        Args:
            name: ``"QueuedHeld"``, ``"QUEUED_HELD"`` or ``"queued_held"``
                (case, underscores and dashes are ignored).

        Returns:
            The member.

        Raises:
            InvalidArgumentError: the name is not a state.
        """
        if isinstance(name, cls):
            return name
        if isinstance(name, str):
            wanted = _normalise(name)
            for member in cls:
                if _normalise(member.name) == wanted:
                    return member
        raise InvalidArgumentError(
            "state", name, "must be one of " + ", ".join(m.go_name for m in cls)
        )

    @classmethod
    def parse(cls, value: object) -> JobState:
        """Read a state from a member, its integer or a name.

        Args:
            value: a ``JobState``, an ``int`` 0..9 or a name as accepted by
                :meth:`from_string`.

        Returns:
            The member.

        Raises:
            InvalidArgumentError: the value is not a state.
        """
        if isinstance(value, int) and not isinstance(value, bool):  # a member is an int too
            try:
                return cls(value)
            except ValueError:
                pass
        elif isinstance(value, str):
            return cls.from_string(value)
        raise InvalidArgumentError(
            "state", value, f"must be a state name or an integer 0..{len(cls) - 1}"
        )


#: The states a job ends in and never leaves: Done and Failed. A wait given
#: no states waits for these; the one definition every layer uses.
END_STATES: frozenset[JobState] = frozenset({JobState.DONE, JobState.FAILED})


class JobControlAction(StrEnum):
    """The DRMAA2 job control actions (drmaa2os ``JobControl*`` constants)."""

    TERMINATE = "terminate"
    SUSPEND = "suspend"
    RESUME = "resume"
    HOLD = "hold"
    RELEASE = "release"

    @classmethod
    def parse(cls, value: object) -> JobControlAction:
        """Read an action name, case-insensitively.

        Args:
            value: a member or one of ``terminate``, ``suspend``, ``resume``,
                ``hold``, ``release``.

        Returns:
            The member.

        Raises:
            InvalidArgumentError: the value is not an action.
        """
        if isinstance(value, str):  # a member is a str too
            with contextlib.suppress(ValueError):
                return cls(value.strip().lower())
        raise InvalidArgumentError(
            "action", value, "must be one of " + ", ".join(m.value for m in cls)
        )
