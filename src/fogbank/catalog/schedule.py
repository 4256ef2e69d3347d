"""Glue's time-based schedules: ``cron(...)`` expressions and the thread that runs them.

This module owns what a crawler's (or trigger's) ``Schedule`` means: parsing and
validating an AWS cron expression, computing its next due time, and a small
``Scheduler`` that calls back when named schedules come due. What a due schedule
*does* (start a crawler run) belongs to the caller's ``fire`` callback.

AWS's dialect ("Time-based schedules for jobs and crawlers" in the Glue developer
guide) is six fields, always in UTC::

    cron(Minutes Hours Day-of-month Month Day-of-week Year)

Minutes 0-59, Hours 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC, Day-of-week 1-7
or SUN-SAT with 1 = Sunday (Unix cron says 0), Year 1970-2199. ``, - * /`` work in
every field; ``?`` only in the day fields, and exactly one of the two must be ``?``;
``L`` is the last day of the month (day-of-month), ``nL`` the last weekday *n* of the
month and ``L`` alone Saturday (day-of-week); ``nW`` is the weekday nearest day *n*
and ``LW`` the month's last weekday; ``n#k`` is the *k*-th weekday *n* of the month.
The guide also rules out "cron expressions that lead to rates faster than 5 minutes".

Each field is parsed and checked here, then translated into a five-field expression
for croniter, which does the calendar walking. croniter lacks ``W``, ``LW`` and years
past 2099, so those are done here by skipping the candidates it offers that fail.
"""

from __future__ import annotations

import calendar
import logging
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from croniter import CroniterBadDateError, croniter

from fogbank.core.errors import InvalidInputException

__all__ = ["CronSchedule", "Scheduler", "parse_schedule"]

_log = logging.getLogger(__name__)

YEAR_MIN, YEAR_MAX = 1970, 2199
MIN_INTERVAL_MINUTES = 5
_EXAMPLE = "cron(15 12 * * ? *)"
_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class _Invalid(ValueError):
    """A problem in the expression, phrased to follow "<field> <expression>: "."""


@dataclass(frozen=True)
class _Spec:
    """One field's name as the Glue guide writes it, its range, and its names."""

    label: str
    low: int
    high: int
    names: Mapping[str, int] = field(default_factory=dict)

    def allowed(self) -> str:
        spelled = f"{self.low}-{self.high}"
        if self.names:
            first, *_, last = self.names
            spelled += f" or {first}-{last}"
        return spelled


_MINUTES = _Spec("minutes", 0, 59)
_HOURS = _Spec("hours", 0, 23)
_DAY_OF_MONTH = _Spec("day-of-month", 1, 31)
_MONTH = _Spec("month", 1, 12, _MONTH_NAMES)
_DAY_OF_WEEK = _Spec("day-of-week", 1, 7, _DAY_NAMES)
_YEAR = _Spec("year", YEAR_MIN, YEAR_MAX)


@dataclass(frozen=True)
class _Plan:
    """What next_after runs: a croniter expression plus the checks croniter can't make."""

    cron: str  # five fields: minute hour day-of-month month day-of-week (0 = Sunday)
    years: tuple[int, ...]  # sorted
    day_ok: Callable[[date], bool] | None  # for W and LW; None when croniter says it all


@dataclass(frozen=True)
class CronSchedule:
    """A validated Glue schedule. Build it with ``parse_schedule``."""

    expression: str
    _plan: _Plan = field(repr=False, compare=False)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first due time strictly after ``moment``, in UTC; None once none is left.

        ``moment`` must be timezone-aware. None means the expression's years are used
        up (or it names a day that never comes, such as 30 February).
        """
        if moment.tzinfo is None:
            raise ValueError(f"next_after needs a timezone-aware moment, got {moment!r}")
        plan = self._plan
        cursor = moment.astimezone(UTC)
        while True:
            try:
                candidate: datetime = croniter(plan.cron, cursor).get_next(datetime)
            except CroniterBadDateError:
                # croniter gives up after 50 years without a match: a day that never
                # exists, like 30 February.
                return None
            at = bisect_left(plan.years, candidate.year)
            if at == len(plan.years):
                return None
            if plan.years[at] != candidate.year:
                # Restart just before the next allowed year: a minute early because
                # croniter only returns times strictly after its start.
                cursor = datetime(plan.years[at], 1, 1, tzinfo=UTC) - timedelta(minutes=1)
            elif plan.day_ok is not None and not plan.day_ok(candidate.date()):
                # Skip the rest of a day that failed, not just this one time of it.
                cursor = candidate.replace(hour=23, minute=59, second=0, microsecond=0)
            else:
                return candidate


def parse_schedule(expression: str, field: str = "Schedule") -> CronSchedule:
    """Validate a Glue ``cron(...)`` expression; InvalidInputException names what's wrong.

    ``field`` is the request member the expression came in, for the message.
    """
    try:
        plan = _compile(expression)
    except _Invalid as problem:
        raise InvalidInputException(f"{field} {expression}: {problem}") from None
    return CronSchedule(expression, plan)


def _compile(expression: str) -> _Plan:
    text = expression.strip()
    if text.lower().startswith("rate("):
        raise _Invalid(
            "Glue schedules take cron expressions, not rate expressions; "
            f"write cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. {_EXAMPLE}"
        )
    if not (text.startswith("cron(") and text.endswith(")")):
        raise _Invalid(
            "a schedule is written cron(Minutes Hours Day-of-month Month Day-of-week Year), "
            f"e.g. {_EXAMPLE}"
        )
    fields = text[len("cron(") : -1].split()
    if len(fields) != 6:
        hint = "; add the Year field, e.g. * for every year" if len(fields) == 5 else ""
        raise _Invalid(
            f"has {len(fields)} fields but a cron expression needs 6: "
            f"Minutes Hours Day-of-month Month Day-of-week Year{hint}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    for spec, value in ((_MINUTES, minutes), (_HOURS, hours), (_MONTH, month), (_YEAR, year)):
        if "?" in value:
            raise _Invalid(
                f"{spec.label} '{value}': '?' is only allowed in day-of-month or "
                "day-of-week; use '*' for every value"
            )
    _check_day_fields(day_of_month, day_of_week)
    minute_set = _expand(minutes, _MINUTES)
    hour_set = _expand(hours, _HOURS)
    _check_frequency(minutes, minute_set, hour_set)
    dom_cron, day_ok = _day_of_month(day_of_month)
    cron = " ".join(
        (
            _listed(minute_set),
            _listed(hour_set),
            dom_cron,
            _listed(_expand(month, _MONTH)),
            _day_of_week(day_of_week),
        )
    )
    return _Plan(cron, tuple(sorted(_expand(year, _YEAR))), day_ok)


def _check_day_fields(day_of_month: str, day_of_week: str) -> None:
    both = f"day-of-month '{day_of_month}' and day-of-week '{day_of_week}'"
    if day_of_month == "?" and day_of_week == "?":
        raise _Invalid(f"{both} cannot both be '?'; use '*' or a value in one of them")
    if day_of_month == "*" and day_of_week == "*":
        raise _Invalid("day-of-month and day-of-week cannot both be '*'; use '?' in one of them")
    if "?" not in (day_of_month, day_of_week):
        raise _Invalid(f"{both} cannot both be given; use '?' in one of them")
    for spec, value in ((_DAY_OF_MONTH, day_of_month), (_DAY_OF_WEEK, day_of_week)):
        if "?" in value and value != "?":
            raise _Invalid(f"{spec.label} '{value}': '?' must stand alone in its field")


def _expand(text: str, spec: _Spec) -> frozenset[int]:
    """The values a field of ``, - * /`` selects, checked against the field's range."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise _Invalid(
                f"{spec.label} '{text}' has an empty list item; separate values with "
                "single commas, e.g. 1,15"
            )
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            step = _number(step_text, spec, text, what="step")
            if step < 1:
                raise _Invalid(f"{spec.label} '{text}': a step must be 1 or more, e.g. 0/15")
        if base == "*":
            low, high = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = _value(first, spec, text), _value(last, spec, text)
            if low > high:
                raise _Invalid(
                    f"{spec.label} '{text}': the range {base} runs backwards; write it "
                    f"low-high, or list the values with commas"
                )
        else:
            # "a/s" means every s-th value from a to the field's end.
            low = _value(base, spec, text)
            high = spec.high if slash else low
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _value(token: str, spec: _Spec, text: str) -> int:
    named = spec.names.get(token.upper())
    if named is not None:
        return named
    number = _number(token, spec, text, what="value")
    if not spec.low <= number <= spec.high:
        hint = " (1 = SUN, 7 = SAT)" if spec is _DAY_OF_WEEK else ""
        raise _Invalid(
            f"{spec.label} '{text}': {number} is out of range; use {spec.allowed()}{hint}"
        )
    return number


def _number(token: str, spec: _Spec, text: str, *, what: str) -> int:
    if not (token.isascii() and token.isdigit()):
        raise _Invalid(
            f"{spec.label} '{text}': '{token}' is not a {what}; use {spec.allowed()} "
            "with , - * /" + (" ?" if spec in (_DAY_OF_MONTH, _DAY_OF_WEEK) else "")
        )
    return int(token)


def _check_frequency(text: str, minutes: frozenset[int], hours: frozenset[int]) -> None:
    ordered = sorted(minutes)
    gaps = [b - a for a, b in pairwise(ordered)]
    # The gap from an hour's last minute to the next hour's first counts only when
    # both hours are selected (23 and 0 included: that is midnight).
    if any((hour + 1) % 24 in hours for hour in hours):
        gaps.append(ordered[0] + 60 - ordered[-1])
    closest = min(gaps, default=60)
    if closest < MIN_INTERVAL_MINUTES:
        raise _Invalid(
            f"minutes '{text}' come {closest} minute{'s' if closest > 1 else ''} apart, "
            f"but Glue does not support schedules more frequent than every "
            f"{MIN_INTERVAL_MINUTES} minutes; space the minutes at least "
            f"{MIN_INTERVAL_MINUTES} apart, e.g. 0/{MIN_INTERVAL_MINUTES}"
        )


def _day_of_month(text: str) -> tuple[str, Callable[[date], bool] | None]:
    """The croniter day-of-month field, and the day check croniter can't do (W, LW)."""
    upper = text.upper()
    if upper in ("?", "*", "L"):
        return ("*" if upper == "?" else upper), None
    if upper == "LW":
        # The last weekday is one of the month's last three days; croniter offers
        # those and the check keeps the right one.
        return "26-31", lambda day: day.day == _last_weekday(day.year, day.month)
    if upper.endswith("W"):
        if not (upper[:-1].isascii() and upper[:-1].isdigit()):
            raise _Invalid(f"day-of-month '{text}': W follows a single day, e.g. 15W, or LW")
        target = _value(upper[:-1], _DAY_OF_MONTH, text)
        # The nearest weekday never moves more than two days, nor out of the month.
        near = range(max(1, target - 2), min(31, target + 2) + 1)
        return _listed(near), lambda day: day.day == _nearest_weekday(day, target)
    if "L" in upper or "W" in upper:
        raise _Invalid(
            f"day-of-month '{text}': L and W stand alone in the field, as L, LW or e.g. 15W"
        )
    return _listed(_expand(text, _DAY_OF_MONTH)), None


def _day_of_week(text: str) -> str:
    """The croniter day-of-week field: AWS counts 1-7 from Sunday, croniter 0-6."""
    upper = text.upper()
    if upper in ("?", "*"):
        return "*"
    if upper == "L":
        return "6"  # alone, L is the last day of the week: Saturday
    alone = f"day-of-week '{text}': L and # stand alone in the field"
    if upper.endswith("L"):
        if "," in upper or "-" in upper or "/" in upper:
            raise _Invalid(f"{alone}, e.g. 6L for the last Friday")
        return f"L{_value(upper[:-1], _DAY_OF_WEEK, text) - 1}"
    if "#" in upper:
        day, _, nth = upper.partition("#")
        if "," in upper or "-" in upper or "/" in upper:
            raise _Invalid(f"{alone}, e.g. 3#2 for the second Tuesday")
        weekday = _value(day, _DAY_OF_WEEK, text)
        if not (nth.isascii() and nth.isdigit() and 1 <= int(nth) <= 5):
            raise _Invalid(
                f"day-of-week '{text}': the number after # is the week of the month, 1-5"
            )
        return f"{weekday - 1}#{int(nth)}"
    if "W" in upper.replace("WED", ""):
        raise _Invalid(f"day-of-week '{text}': W belongs to day-of-month, as in 15W")
    return _listed(day - 1 for day in _expand(text, _DAY_OF_WEEK))


def _listed(values: Iterable[int]) -> str:
    return ",".join(str(value) for value in sorted(values))


def _nearest_weekday(day: date, target: int) -> int | None:
    last = calendar.monthrange(day.year, day.month)[1]
    if target > last:
        return None  # like a plain 31, 31W skips the months without a 31st
    weekday = date(day.year, day.month, target).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, unless that is last month
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: the Monday after, unless that is next month
        return target + 1 if target < last else target - 2
    return target


def _last_weekday(year: int, month: int) -> int:
    last = calendar.monthrange(year, month)[1]
    return last - max(0, date(year, month, last).weekday() - 4)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Entry:
    schedule: CronSchedule
    due: datetime | None


class Scheduler:
    """Runs callbacks at the due times of named schedules, on one daemon thread.

    ``fire(name)`` runs on the scheduler thread, so it should hand long work off;
    an exception from it is logged and the thread carries on. A schedule the thread
    fell behind on (the machine slept) fires once for all the times it missed.

    ``now`` is the wall clock; ``max_wait`` is the longest the thread trusts one wait
    before reading it again. Waits run on the monotonic clock, which stops while the
    machine sleeps and ignores clock steps, so an unbounded wait could come due late.
    """

    def __init__(
        self,
        fire: Callable[[str], None],
        *,
        now: Callable[[], datetime] = _utc_now,
        name: str = "fogbank-scheduler",
        max_wait: float = 30.0,
    ) -> None:
        self._fire = fire
        self._now = now
        self._name = name
        self._max_wait = max_wait
        self._wake = threading.Condition()
        self._entries: dict[str, _Entry] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def set(self, name: str, schedule: CronSchedule | None) -> None:
        """Add, replace or (with None) remove ``name``'s schedule; due times count from now.
        Setting the schedule an entry already has keeps its due time, so that reading the
        schedules again cannot push a time that just fell due past its firing."""
        with self._wake:
            if schedule is None:
                self._entries.pop(name, None)
            elif (held := self._entries.get(name)) is None or held.schedule != schedule:
                self._entries[name] = _Entry(schedule, schedule.next_after(self._now()))
            self._wake.notify_all()

    def start(self) -> None:
        with self._wake:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it; a ``fire`` in progress finishes first."""
        with self._wake:
            self._stopping.set()
            self._wake.notify_all()
            thread, self._thread = self._thread, None
        # A fire callback may stop its own scheduler; it cannot wait for itself.
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopping.is_set():
                    return
                now = self._now()
                due = self._take_due(now)
                if not due:
                    self._wake.wait(self._wait_for(now))
                    continue
            # Fired outside the lock, so a callback may call set() or stop().
            for name in due:
                if self._stopping.is_set():
                    return
                try:
                    self._fire(name)
                except Exception:
                    _log.exception("scheduled run of %r failed", name)

    def _take_due(self, now: datetime) -> list[str]:
        """The names due at ``now``, each moved on to its next due time."""
        due: list[str] = []
        for name, entry in self._entries.items():
            if entry.due is None or entry.due > now:
                continue
            following = entry.schedule.next_after(entry.due)
            if following is not None and following <= now:
                # Behind: the times missed fold into this one firing, not a burst.
                following = entry.schedule.next_after(now)
            entry.due = following
            due.append(name)
        return due

    def _wait_for(self, now: datetime) -> float:
        pending = [entry.due for entry in self._entries.values() if entry.due is not None]
        if not pending:
            return self._max_wait
        return max(0.0, min(self._max_wait, (min(pending) - now).total_seconds()))
