"""The prefix renderer: Java DateTimeFormatter patterns against strftime, and the key rules."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from fogbank.firehose.prefixes import java_date_format, render_prefix

# Java pattern letters and the strftime directive each means (zero-padded numbers).
_FIELDS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "MMM": "%b",
    "dd": "%d",
    "HH": "%H",
    "hh": "%I",
    "mm": "%M",
    "ss": "%S",
    "EEE": "%a",
    "DDD": "%j",
}
_SEPARATORS = ["/", "-", "=", "_", ".", "'T'", "'year='"]


@given(
    when=st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
    parts=st.lists(
        st.tuples(st.sampled_from(sorted(_FIELDS)), st.sampled_from(_SEPARATORS)), max_size=6
    ),
)
def test_java_patterns_format_as_strftime_does(
    when: datetime, parts: list[tuple[str, str]]
) -> None:
    pattern = "".join(field + separator for field, separator in parts)
    expected = "".join(
        when.strftime(_FIELDS[field]) + separator.strip("'") for field, separator in parts
    )
    assert java_date_format(when, pattern) == expected


def test_quotes_make_text_literal_and_two_quotes_are_one() -> None:
    when = datetime(2018, 7, 4, 23, 5, tzinfo=UTC)
    assert java_date_format(when, "yyyy'-'MM'-'dd") == "2018-07-04"
    assert java_date_format(when, "'it''s' HH") == "it's 23"


def test_every_timestamp_in_a_prefix_is_one_instant_and_the_default_is_appended() -> None:
    when = datetime(2018, 12, 31, 23, 59, 59, tzinfo=UTC)
    rendered = render_prefix("y=!{timestamp:yyyy}/h=!{timestamp:HH}/", "Prefix", when)
    assert rendered == "y=2018/h=23/"
    assert render_prefix("", "Prefix", when) == "2018/12/31/23/"
    assert render_prefix("logs/", "Prefix", when) == "logs/2018/12/31/23/"
    assert (
        render_prefix(
            "e/!{firehose:error-output-type}/",
            "ErrorOutputPrefix",
            when,
            error_output_type="processing-failed",
        )
        == "e/processing-failed/2018/12/31/23/"
    )


def test_partition_keys_are_substituted_and_no_time_folders_are_appended() -> None:
    when = datetime(2018, 12, 31, 23, 59, 59, tzinfo=UTC)
    keys = {"partitionKeyFromQuery": {"id": "42"}, "partitionKeyFromLambda": {"t": "x"}}
    prefix = "id=!{partitionKeyFromQuery:id}/t=!{partitionKeyFromLambda:t}/"
    assert render_prefix(prefix, "Prefix", when, keys=keys) == "id=42/t=x/"
    with_time = "!{partitionKeyFromQuery:id}/!{timestamp:yyyy}/"
    assert render_prefix(with_time, "Prefix", when, keys=keys) == "42/2018/"
