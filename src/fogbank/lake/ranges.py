"""HTTP byte ranges as GetObject reads them (``Range: bytes=first-last``)."""

from __future__ import annotations

import re

from fogbank.core.errors import InvalidRange

# ASCII only: a Range header's digits are DIGIT (RFC 9110), and without re.ASCII "\d"
# would also read "bytes=\u0660-\u0664" (Arabic-Indic digits) as bytes=0-4.
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.ASCII)
_MAX_DIGITS = 4000
_HUGE = 10 ** (_MAX_DIGITS + 1)


def resolve_range(spec: str | tuple[int, int | None] | None, size: int) -> tuple[int, int] | None:
    """Resolve a range against an object of ``size`` bytes to ``(first, last)`` inclusive.

    ``None`` means the whole object. A syntactically invalid header, or one with
    several ranges, is ignored and the whole object returned, as S3 does (RFC 9110).
    A range that starts at or past the end raises ``InvalidRange``; a last byte past
    the end is clamped. ``(first, None)`` reads from ``first`` to the end.
    """
    if spec is None:
        return None
    if isinstance(spec, tuple):
        first, last = spec
        if first < 0 or (last is not None and last < first):
            raise InvalidRange(
                f"Range ({first}, {last}) is not valid: give first >= 0 and last >= first.",
                ActualObjectSize=str(size),
            )
        return _clamp(first, size - 1 if last is None else last, size, f"bytes={first}-")
    match = _RANGE.match(spec)
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:
        suffix = _number(last_text)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(spec, size)
        return max(0, size - suffix), size - 1
    first = _number(first_text)
    last = _number(last_text) if last_text else max(first, size - 1)
    if last < first:
        return None
    return _clamp(first, last, size, spec)


def _number(digits: str) -> int:
    # int() refuses strings of over 4,300 digits (a ValueError, not InvalidRange); a
    # number that long is past the end of every object, so it stands for "huge".
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else _HUGE


def _clamp(first: int, last: int, size: int, spec: str) -> tuple[int, int]:
    if first >= size:
        raise _unsatisfiable(spec, size)
    return first, min(last, size - 1)


def _unsatisfiable(spec: str, size: int) -> InvalidRange:
    return InvalidRange(
        f"The requested range is not satisfiable: Range {spec!r} starts at or past the end "
        f"of an object of {size} bytes; ask for bytes below {size}.",
        RangeRequested=spec,
        ActualObjectSize=str(size),
    )
