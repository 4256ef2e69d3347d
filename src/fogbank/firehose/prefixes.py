"""Object keys as Firehose writes them: custom prefixes, their expressions, and the suffix.

A prefix is literal text with ``!{namespace:value}`` expressions:

- ``!{timestamp:<Java DateTimeFormatter pattern>}``: the arrival time of the oldest record
  in the object, in the destination's time zone (UTC unless ``CustomTimeZone``); every use
  in one prefix is the same instant;
- ``!{firehose:random-string}``: 11 random characters, new at each use;
- ``!{firehose:error-output-type}``: why records failed; only in ``ErrorOutputPrefix``;
- ``!{partitionKeyFromQuery:<key>}`` and ``!{partitionKeyFromLambda:<key>}``: the record's
  partition key (dynamic partitioning only; :mod:`fogbank.firehose.partitioning`); only in
  ``Prefix``.

A prefix with no timestamp and no partition-key expression gets ``yyyy/MM/dd/HH/``
appended (so the default, empty prefix gives ``2026/01/31/23/``). The key is the
evaluated prefix then ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>``.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from fogbank.core.errors import InvalidArgumentException

DEFAULT_TIME_PREFIX = "yyyy/MM/dd/HH/"
MAX_EVALUATED_PREFIX = 512
RANDOM_STRING_LENGTH = 11
_EXPRESSION = re.compile(r"!\{([^{}:]*):([^{}]*)\}")
_RANDOM_ALPHABET = string.ascii_letters + string.digits
_FIREHOSE_VALUES = ("random-string", "error-output-type")
QUERY = "partitionKeyFromQuery"
LAMBDA = "partitionKeyFromLambda"
DYNAMIC = (QUERY, LAMBDA)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Expression:
    namespace: str
    value: str


Segment = str | Expression


def parse_prefix(prefix: str, field: str) -> tuple[Segment, ...]:
    """The prefix as literal text and expressions; a malformed one is InvalidArgument.

    ``field`` (Prefix or ErrorOutputPrefix) names the parameter in the message.
    """
    segments: list[Segment] = []
    position = 0
    for match in _EXPRESSION.finditer(prefix):
        segments.append(prefix[position : match.start()])
        segments.append(_expression(match.group(1), match.group(2), field))
        position = match.end()
    tail = prefix[position:]
    if "!{" in tail:
        raise InvalidArgumentException(
            f"{field} {prefix!r} has an expression that is not of the form !{{namespace:value}}: "
            "close each '!{' with '}' and give a namespace (timestamp or firehose)."
        )
    segments.append(tail)
    return tuple(s for s in segments if s != "")


def _expression(namespace: str, value: str, field: str) -> Expression:
    if namespace == "timestamp":
        java_date_format(datetime(2000, 1, 1), value)  # fails early on an unknown letter
    elif namespace == "firehose":
        if value not in _FIREHOSE_VALUES:
            raise InvalidArgumentException(
                f"{field}: !{{firehose:{value}}} is not a firehose expression; the firehose "
                f"namespace takes {' or '.join(_FIREHOSE_VALUES)}."
            )
    elif namespace in DYNAMIC:
        if not value.strip():
            raise InvalidArgumentException(
                f"{field}: !{{{namespace}:}} names no key; write !{{{namespace}:<key>}}."
            )
    else:
        raise InvalidArgumentException(
            f"{field}: the expression namespace {namespace!r} is unknown; use timestamp, "
            f"firehose, {QUERY} or {LAMBDA}."
        )
    return Expression(namespace, value)


def partition_keys(prefix: str, namespace: str) -> tuple[str, ...]:
    """The keys a prefix reads from ``namespace`` (partitionKeyFromQuery or ...Lambda)."""
    found = [
        s.value
        for s in parse_prefix(prefix, "Prefix")
        if isinstance(s, Expression) and s.namespace == namespace
    ]
    return tuple(dict.fromkeys(found))


def check_prefixes(
    prefix: str | None, error_prefix: str | None, *, dynamic_partitioning: bool = False
) -> None:
    """The rules AWS applies to a destination's Prefix and ErrorOutputPrefix together."""
    parsed = parse_prefix(prefix or "", "Prefix")
    error_parsed = parse_prefix(error_prefix or "", "ErrorOutputPrefix")
    if any(isinstance(s, Expression) and s.namespace in DYNAMIC for s in error_parsed):
        raise InvalidArgumentException(
            "ErrorOutputPrefix may not contain partition-key expressions "
            f"(!{{{QUERY}:...}}, !{{{LAMBDA}:...}}): records there failed partitioning. "
            "Use timestamp and firehose expressions only."
        )
    dynamic = [s for s in parsed if isinstance(s, Expression) and s.namespace in DYNAMIC]
    if dynamic and not dynamic_partitioning:
        raise InvalidArgumentException(
            f"Prefix: !{{{dynamic[0].namespace}:{dynamic[0].value}}} needs dynamic "
            "partitioning: set DynamicPartitioningConfiguration {Enabled: true} (only at "
            "CreateDeliveryStream), or use timestamp and firehose expressions only."
        )
    if dynamic_partitioning and not dynamic:
        raise InvalidArgumentException(
            "Dynamic partitioning is enabled, so Prefix must use at least one partition key: "
            f"add !{{{QUERY}:<key>}} or !{{{LAMBDA}:<key>}} to it."
        )
    if dynamic_partitioning and not error_prefix:
        raise InvalidArgumentException(
            "ErrorOutputPrefix is required when dynamic partitioning is enabled: give one "
            "such as 'errors/!{firehose:error-output-type}/'."
        )
    if any(s == Expression("firehose", "error-output-type") for s in parsed):
        raise InvalidArgumentException(
            "Prefix may not contain !{firehose:error-output-type}: that expression belongs in "
            "ErrorOutputPrefix."
        )
    if any(isinstance(s, Expression) for s in parsed) and not error_prefix:
        raise InvalidArgumentException(
            "ErrorOutputPrefix is required when Prefix contains expressions: give an "
            "ErrorOutputPrefix such as 'errors/!{firehose:error-output-type}/'."
        )
    has_expressions = any(isinstance(s, Expression) for s in error_parsed)
    if has_expressions and Expression("firehose", "error-output-type") not in error_parsed:
        raise InvalidArgumentException(
            "ErrorOutputPrefix contains expressions, so it must contain "
            "!{firehose:error-output-type} at least once."
        )


def render_prefix(
    prefix: str,
    field: str,
    when: datetime,
    *,
    error_output_type: str | None = None,
    keys: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The evaluated prefix for an object whose oldest record arrived at ``when``;
    ``keys`` holds the partition keys by namespace (a missing one is a KeyError)."""
    segments = parse_prefix(prefix, field)
    if not any(
        isinstance(s, Expression) and s.namespace in ("timestamp", *DYNAMIC) for s in segments
    ):
        segments = (*segments, Expression("timestamp", DEFAULT_TIME_PREFIX))
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
        elif segment.namespace == "timestamp":
            out.append(java_date_format(when, segment.value))
        elif segment.namespace in DYNAMIC:
            out.append((keys or {}).get(segment.namespace, {})[segment.value])
        elif segment.value == "random-string":
            out.append(
                "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(RANDOM_STRING_LENGTH))
            )
        else:
            out.append(error_output_type or "")
    rendered = "".join(out)
    if len(rendered) > MAX_EVALUATED_PREFIX:
        raise InvalidArgumentException(
            f"{field} evaluates to {len(rendered)} characters; the most is "
            f"{MAX_EVALUATED_PREFIX}. Shorten it."
        )
    return rendered


def object_name(stream: str, version: int, when: datetime, extension: str) -> str:
    """The key's suffix: ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>``."""
    return f"{stream}-{version}-{when:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


def java_date_format(when: datetime, pattern: str) -> str:
    """``when`` formatted by a Java ``DateTimeFormatter`` pattern (the letters Firehose
    prefixes use: y M d H h m s S E a D), with ``'quoted'`` text literal and ``''`` a
    quote; other letters are refused, every other character is kept as it is."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            text, i = _quoted(pattern, i)
            out.append(text)
            continue
        if not char.isascii() or not char.isalpha():
            out.append(char)
            i += 1
            continue
        run = 1
        while i + run < len(pattern) and pattern[i + run] == char:
            run += 1
        out.append(_field(when, char, run, pattern))
        i += run
    return "".join(out)


def _quoted(pattern: str, start: int) -> tuple[str, int]:
    """The literal text of the quote opening at ``start`` (``''`` is one quote), and
    where the pattern goes on after it."""
    if pattern.startswith("''", start):
        return "'", start + 2
    text: list[str] = []
    i = start + 1
    while i < len(pattern):
        if pattern[i] != "'":
            text.append(pattern[i])
            i += 1
        elif pattern.startswith("''", i):
            text.append("'")
            i += 2
        else:
            return "".join(text), i + 1
    raise InvalidArgumentException(
        f"The timestamp pattern {pattern!r} has an unclosed quote: close quoted text with a "
        "second single quote."
    )


def _field(when: datetime, letter: str, width: int, pattern: str) -> str:
    if letter in ("y", "u"):
        return f"{when.year % 100:02d}" if width == 2 else f"{when.year:0{width}d}"
    if letter in ("M", "L"):
        if width >= 4:
            return _MONTHS[when.month - 1]
        if width == 3:
            return _MONTHS[when.month - 1][:3]
        return f"{when.month:0{width}d}"
    if letter == "E":
        name = _DAYS[when.weekday()]
        return name if width >= 4 else name[:3]
    if letter == "S":
        return f"{when.microsecond:06d}"[:width].ljust(width, "0")
    if letter == "a":
        return "AM" if when.hour < 12 else "PM"
    numbers = {
        "d": when.day,
        "H": when.hour,
        "h": (when.hour % 12) or 12,
        "m": when.minute,
        "s": when.second,
        "D": when.timetuple().tm_yday,
    }
    if letter in numbers:
        return f"{numbers[letter]:0{width}d}"
    raise InvalidArgumentException(
        f"The timestamp pattern {pattern!r} uses the letter {letter!r}, which fogbank does not "
        "format; use y, M, d, H, h, m, s, S, E, a or D, and quote literal text ('T')."
    )
