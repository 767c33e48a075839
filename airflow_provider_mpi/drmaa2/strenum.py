"""``StrEnum``: a ``str`` enum whose ``str()`` and ``format()`` give its value.

The provider's word enums (job control actions, substates, trigger statuses,
policies) are ``str`` members that read as the word itself in messages,
labels and JSON. They all derive from this one class instead of each
repeating ``__str__``. It behaves as Python 3.11's ``enum.StrEnum``, which
Python 3.10 (still supported) lacks.
"""

from __future__ import annotations

import enum

__all__ = ["StrEnum"]


class StrEnum(str, enum.Enum):
    """A ``str`` enum whose ``str()`` and ``format()`` give its value."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)
