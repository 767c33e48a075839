"""``StrEnum``: Python 3.11's ``enum.StrEnum``, with a stand-in on Python 3.10.

The provider's word enums (job control actions, substates, trigger statuses,
policies) are ``str`` members whose ``str()`` and ``format()`` are the word
itself, so they read as written in messages, labels and JSON. They all derive
from this one class instead of each repeating ``__str__``.
"""

from __future__ import annotations

import enum
import sys

__all__ = ["StrEnum"]

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:

    class StrEnum(str, enum.Enum):
        """A ``str`` enum whose ``str()`` and ``format()`` give its value."""

        def __str__(self) -> str:
            return str(self.value)

        def __format__(self, format_spec: str) -> str:
            return format(str(self.value), format_spec)
