"""Go's ``time.Time`` and ``time.Duration`` in JSON, and its ``int64`` range.

Times are RFC 3339 with up to nanoseconds (Python keeps microseconds, so the
last three digits are truncated), and Go's zero time ``0001-01-01T00:00:00Z``
means unset. Durations are integer nanoseconds.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from airflow_provider_mpi.drmaa2.errors import InvalidArgumentError

__all__ = [
    "DURATION_DESCRIPTION",
    "GO_ZERO_TIME",
    "TIME_DESCRIPTION",
    "check_int64",
    "format_duration",
    "format_time",
    "parse_duration",
    "parse_time",
]

#: What a valid time and duration look like, in error messages.
TIME_DESCRIPTION = "an RFC 3339 time"
DURATION_DESCRIPTION = "a duration in nanoseconds"

#: What Go writes for an unset ``time.Time``.
GO_ZERO_TIME = "0001-01-01T00:00:00Z"

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?(?P<tz>[Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: object, field: str, error: type[InvalidArgumentError]) -> datetime | None:
    """Read a Go ``time.Time`` (RFC 3339 string) or a timezone-aware datetime.

    Args:
        value: the JSON value, a datetime, or None.
        field: the key, for the error message.
        error: the error class to raise.

    Returns:
        A UTC datetime, or None for None, ``""`` and Go's zero time.

    Raises:
        InvalidArgumentError: (or the given subclass) the value is not a time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise error(field, value, "must be timezone-aware")
        return value.astimezone(timezone.utc)
    if not isinstance(value, str):
        raise error(field, value, f"must be {TIME_DESCRIPTION}")
    match = _RFC3339.match(value.strip())
    if match is None:
        raise error(field, value, f"must be {TIME_DESCRIPTION}, e.g. 2024-05-01T10:00:00Z")
    frac = (match["frac"] or "").ljust(6, "0")[:6]
    tz = match["tz"].upper()
    iso = f"{match['date']}T{match['h']}:{match['m']}:{match['s']}.{frac}"
    iso += "+00:00" if tz == "Z" else tz
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise error(field, value, f"must be {TIME_DESCRIPTION}") from None
    if parsed == _ZERO:
        return None
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise error(field, value, "is outside the supported range of years") from None


_ZERO = datetime(1, 1, 1, tzinfo=timezone.utc)


def format_time(value: datetime, field: str, error: type[InvalidArgumentError]) -> str:
    """Write a datetime as Go writes a ``time.Time`` (RFC 3339, trimmed fraction).

    Args:
        value: a timezone-aware datetime.
        field: the key, for the error message.
        error: the error class to raise.

    Returns:
        The UTC time, e.g. ``"2024-05-01T08:00:00.5Z"``.

    Raises:
        InvalidArgumentError: (or the given subclass) the datetime is naive.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(field, value, "must be timezone-aware")
    utc = value.astimezone(timezone.utc)
    text = utc.replace(tzinfo=None, microsecond=0).isoformat()
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_duration(
    value: object, field: str, error: type[InvalidArgumentError]
) -> timedelta | None:
    """Read a Go ``time.Duration`` (integer nanoseconds) or a timedelta.

    Nanoseconds below a microsecond are truncated.

    Raises:
        InvalidArgumentError: (or the given subclass) not an integer or timedelta.
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        check_int64(field, value, error)
        micros = value // 1000 if value >= 0 else -((-value) // 1000)
        try:
            return timedelta(microseconds=micros)
        except OverflowError:
            raise error(field, value, "duration out of range") from None
    raise error(field, value, f"must be {DURATION_DESCRIPTION}")


def format_duration(value: timedelta) -> int:
    """Write a timedelta as Go ``time.Duration`` nanoseconds."""
    return ((value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds) * 1000


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def check_int64(key: str, value: int, error: type[InvalidArgumentError]) -> int:
    """Reject integers Go cannot read into an ``int64``."""
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise error(key, value, "must fit in a 64-bit signed integer")
    return value
