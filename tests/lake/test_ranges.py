"""resolve_range: GetObject's Range header, checked against a reference implementation."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fogbank.core.errors import InvalidRange
from fogbank.lake.ranges import resolve_range

WHOLE = "whole"
UNSATISFIABLE = "416"


SPACE = "[ \t\n\r\f\v]*"
SINGLE_RANGE = re.compile(f"{SPACE}bytes{SPACE}={SPACE}([0-9]*){SPACE}-{SPACE}([0-9]*){SPACE}")


def below(digits: str, bound: int) -> bool:
    """Whether the decimal ``digits`` (any length; int() refuses over 4,300) is < bound."""
    digits = digits.lstrip("0") or "0"
    return len(digits) < len(str(bound)) or (len(digits) == len(str(bound)) and digits < str(bound))


def reference(spec: str, size: int) -> tuple[int, int] | str:
    """RFC 9110 single byte ranges as S3 answers them, written independently: ASCII digits
    only; a malformed or multi-range header reads the whole object; a first byte at or past
    the end (or a zero-length suffix) is 416; a last byte past the end is clamped."""
    match = SINGLE_RANGE.fullmatch(spec)
    if match is None or match.groups() == ("", ""):
        return WHOLE
    first_text, last_text = match.groups()
    if first_text == "":
        if last_text.lstrip("0") == "" or size == 0:
            return UNSATISFIABLE
        return (size - int(last_text) if below(last_text, size) else 0, size - 1)
    last_before_first = last_text != "" and (
        (len(last_text.lstrip("0")), last_text.lstrip("0"))
        < (len(first_text.lstrip("0")), first_text.lstrip("0"))
    )
    if last_before_first:
        return WHOLE
    if not below(first_text, size):
        return UNSATISFIABLE
    last = size - 1 if last_text == "" or not below(last_text, size) else int(last_text)
    return (int(first_text), last)


def actual(spec: str | tuple[int, int | None], size: int) -> tuple[int, int] | str:
    try:
        resolved = resolve_range(spec, size)
    except InvalidRange as exc:
        assert exc.fields["ActualObjectSize"] == str(size)
        return UNSATISFIABLE
    return WHOLE if resolved is None else resolved


number = st.one_of(
    st.integers(0, 40).map(str),
    st.integers(0, 10**30).map(str),
    st.just(""),
    st.just("007"),
    st.sampled_from(["\u0663", "1\u0661", "\uff11"]),  # digits, but not ASCII digits
)
well_formed = st.builds(
    lambda first, last, space: f"bytes={space}{first}-{last}{space}",
    number,
    number,
    st.sampled_from(["", " ", "\t"]),
)
noise = st.text(alphabet=st.sampled_from(list("bytes=-0123456789, \t\u0663\u00a0x")), max_size=16)
specs = st.one_of(well_formed, noise, well_formed.map(lambda s: s + ",0-1"))
sizes = st.integers(0, 50) | st.integers(0, 2**40)


@settings(max_examples=600, deadline=None)
@given(spec=specs, size=sizes)
@example(spec="bytes=\u0660-\u0664", size=10)
@example(spec="bytes=\u00a00-4", size=10)
@example(spec="bytes=0-" + "9" * 5000, size=10)
@example(spec="bytes=-" + "9" * 5000, size=10)
@example(spec="bytes=" + "9" * 5000 + "-", size=10)
def test_resolve_range_agrees_with_the_reference(spec: str, size: int) -> None:
    """GetObject Range: resolve_range answers what the reference does, never a range
    outside [0, size), and never an error other than InvalidRange."""
    got = actual(spec, size)
    assert got == reference(spec, size)
    if isinstance(got, tuple):
        first, last = got
        assert 0 <= first <= last < size


@settings(max_examples=300, deadline=None)
@given(
    first=st.integers(-5, 60),
    last=st.one_of(st.none(), st.integers(-5, 60)),
    size=st.integers(0, 50),
)
def test_resolve_range_tuples_stay_inside_the_object(
    first: int, last: int | None, size: int
) -> None:
    """GetObject with a (first, last) range: inside [0, size) and clamped, else InvalidRange."""
    got = actual((first, last), size)
    if first < 0 or (last is not None and last < first) or first >= size:
        assert got == UNSATISFIABLE
    else:
        assert got == (first, size - 1 if last is None else min(last, size - 1))


@pytest.mark.parametrize(
    ("spec", "size", "expected"),
    [
        ("bytes=0-0", 1, (0, 0)),
        ("bytes=0-", 1, (0, 0)),
        ("bytes=-1", 1, (0, 0)),
        ("bytes=-1", 0, UNSATISFIABLE),
        ("bytes=0-0", 0, UNSATISFIABLE),
        ("bytes=1-", 1, UNSATISFIABLE),
        ("bytes=00003-00004", 10, (3, 4)),
        (" bytes = 2 - 3 ", 10, (2, 3)),
        ("BYTES=0-1", 10, WHOLE),
        ("bytes=0-1,2-3", 10, WHOLE),
        ("bytes=" + "1" * 40 + "-", 10, UNSATISFIABLE),
    ],
)
def test_resolve_range_examples(spec: str, size: int, expected: tuple[int, int] | str) -> None:
    """GetObject Range: edges of single byte ranges."""
    assert actual(spec, size) == expected


def test_resolve_range_none_is_the_whole_object() -> None:
    """GetObject without Range: the whole object."""
    assert resolve_range(None, 10) is None
