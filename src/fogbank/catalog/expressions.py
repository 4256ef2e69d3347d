"""Partition filter expressions: what GetPartitions' ``Expression`` means.

Glue documents the expression as "SQL syntax similar to the SQL WHERE filter clause"
(parsed by JSQLParser on AWS): comparisons ``= <> != < > <= >=``, ``AND``, ``OR``,
``NOT``, parentheses, ``IN (...)``, ``BETWEEN ... AND ...``, ``LIKE`` and ``IS [NOT]
NULL``, over partition keys of type string (char, varchar), integral (int, bigint,
long, tinyint, smallint), decimal, date and timestamp. Values are compared as the
key's type: ``month > '03'`` compares strings on a string key and numbers on an int key.

The text is parsed by sqlglot, with a small dialect that reads JSQLParser's quoting
('' escapes a quote; "x" and `x` are identifiers), and its tree is compiled once
into a predicate over a partition's values. Evaluation follows SQL's three-valued
logic: a stored value that cannot be read as its key's type is unknown, so a
comparison on it is neither true nor false and the partition is left out.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sqlglot import exp, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError

from fogbank.core.errors import InvalidInputException

# A predicate over one partition's values (ordered like the table's partition keys):
# True, False or None (unknown, as SQL's NULL).
PartitionFilter = Callable[[Sequence[str]], bool]
_Predicate = Callable[[Sequence[str]], bool | None]
_Value = str | int | Decimal | date | datetime
# A node of sqlglot's tree. Its base class is Expr from sqlglot 26 on and Expression
# before; the compiler tells nodes apart with isinstance, so Any loses nothing here.
_Node = Any

_INTEGRAL = frozenset({"int", "integer", "bigint", "long", "tinyint", "smallint"})
_STRING = frozenset({"string", "char", "varchar"})
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SUPPORTED_TYPES = (
    "string, char, varchar, int, bigint, long, tinyint, smallint, decimal, date, timestamp"
)
_EXAMPLE = "for example year = '2024' AND month IN ('01', '02')"


class _JSqlDialect(Dialect):
    """JSQLParser's quoting: '' escapes a quote in a string; "x" and `x` are names."""

    class Tokenizer(tokens.Tokenizer):
        QUOTES: ClassVar[list[str | tuple[str, str]]] = ["'"]
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = ['"', "`"]


_DIALECT = _JSqlDialect()


def compile_filter(expression: str, keys: Sequence[tuple[str, str]]) -> PartitionFilter:
    """The predicate an Expression describes, over a table with these partition keys.

    ``keys`` are the table's partition keys as ``(name, type)``, in order. Raises
    :class:`InvalidInputException` for text that is not a filter, a key the table
    lacks, a key type Glue cannot filter on, or a value that is not of its key's type.
    """
    if not expression.strip():
        return lambda values: True
    try:
        statements = _DIALECT.parse(expression)
    except ParseError as exc:
        raise _unsupported(expression, _parse_failure(exc)) from None
    except SqlglotError:
        raise _unsupported(expression, "it is not complete (is a quote left open?)") from None
    if len(statements) != 1 or statements[0] is None:
        raise _unsupported(expression, "it must be one condition, not several statements")
    predicate = _Compiler(expression, keys).condition(statements[0])

    def matches(values: Sequence[str]) -> bool:
        return predicate(values) is True

    return matches


def key_kind(key_type: str) -> str:
    """The family a partition key's Hive type compares in: string, integral, decimal,
    date or timestamp; ``""`` for a type Glue's expressions do not support."""
    base = key_type.strip().lower().split("(", 1)[0].strip() or "string"
    if base in _STRING:
        return "string"
    if base in _INTEGRAL:
        return "integral"
    if base in ("decimal", "date", "timestamp"):
        return base
    return ""


class _Compiler:
    """Turns one parsed expression into nested closures, checking it as it goes."""

    def __init__(self, expression: str, keys: Sequence[tuple[str, str]]) -> None:
        self.expression = expression
        self.keys = {name.lower(): (index, key_type) for index, (name, key_type) in enumerate(keys)}

    def condition(self, node: _Node) -> _Predicate:
        if isinstance(node, exp.Paren):
            return self.condition(node.this)
        if isinstance(node, exp.And | exp.Or):
            left, right = self.condition(node.this), self.condition(node.expression)
            return _and(left, right) if isinstance(node, exp.And) else _or(left, right)
        if isinstance(node, exp.Not):
            return _not(self.condition(node.this))
        if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
            return self.comparison(node)
        if isinstance(node, exp.In):
            return self.negated(node, self.membership(node))
        if isinstance(node, exp.Between):
            return self.negated(node, self.between(node))
        if isinstance(node, exp.Like):
            return self.negated(node, self.like(node))
        if isinstance(node, exp.Alias):
            raise self.unsupported(f"'{node.alias}' does not belong after the condition")
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            self.key(node.this)
            # a partition value is never NULL
            return lambda values: False
        raise self.unsupported(f"'{node.sql()}' is not a condition on partition keys")

    def negated(self, node: _Node, predicate: _Predicate) -> _Predicate:
        return _not(predicate) if node.args.get("negate") else predicate

    def comparison(self, node: _Node) -> _Predicate:
        compare = _COMPARISONS[type(node)]
        left, right = node.this, node.expression
        if isinstance(left, exp.Column) and isinstance(right, exp.Column):
            (i, kind), (j, other) = self.key(left), self.key(right)
            if kind != other:
                raise self.unsupported(
                    f"'{node.sql()}' compares keys of different types ({kind} and {other})"
                )
            return lambda values: _apply(compare, _read(kind, values[i]), _read(kind, values[j]))
        if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            left, right = right, left
            compare = _MIRRORED[compare]
        index, kind = self.key(left)
        literal = self.literal(right, kind, left)
        return lambda values: _apply(compare, _read(kind, values[index]), literal)

    def membership(self, node: _Node) -> _Predicate:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise self.unsupported("IN takes a list of values, not a query")
        index, kind = self.key(node.this)
        options = [self.literal(item, kind, node.this) for item in node.expressions]
        if not options:
            raise self.unsupported("IN needs at least one value")

        def member(values: Sequence[str]) -> bool | None:
            value = _read(kind, values[index])
            return None if value is None else value in options

        return member

    def between(self, node: _Node) -> _Predicate:
        index, kind = self.key(node.this)
        low = self.literal(node.args["low"], kind, node.this)
        high = self.literal(node.args["high"], kind, node.this)

        def within(values: Sequence[str]) -> bool | None:
            value = _read(kind, values[index])
            return None if value is None else bool(low <= value <= high)  # type: ignore[operator]

        return within

    def like(self, node: _Node) -> _Predicate:
        index, kind = self.key(node.this)
        if kind != "string":
            name = "Integral" if kind == "integral" else kind.capitalize()
            raise self.unsupported(
                f"{name} data type doesn't support operation 'LIKE'; LIKE works on string keys"
            )
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise self.unsupported("LIKE takes a quoted pattern such as '2024%'")
        regex = re.compile(_like_to_regex(pattern.this), re.DOTALL)
        return lambda values: regex.fullmatch(values[index]) is not None

    def key(self, node: _Node) -> tuple[int, str]:
        """The position and type family of the partition key a column names."""
        if not isinstance(node, exp.Column):
            raise self.unsupported(f"'{node.sql()}' is not a partition key")
        if node.table:
            raise self.unsupported(f"'{node.sql()}' names a key with a qualifier; drop the prefix")
        name = node.name
        found = self.keys.get(name.lower())
        if found is None:
            known = ", ".join(self.keys) or "none"
            raise InvalidInputException(
                f"Unknown column '{name}' in Expression: the table's partition keys are {known}."
            )
        index, key_type = found
        kind = key_kind(key_type)
        if not kind:
            raise InvalidInputException(
                f"Partition key {name} has type {key_type}, which an Expression cannot "
                f"filter on; the supported key types are {_SUPPORTED_TYPES}."
            )
        return index, kind

    def literal(self, node: _Node, kind: str, column: _Node) -> _Value:
        """A literal read as the type of the key it is compared with."""
        text: str | None = None
        if isinstance(node, exp.Literal):
            text = node.this
        elif (
            isinstance(node, exp.Neg)
            and isinstance(node.this, exp.Literal)
            and not node.this.is_string
        ):
            text = f"-{node.this.this}"
        if text is None:
            raise self.unsupported(f"'{node.sql()}' is not a value; quote strings as 'text'")
        value = _read(kind, text)
        if value is None:
            raise InvalidInputException(
                f"The value '{text}' in Expression is not a valid {kind} for partition key "
                f"{column.sql()}; {_FORMATS[kind]}."
            )
        return value

    def unsupported(self, why: str) -> InvalidInputException:
        return _unsupported(self.expression, why)


_FORMATS = {
    "string": "quote it as 'text'",
    "integral": "give a whole number such as 2024",
    "decimal": "give a number such as 12.5",
    "date": "give a date as 'yyyy-mm-dd'",
    "timestamp": "give a timestamp as 'yyyy-mm-dd hh:mm:ss[.fffffffff]'",
}


def _read(kind: str, text: str) -> _Value | None:
    """A value as its key's type, or None where it cannot be read as that type."""
    if kind == "string":
        return text
    text = text.strip()
    try:
        if kind == "integral":
            return int(text) if re.fullmatch(r"[+-]?\d+", text) else None
        if kind == "decimal":
            number = Decimal(text)
            return number if number.is_finite() else None
        if kind == "date":
            return date.fromisoformat(text) if _DATE.fullmatch(text) else None
        if kind == "timestamp":
            if not _TIMESTAMP.fullmatch(text):
                return None
            whole, _, fraction = text.partition(".")
            # Python keeps microseconds; nanoseconds beyond them are cut off
            micros = (fraction + "000000")[:6] if fraction else ""
            return datetime.fromisoformat(f"{whole}.{micros}" if micros else whole)
    except (ValueError, InvalidOperation):
        return None
    return None


def _like_to_regex(pattern: str) -> str:
    parts = []
    for char in pattern:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def _apply(compare: Callable[[Any, Any], Any], left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    return bool(compare(left, right))


def _and(left: _Predicate, right: _Predicate) -> _Predicate:
    def both(values: Sequence[str]) -> bool | None:
        a, b = left(values), right(values)
        if a is False or b is False:
            return False
        return None if a is None or b is None else True

    return both


def _or(left: _Predicate, right: _Predicate) -> _Predicate:
    def either(values: Sequence[str]) -> bool | None:
        a, b = left(values), right(values)
        if a is True or b is True:
            return True
        return None if a is None or b is None else False

    return either


def _not(inner: _Predicate) -> _Predicate:
    def negation(values: Sequence[str]) -> bool | None:
        result = inner(values)
        return None if result is None else not result

    return negation


_COMPARISONS: dict[type[_Node], Callable[[Any, Any], Any]] = {
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
}
# `'2024' < year` is `year > '2024'`
_MIRRORED: dict[Callable[[Any, Any], Any], Callable[[Any, Any], Any]] = {
    operator.eq: operator.eq,
    operator.ne: operator.ne,
    operator.gt: operator.lt,
    operator.ge: operator.le,
    operator.lt: operator.gt,
    operator.le: operator.ge,
}


def _parse_failure(exc: ParseError) -> str:
    # sqlglot describes its own grammar ("Required keyword ... for <class EQ>"); where
    # the text stops parsing is what a user can act on.
    for error in exc.errors:
        where = f"{error.get('start_context', '')}{error.get('highlight', '')}".strip()
        if where:
            return f"it does not parse after '{where}'"
    return "it does not parse"


def _unsupported(expression: str, why: str) -> InvalidInputException:
    return InvalidInputException(
        f"Unsupported expression '{expression}': {why}. Write a condition on the "
        f"table's partition keys, {_EXAMPLE}."
    )
