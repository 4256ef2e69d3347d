"""Glue cron schedules: parsing, validation messages, next due times, and the Scheduler."""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fogbank.catalog.schedule import CronSchedule, Scheduler, parse_schedule
from fogbank.core.errors import InvalidInputException


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def next_after(expression: str, moment: datetime) -> datetime | None:
    return parse_schedule(expression).next_after(moment)


# (expression, moment, expected next due time). 1 January 2024 is a Monday.
NEXT_AFTER = [
    # the Glue guide's examples
    ("cron(15 12 * * ? *)", at(2024, 1, 1), at(2024, 1, 1, 12, 15)),
    ("cron(0 10 * * ? *)", at(2024, 1, 1, 10, 0, 1), at(2024, 1, 2, 10)),
    ("cron(0 18 ? * MON-FRI *)", at(2024, 1, 5, 18), at(2024, 1, 8, 18)),
    ("cron(0 8 1 * ? *)", at(2024, 1, 1, 8), at(2024, 2, 1, 8)),
    ("cron(0/15 * * * ? *)", at(2024, 1, 1, 12, 50), at(2024, 1, 1, 13, 0)),
    ("cron(0/10 * ? * MON-FRI *)", at(2024, 1, 5, 23, 55), at(2024, 1, 8, 0, 0)),
    ("cron(0/5 8-17 ? * MON-FRI *)", at(2024, 1, 1, 17, 55), at(2024, 1, 2, 8, 0)),
    # strictly after: a moment that is itself due moves on
    ("cron(15 12 * * ? *)", at(2024, 1, 1, 12, 15), at(2024, 1, 2, 12, 15)),
    # seconds and microseconds in the moment
    (
        "cron(15 12 * * ? *)",
        datetime(2024, 1, 1, 12, 14, 59, 999, tzinfo=UTC),
        at(2024, 1, 1, 12, 15),
    ),
    # , - * / in minutes and hours
    ("cron(1/10 * * * ? *)", at(2024, 1, 1, 12, 1), at(2024, 1, 1, 12, 11)),
    ("cron(1/10 * * * ? *)", at(2024, 1, 1, 12, 51), at(2024, 1, 1, 13, 1)),
    ("cron(*/20 * * * ? *)", at(2024, 1, 1, 12, 41), at(2024, 1, 1, 13, 0)),
    ("cron(10-50/20 * * * ? *)", at(2024, 1, 1, 12, 31), at(2024, 1, 1, 12, 50)),
    ("cron(0 6,18 * * ? *)", at(2024, 1, 1, 7), at(2024, 1, 1, 18)),
    ("cron(30 22-23 * * ? *)", at(2024, 1, 1, 23, 30), at(2024, 1, 2, 22, 30)),
    ("cron(0 0/6 * * ? *)", at(2024, 1, 1, 13), at(2024, 1, 1, 18)),
    # day-of-week counts 1 = SUN .. 7 = SAT, unlike Unix cron
    ("cron(0 10 ? * 1 *)", at(2024, 1, 1), at(2024, 1, 7, 10)),
    ("cron(0 10 ? * 7 *)", at(2024, 1, 1), at(2024, 1, 6, 10)),
    ("cron(0 10 ? * 2 *)", at(2024, 1, 1, 10), at(2024, 1, 8, 10)),
    ("cron(0 10 ? * SUN *)", at(2024, 1, 1), at(2024, 1, 7, 10)),
    ("cron(0 10 ? * sat *)", at(2024, 1, 1), at(2024, 1, 6, 10)),
    ("cron(0 10 ? * 2-6 *)", at(2024, 1, 6), at(2024, 1, 8, 10)),
    ("cron(0 10 ? * 6-7 *)", at(2024, 1, 1), at(2024, 1, 5, 10)),
    ("cron(0 10 ? * 1/2 *)", at(2024, 1, 1), at(2024, 1, 2, 10)),  # SUN,TUE,THU,SAT
    ("cron(0 10 ? * 1/2 *)", at(2024, 1, 2, 10), at(2024, 1, 4, 10)),
    ("cron(0 10 ? * */3 *)", at(2024, 1, 2), at(2024, 1, 3, 10)),  # SUN,WED,SAT
    ("cron(0 10 ? * TUE,THU *)", at(2024, 1, 3), at(2024, 1, 4, 10)),
    ("cron(0 10 ? * * *)", at(2024, 1, 1, 10), at(2024, 1, 2, 10)),
    # day-of-month values, lists, ranges, steps; a 31st skips the short months
    ("cron(0 0 10,20 * ? *)", at(2024, 1, 10), at(2024, 1, 20)),
    ("cron(0 0 1-3 * ? *)", at(2024, 1, 3), at(2024, 2, 1)),
    ("cron(0 0 1/10 * ? *)", at(2024, 1, 21), at(2024, 1, 31)),
    ("cron(0 0 31 * ? *)", at(2024, 4, 1), at(2024, 5, 31)),
    # L in day-of-month: the last day, leap years included
    ("cron(0 0 L * ? *)", at(2024, 2, 1), at(2024, 2, 29)),
    ("cron(0 0 L * ? *)", at(2023, 2, 1), at(2023, 2, 28)),
    ("cron(0 0 L * ? *)", at(2024, 4, 30), at(2024, 5, 31)),
    # nL in day-of-week: the month's last such weekday; L alone is Saturday
    ("cron(0 0 ? * 6L *)", at(2024, 1, 1), at(2024, 1, 26)),
    ("cron(0 0 ? * 6L *)", at(2024, 1, 27), at(2024, 2, 23)),
    ("cron(0 0 ? * 1L *)", at(2024, 3, 1), at(2024, 3, 31)),
    ("cron(0 0 ? * L *)", at(2024, 1, 1), at(2024, 1, 6)),
    # LW: the last weekday of the month
    ("cron(0 0 LW * ? *)", at(2024, 3, 1), at(2024, 3, 29)),  # 31 March 2024 is a Sunday
    ("cron(0 0 LW * ? *)", at(2024, 8, 1), at(2024, 8, 30)),  # 31 August 2024 is a Saturday
    ("cron(0 0 LW * ? *)", at(2024, 2, 1), at(2024, 2, 29)),  # a Thursday
    # nW: the weekday nearest day n, never leaving the month
    ("cron(0 0 15W * ? *)", at(2024, 6, 1), at(2024, 6, 14)),  # the 15th a Saturday
    ("cron(0 0 15W * ? *)", at(2024, 9, 1), at(2024, 9, 16)),  # the 15th a Sunday
    ("cron(0 0 15W * ? *)", at(2024, 1, 1), at(2024, 1, 15)),  # the 15th a Monday
    ("cron(0 0 1W * ? *)", at(2024, 5, 2), at(2024, 6, 3)),  # 1 June a Saturday: Monday the 3rd
    ("cron(0 0 31W * ? *)", at(2024, 3, 1), at(2024, 3, 29)),  # 31 March a Sunday: Friday
    ("cron(0 0 30W * ? *)", at(2024, 2, 1), at(2024, 3, 29)),  # no 30 February
    ("cron(30 9 15W * ? *)", at(2024, 6, 14, 9, 30), at(2024, 7, 15, 9, 30)),
    # n#k: the k-th weekday n of the month
    ("cron(0 0 ? * 3#2 *)", at(2024, 1, 1), at(2024, 1, 9)),  # second Tuesday
    ("cron(0 0 ? * MON#1 *)", at(2024, 1, 1), at(2024, 2, 5)),
    ("cron(0 0 ? * 6#5 *)", at(2024, 1, 1), at(2024, 3, 29)),  # the first fifth Friday
    # months: numbers, names, ranges
    ("cron(0 0 1 JAN,JUL ? *)", at(2024, 2, 1), at(2024, 7, 1)),
    ("cron(0 0 1 feb-mar ? *)", at(2024, 3, 1), at(2025, 2, 1)),
    ("cron(0 0 1 1/3 ? *)", at(2024, 1, 1), at(2024, 4, 1)),
    ("cron(0 0 1 12 ? *)", at(2024, 12, 1), at(2025, 12, 1)),
    # leap days: 2100 is not a leap year
    ("cron(0 0 29 2 ? *)", at(2024, 3, 1), at(2028, 2, 29)),
    ("cron(0 0 29 2 ? *)", at(2096, 3, 1), at(2104, 2, 29)),
    # years, past croniter's 2099 too
    ("cron(0 0 1 1 ? 2030)", at(2024, 1, 1), at(2030, 1, 1)),
    ("cron(0 0 1 1 ? 2026,2030)", at(2026, 1, 1), at(2030, 1, 1)),
    ("cron(0 0 1 1 ? 2150-2152)", at(2024, 1, 1), at(2150, 1, 1)),
    ("cron(0 0 1 1 ? 2150-2152)", at(2150, 1, 1), at(2151, 1, 1)),
    ("cron(0 0 1 * ? 2100/50)", at(2024, 6, 1), at(2100, 1, 1)),
    ("cron(0 0 ? * 6L 2150)", at(2024, 1, 1), at(2150, 1, 30)),
    ("cron(0 0 LW * ? 2199)", at(2199, 11, 1), at(2199, 11, 29)),  # the 30th a Saturday
    ("cron(0 0 LW * ? 2199)", at(2199, 11, 29), at(2199, 12, 31)),
    ("cron(0 0 29 2 ? 2026-2030)", at(2024, 1, 1), at(2028, 2, 29)),
    # a moment given in another time zone
    (
        "cron(0 12 * * ? *)",
        datetime(2024, 1, 1, 13, tzinfo=timezone(timedelta(hours=2))),
        at(2024, 1, 1, 12),
    ),
]


@pytest.mark.parametrize(("expression", "moment", "expected"), NEXT_AFTER)
def test_next_after(expression: str, moment: datetime, expected: datetime) -> None:
    due = next_after(expression, moment)
    assert due == expected
    assert due is not None and due.tzinfo == UTC


@pytest.mark.parametrize(
    ("expression", "moment"),
    [
        ("cron(0 0 1 1 ? 2030)", at(2030, 1, 1)),
        ("cron(0 0 1 1 ? 2020-2023)", at(2024, 1, 1)),
        ("cron(0 12 31 12 ? *)", at(2199, 12, 31, 12)),
        ("cron(0 0 LW * ? 2199)", at(2199, 12, 31)),
        ("cron(0 0 30 2 ? *)", at(2024, 1, 1)),  # a day that never comes
        ("cron(0 0 31 4 ? *)", at(2024, 1, 1)),
        ("cron(0 0 31W 2 ? *)", at(2024, 1, 1)),
        ("cron(0 0 29 2 ? 2100)", at(2024, 1, 1)),
    ],
)
def test_next_after_is_none_when_no_time_is_left(expression: str, moment: datetime) -> None:
    assert next_after(expression, moment) is None


def test_next_after_wants_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_after("cron(15 12 * * ? *)", datetime(2024, 1, 1))


def test_a_schedule_keeps_its_expression_and_compares_by_it() -> None:
    schedule = parse_schedule("cron(15 12 * * ? *)")
    assert schedule.expression == "cron(15 12 * * ? *)"
    assert schedule == parse_schedule("cron(15 12 * * ? *)")
    assert "cron(15 12 * * ? *)" in repr(schedule)
    assert isinstance(schedule, CronSchedule)


# (expression, substrings the message must hold)
INVALID = [
    ("0 12 * * ? *", ["cron(Minutes Hours Day-of-month Month Day-of-week Year)"]),
    ("cron(0 12 * * ? *", ["cron(Minutes Hours"]),
    ("", ["cron(Minutes Hours"]),
    ("rate(5 minutes)", ["rate", "cron("]),
    ("cron(0 12 * * ?)", ["5 fields", "needs 6", "add the Year field"]),
    ("cron(0 0 12 * * ? *)", ["7 fields", "needs 6"]),
    ("cron()", ["0 fields"]),
    ("cron(0 12 * * * *)", ["day-of-month and day-of-week cannot both be '*'", "use '?'"]),
    ("cron(0 12 1 * MON *)", ["day-of-month '1' and day-of-week 'MON'", "use '?' in one"]),
    ("cron(0 12 * * MON *)", ["cannot both be given", "use '?'"]),
    ("cron(0 12 ? * ? *)", ["cannot both be '?'", "use '*'"]),
    ("cron(0 12 1,? * ? *)", ["'1,?'", "stand alone"]),
    ("cron(? 12 * * ? *)", ["minutes '?'", "only allowed in day-of-month or day-of-week"]),
    ("cron(0 ? * * ? *)", ["hours '?'"]),
    ("cron(0 12 * ? ? *)", ["month '?'"]),
    ("cron(0 12 * * ? ?)", ["year '?'"]),
    ("cron(60 12 * * ? *)", ["minutes '60'", "60 is out of range", "0-59"]),
    ("cron(0 24 * * ? *)", ["hours '24'", "0-23"]),
    ("cron(0 0 32 * ? *)", ["day-of-month '32'", "1-31"]),
    ("cron(0 0 0 * ? *)", ["day-of-month '0'", "0 is out of range"]),
    ("cron(0 0 1 13 ? *)", ["month '13'", "1-12 or JAN-DEC"]),
    ("cron(0 0 1 JANUARY ? *)", ["month 'JANUARY'", "'JANUARY' is not a value"]),
    ("cron(0 0 ? * 0 *)", ["day-of-week '0'", "1-7 or SUN-SAT", "1 = SUN"]),
    ("cron(0 0 ? * 8 *)", ["day-of-week '8'", "8 is out of range"]),
    ("cron(0 0 ? * 0-6 *)", ["day-of-week '0-6'", "1 = SUN"]),
    ("cron(0 0 1 * ? 1969)", ["year '1969'", "1970-2199"]),
    ("cron(0 0 1 * ? 2200)", ["year '2200'", "1970-2199"]),
    ("cron(0 0 1 * ? 20x4)", ["year '20x4'", "'20x4' is not a value"]),
    ("cron(0 0 1 * ? 2030-2025)", ["year '2030-2025'", "runs backwards"]),
    ("cron(0 0 1 * ? */0)", ["year '*/0'", "step must be 1 or more"]),
    ("cron(0 0 1 * ? */x)", ["'x' is not a step"]),
    ("cron(0 0 ,1 * ? *)", ["day-of-month ',1'", "empty list item"]),
    ("cron(0 0 -1 * ? *)", ["day-of-month '-1'", "'' is not a value"]),
    ("cron(0 0 1W,15 * ? *)", ["day-of-month '1W,15'", "stand alone"]),
    ("cron(0 0 32W * ? *)", ["day-of-month '32W'", "32 is out of range"]),
    ("cron(0 0 XW * ? *)", ["day-of-month 'XW'", "W follows a single day"]),
    ("cron(0 0 L-2 * ? *)", ["day-of-month 'L-2'", "stand alone"]),
    ("cron(0 0 ? * 3#6 *)", ["day-of-week '3#6'", "week of the month, 1-5"]),
    ("cron(0 0 ? * 8#1 *)", ["day-of-week '8#1'", "8 is out of range"]),
    ("cron(0 0 ? * 3#2,5 *)", ["day-of-week '3#2,5'", "stand alone"]),
    ("cron(0 0 ? * 2-6L *)", ["day-of-week '2-6L'", "stand alone"]),
    ("cron(0 0 ? * 8L *)", ["day-of-week '8L'", "out of range"]),
    ("cron(0 0 ? * 2W *)", ["day-of-week '2W'", "W belongs to day-of-month"]),
    ("cron(0 L * * ? *)", ["hours 'L'", "'L' is not a value"]),
    # faster than every 5 minutes
    ("cron(* * * * ? *)", ["minutes '*'", "1 minute apart", "every 5 minutes", "0/5"]),
    ("cron(0/2 * * * ? *)", ["minutes '0/2'", "2 minutes apart", "every 5 minutes"]),
    ("cron(0,3 12 * * ? *)", ["minutes '0,3'", "3 minutes apart"]),
    ("cron(0-4 12 * * ? *)", ["minutes '0-4'", "1 minute apart"]),
    ("cron(58,1 * * * ? *)", ["minutes '58,1'", "3 minutes apart"]),
    ("cron(58,1 23,0 * * ? *)", ["3 minutes apart"]),  # across midnight
    ("cron(0/7 * * * ? *)", ["minutes '0/7'", "4 minutes apart"]),  # :56 then :00
]


@pytest.mark.parametrize(("expression", "expected"), INVALID)
def test_invalid_expressions_say_what_to_fix(expression: str, expected: list[str]) -> None:
    with pytest.raises(InvalidInputException) as raised:
        parse_schedule(expression)
    message = raised.value.message
    assert raised.value.code == "InvalidInputException"
    assert message.startswith(f"Schedule {expression}: ")
    for part in expected:
        assert part in message


def test_the_message_names_the_field_it_was_given() -> None:
    with pytest.raises(InvalidInputException) as raised:
        parse_schedule("cron(0 12 * * * *)", field="ScheduleExpression")
    assert raised.value.message == (
        "ScheduleExpression cron(0 12 * * * *): day-of-month and day-of-week cannot "
        "both be '*'; use '?' in one of them"
    )


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0/5 * * * ? *)",
        "cron(0,55 * * * ? *)",  # :55 to the next :00 is 5 minutes
        "cron(58,2 0 * * ? *)",  # 00:58 and the next 00:02 are a day apart
        "cron(0/12 * * * ? *)",
        "cron(0 0 ? * * *)",
        "cron(0 0 * * ? *)",
        "cron(0 0 1-31 * ? *)",
        "cron( 0 0 * * ? * )",
        "cron(0 0 L * ? 1970-2199)",
        "cron(0 0 ? * SUN-SAT *)",
        "cron(0 0 ? jan-dec * */2)",
    ],
)
def test_valid_edge_expressions_parse(expression: str) -> None:
    assert parse_schedule(expression).expression == expression


# Property: for random simple expressions whose value sets the test knows, the next
# due time is later, matches every field, and is the first such time.

WEEKDAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@st.composite
def simple_schedules(draw: st.DrawFn) -> tuple[str, dict[str, set[int]]]:
    if draw(st.booleans()):
        minute = draw(st.integers(0, 59))
        minutes_text, minutes = str(minute), {minute}
    else:  # steps that divide the hour never come closer than 5 minutes
        step = draw(st.sampled_from([5, 6, 10, 12, 15, 20, 30]))
        start = draw(st.integers(0, step - 1))
        minutes_text, minutes = f"{start}/{step}", set(range(start, 60, step))
    hours = draw(st.sets(st.integers(0, 23), min_size=1, max_size=4))
    months = draw(st.sets(st.integers(1, 12), min_size=1, max_size=4))
    months_text = ",".join(
        MONTH_NAMES[m - 1] if draw(st.booleans()) else str(m) for m in sorted(months)
    )
    first_year = draw(st.integers(2020, 2040))
    years = set(range(first_year, first_year + draw(st.integers(0, 5)) + 1))
    sets = {"minute": minutes, "hour": hours, "month": months, "year": years}
    if draw(st.booleans()):
        days = draw(st.sets(st.integers(1, 28), min_size=1, max_size=4))
        day_fields = f"{','.join(map(str, sorted(days)))} {months_text} ?"
        sets["day"] = days
    else:
        weekdays = draw(st.sets(st.integers(1, 7), min_size=1, max_size=3))
        weekdays_text = ",".join(
            WEEKDAY_NAMES[d - 1] if draw(st.booleans()) else str(d) for d in sorted(weekdays)
        )
        day_fields = f"? {months_text} {weekdays_text}"
        sets["weekday"] = weekdays
    expression = (
        f"cron({minutes_text} {','.join(map(str, sorted(hours)))} {day_fields} "
        f"{min(years)}-{max(years)})"
    )
    return expression, sets


def matches(moment: datetime, sets: dict[str, set[int]]) -> bool:
    aws_weekday = moment.isoweekday() % 7 + 1  # SUN = 1 .. SAT = 7
    return (
        moment.second == 0
        and moment.microsecond == 0
        and moment.minute in sets["minute"]
        and moment.hour in sets["hour"]
        and moment.month in sets["month"]
        and moment.year in sets["year"]
        and moment.day in sets.get("day", {moment.day})
        and aws_weekday in sets.get("weekday", {aws_weekday})
    )


@given(
    schedule=simple_schedules(),
    moment=st.datetimes(datetime(2018, 1, 1), datetime(2048, 1, 1), timezones=st.just(UTC)),
    fraction=st.floats(0, 1, exclude_max=True),
)
def test_next_after_is_the_first_matching_time_after(
    schedule: tuple[str, dict[str, set[int]]], moment: datetime, fraction: float
) -> None:
    expression, sets = schedule
    parsed = parse_schedule(expression)
    due = parsed.next_after(moment)
    if due is None:
        assert moment.year >= max(sets["year"])
        return
    assert due > moment
    assert matches(due, sets), (expression, due)
    # Any moment between the first one and the due time leads to the same due time:
    # nothing matches in between, and next_after is monotone.
    between = min(moment + (due - moment) * fraction, due - timedelta(microseconds=1))
    assert parsed.next_after(between) == due
    assert parsed.next_after(due - timedelta(minutes=1)) == due
    later = parsed.next_after(due)
    assert later is None or (later > due and matches(later, sets))


@given(
    weekday=st.integers(1, 7),
    moment=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_day_of_week_numbers_and_names_count_from_sunday(weekday: int, moment: datetime) -> None:
    by_number = next_after(f"cron(0 0 ? * {weekday} *)", moment)
    by_name = next_after(f"cron(0 0 ? * {WEEKDAY_NAMES[weekday - 1]} *)", moment)
    assert by_number == by_name
    assert by_number is not None
    assert by_number.isoweekday() % 7 + 1 == weekday
    assert by_number - moment <= timedelta(days=7)


# The Scheduler. Its clock is injected; nothing here asserts how long anything took.

FIVE_MINUTES = parse_schedule("cron(0/5 * * * ? *)")


class ManualClock:
    """A wall clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._now = start

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


class RunningClock:
    """Real time, shifted to start at a chosen wall-clock moment."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began)


def drained(fired: queue.Queue[str]) -> list[str]:
    names = []
    while not fired.empty():
        names.append(fired.get_nowait())
    return names


def scheduler_threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_set_wakes_the_thread_and_the_schedule_fires() -> None:
    fired: queue.Queue[str] = queue.Queue()
    # Due half a second into the test; the thread's idle wait is far longer than
    # that, so the firing shows that set() woke it.
    clock = RunningClock(at(2024, 1, 1, 12, 4, 59) + timedelta(seconds=0.5))
    scheduler = Scheduler(fired.put, now=clock, name="sched-wake", max_wait=600)
    scheduler.start()
    try:
        scheduler.set("nightly", FIVE_MINUTES)
        assert fired.get(timeout=10) == "nightly"
    finally:
        scheduler.stop()
    assert scheduler_threads("sched-wake") == []


def test_each_due_time_fires_once_and_the_next_counts_from_it() -> None:
    fired: queue.Queue[str] = queue.Queue()
    clock = ManualClock(at(2024, 1, 1, 12, 3))
    scheduler = Scheduler(fired.put, now=clock, name="sched-steps", max_wait=0.01)
    scheduler.set("crawler", FIVE_MINUTES)  # due 12:05
    scheduler.start()
    try:
        clock.set(at(2024, 1, 1, 12, 4, 59))
        clock.set(at(2024, 1, 1, 12, 5))
        assert fired.get(timeout=10) == "crawler"
        clock.set(at(2024, 1, 1, 12, 9, 59))
        clock.set(at(2024, 1, 1, 12, 10) + timedelta(microseconds=1))
        assert fired.get(timeout=10) == "crawler"
    finally:
        scheduler.stop()
    assert drained(fired) == []


def test_a_thread_that_fell_behind_fires_once_not_a_burst() -> None:
    fired: queue.Queue[str] = queue.Queue()
    clock = ManualClock(at(2024, 1, 1, 12, 3))
    scheduler = Scheduler(fired.put, now=clock, name="sched-behind", max_wait=0.01)
    scheduler.set("crawler", FIVE_MINUTES)  # due 12:05
    # The machine slept through eleven due times before the thread got to run.
    clock.set(at(2024, 1, 1, 13, 1))
    scheduler.start()
    try:
        assert fired.get(timeout=10) == "crawler"
        assert drained(fired) == []
        clock.set(at(2024, 1, 1, 13, 5))  # the next due time counts from 13:01
        assert fired.get(timeout=10) == "crawler"
    finally:
        scheduler.stop()
    assert drained(fired) == []


def test_removing_and_replacing_schedules() -> None:
    fired: queue.Queue[str] = queue.Queue()
    clock = ManualClock(at(2024, 1, 1, 12, 3))
    scheduler = Scheduler(fired.put, now=clock, name="sched-set", max_wait=0.01)
    scheduler.set("removed", FIVE_MINUTES)
    scheduler.set("removed", None)
    scheduler.set("never-there", None)
    scheduler.set("replaced", parse_schedule("cron(0 0 1 1 ? *)"))
    scheduler.set("replaced", FIVE_MINUTES)
    scheduler.set("kept", FIVE_MINUTES)
    clock.set(at(2024, 1, 1, 12, 5))
    scheduler.start()
    try:
        assert sorted([fired.get(timeout=10), fired.get(timeout=10)]) == ["kept", "replaced"]
    finally:
        scheduler.stop()
    assert drained(fired) == []


def test_a_failing_callback_is_logged_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fired: queue.Queue[str] = queue.Queue()

    def fire(name: str) -> None:
        if name == "broken":
            raise RuntimeError("crawler exploded")
        fired.put(name)

    clock = ManualClock(at(2024, 1, 1, 12, 3))
    scheduler = Scheduler(fire, now=clock, name="sched-errors", max_wait=0.01)
    scheduler.set("broken", FIVE_MINUTES)
    clock.set(at(2024, 1, 1, 12, 5))
    with caplog.at_level(logging.ERROR, logger="fogbank.catalog.schedule"):
        scheduler.start()
        try:
            # "fine" is added after "broken" has already failed once.
            clock.set(at(2024, 1, 1, 12, 6))
            scheduler.set("fine", FIVE_MINUTES)
            clock.set(at(2024, 1, 1, 12, 10))
            assert fired.get(timeout=10) == "fine"
        finally:
            scheduler.stop()
    failures = [r for r in caplog.records if "broken" in r.getMessage()]
    assert failures
    assert failures[0].exc_info is not None
    assert "crawler exploded" in str(failures[0].exc_info[1])


def test_a_schedule_with_no_time_left_never_fires() -> None:
    fired: queue.Queue[str] = queue.Queue()
    clock = ManualClock(at(2031, 1, 1))
    scheduler = Scheduler(fired.put, now=clock, name="sched-spent", max_wait=0.01)
    scheduler.set("spent", parse_schedule("cron(0 0 1 1 ? 2030)"))
    scheduler.set("live", FIVE_MINUTES)
    clock.set(at(2031, 1, 1, 0, 5))
    scheduler.start()
    try:
        assert fired.get(timeout=10) == "live"
    finally:
        scheduler.stop()
    assert drained(fired) == []


def test_a_callback_may_stop_its_own_scheduler() -> None:
    stopped = threading.Event()
    clock = ManualClock(at(2024, 1, 1, 12, 3))

    def fire(name: str) -> None:
        scheduler.stop()
        stopped.set()

    scheduler = Scheduler(fire, now=clock, name="sched-self-stop", max_wait=0.01)
    scheduler.set("crawler", FIVE_MINUTES)
    clock.set(at(2024, 1, 1, 12, 5))
    scheduler.start()
    assert stopped.wait(timeout=10)
    for thread in scheduler_threads("sched-self-stop"):
        thread.join(timeout=10)
    assert scheduler_threads("sched-self-stop") == []


def test_stop_returns_while_idle_and_the_scheduler_can_start_again() -> None:
    fired: queue.Queue[str] = queue.Queue()
    clock = ManualClock(at(2024, 1, 1, 12, 3))
    # An hour-long idle wait: stop() must not sit it out.
    scheduler = Scheduler(fired.put, now=clock, name="sched-restart", max_wait=3600)
    scheduler.stop()  # stopping a scheduler never started is harmless
    scheduler.start()
    scheduler.start()  # and starting twice keeps one thread
    assert len(scheduler_threads("sched-restart")) == 1
    scheduler.stop()
    assert scheduler_threads("sched-restart") == []
    scheduler.set("crawler", FIVE_MINUTES)
    clock.set(at(2024, 1, 1, 12, 5))
    scheduler.start()
    try:
        assert fired.get(timeout=10) == "crawler"
    finally:
        scheduler.stop()
