"""GetPartitions' Expression: parsing, typing by partition key, three-valued logic."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fogbank.catalog.expressions import compile_filter, key_kind
from fogbank.core.errors import InvalidInputException

KEYS = [
    ("year", "string"),
    ("month", "int"),
    ("day", "bigint"),
    ("price", "decimal(10,2)"),
    ("dt", "date"),
    ("ts", "timestamp"),
    ("region", "varchar(10)"),
]
ROW = ("2024", "07", "15", "12.50", "2024-07-15", "2024-07-15 10:30:00", "eu-west-1")


def matches(expression: str, values: tuple[str, ...] = ROW) -> bool:
    return compile_filter(expression, KEYS)(values)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("year = '2024'", True),
        ("year <> '2024'", False),
        ("year != '2023'", True),
        ("year > '2023' AND month < 8", True),
        # a string key compares as text: '07' < '7'; an int key as numbers
        ("month = 7", True),
        ("month = '7'", True),
        ("month > 10", False),
        ("day >= 15 and day <= 15", True),
        ("year = '2023' OR month = 7", True),
        ("NOT year = '2024'", False),
        ("NOT (year = '2023' OR month = 8)", True),
        ("(year = '2024') AND (month IN (6, 7))", True),
        ("month NOT IN (6, 7)", False),
        ("year IN ('2022', '2023')", False),
        ("month BETWEEN 1 AND 7", True),
        ("month NOT BETWEEN 1 AND 6", True),
        ("month BETWEEN 8 AND 1", False),
        ("region LIKE 'eu-%'", True),
        ("region LIKE 'eu-west-_'", True),
        ("region LIKE 'eu'", False),
        ("region NOT LIKE 'us%'", True),
        ("region LIKE 'EU%'", False),
        ("year LIKE '2.2%'", False),
        ("price > 12.4", True),
        ("price = 12.5", True),
        ("dt = '2024-07-15'", True),
        ("dt < '2024-01-01'", False),
        ("ts > '2024-07-15 10:29:59.999'", True),
        ("ts BETWEEN '2024-07-15 00:00:00' AND '2024-07-16 00:00:00'", True),
        ("year IS NULL", False),
        ("year IS NOT NULL", True),
        ("'2024' = year", True),
        ("8 > month", True),
        ("\"year\" = '2024'", True),
        ("`YEAR` = '2024'", True),
        ("Month = 7", True),
        ("year = 'it''s'", False),
        ("month = -7", False),
        ("", True),
        ("   ", True),
    ],
)
def test_expressions_keep_the_partitions_a_where_clause_would(
    expression: str, expected: bool
) -> None:
    assert matches(expression) is expected


def test_strings_compare_as_text_and_integers_as_numbers() -> None:
    keys = [("s", "string"), ("n", "int")]
    keep = compile_filter("s > '10' AND n > 10", keys)
    assert keep(("9", "11"))  # '9' > '10' as text, 11 > 10 as numbers
    assert not keep(("11", "9"))


def test_a_stored_value_of_the_wrong_type_is_unknown_and_never_kept() -> None:
    keys = [("n", "int")]
    assert not compile_filter("n = 1", keys)(("one",))
    assert not compile_filter("NOT n = 1", keys)(("one",))
    assert compile_filter("n = 1 OR n IS NOT NULL", keys)(("one",))


def test_quoted_string_values_unescape_doubled_quotes() -> None:
    assert compile_filter("k = 'it''s'", [("k", "string")])(("it's",))


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("year = ", ["Unsupported expression 'year = '", "does not parse after 'year ='"]),
        ("year = '2024", ["not complete"]),
        ("year = '1' extra", ["'extra' does not belong"]),
        ("year = '1'; month = 2", ["not several statements"]),
        ("nope = 1", ["Unknown column 'nope'", "partition keys are year, month"]),
        ("t.year = '1'", ["qualifier"]),
        ("month = 'seven'", ["'seven'", "not a valid integral", "whole number"]),
        ("dt = '15/07/2024'", ["not a valid date", "yyyy-mm-dd"]),
        ("month LIKE '1%'", ["Integral data type doesn't support operation 'LIKE'"]),
        ("dt LIKE '2024%'", ["Date data type doesn't support operation 'LIKE'"]),
        ("year = month", ["different types"]),
        ("year", ["is not a condition"]),
        ("1 = 1", ["'1' is not a partition key"]),
        ("month = 1 + 2", ["is not a value"]),
        ("month IN (SELECT 1)", ["list of values"]),
        ("region ILIKE 'x'", ["is not a condition"]),
    ],
)
def test_bad_expressions_are_invalid_input_naming_the_problem(
    expression: str, words: list[str]
) -> None:
    with pytest.raises(InvalidInputException) as caught:
        compile_filter(expression, KEYS)
    for word in words:
        assert word in caught.value.message


def test_a_key_type_glue_cannot_filter_on_is_refused_only_when_used() -> None:
    keys = [("flag", "boolean"), ("year", "string")]
    assert compile_filter("year = '1'", keys)(("true", "1"))
    with pytest.raises(InvalidInputException, match="type boolean, which an Expression cannot"):
        compile_filter("flag = 'true'", keys)


@pytest.mark.parametrize(
    ("hive_type", "kind"),
    [
        ("string", "string"),
        ("VARCHAR(20)", "string"),
        ("char(2)", "string"),
        ("int", "integral"),
        ("BIGINT", "integral"),
        ("smallint", "integral"),
        ("decimal(10,2)", "decimal"),
        ("date", "date"),
        ("timestamp", "timestamp"),
        ("", "string"),
        ("double", ""),
        ("array<string>", ""),
    ],
)
def test_key_kind_groups_hive_types_as_glue_compares_them(hive_type: str, kind: str) -> None:
    assert key_kind(hive_type) == kind


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TEXT = st.text(alphabet="0129abz-'", min_size=1, max_size=4)


@given(
    text_op=st.sampled_from(sorted(_OPERATORS)),
    number_op=st.sampled_from(sorted(_OPERATORS)),
    text_literal=_TEXT,
    number_literal=st.integers(-50, 50),
    join=st.sampled_from(["AND", "OR"]),
    negate=st.booleans(),
    rows=st.lists(st.tuples(_TEXT, st.integers(-50, 50)), max_size=20),
)
def test_random_conditions_agree_with_python_comparisons(
    text_op: str,
    number_op: str,
    text_literal: str,
    number_literal: int,
    join: str,
    negate: bool,
    rows: list[tuple[str, int]],
) -> None:
    quoted = text_literal.replace("'", "''")
    expression = f"s {text_op} '{quoted}' {join} n {number_op} {number_literal}"
    if negate:
        expression = f"NOT ({expression})"
    keep = compile_filter(expression, [("s", "string"), ("n", "int")])
    for text, number in rows:
        left = _OPERATORS[text_op](text, text_literal)
        right = _OPERATORS[number_op](number, number_literal)
        expected = (left and right) if join == "AND" else (left or right)
        assert keep((text, str(number))) is (expected != negate), (expression, text, number)
