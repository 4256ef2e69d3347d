"""SearchTables: which tables a text search and property filters keep, in what order.

Glue searches every database the caller can see. Its documentation says a quoted
SearchText matches exactly, and that a string filter splits the field at punctuation
(``-``, ``:``, ``#``...) into tokens and compares each token exactly with the value
(``Name=link`` finds ``customer-link`` but not ``xxlinkyy``); time fields compare by
the filter's Comparator. Pages are offsets into the ordered result.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from fogbank.catalog.model import Page, PropertyPredicate, Table
from fogbank.core.errors import InvalidInputException


def search(
    tables: Iterable[Table],
    *,
    search_text: str | None = None,
    filters: Sequence[PropertyPredicate] = (),
    sort_field: str | None = None,
    descending: bool = False,
) -> list[Table]:
    """The tables that match the text and every filter, ordered.

    ``search_text`` matches, ignoring case, part of a table's name, database name,
    description, owner, type, column or partition key names and comments, or
    parameter values; in double quotes it must equal one of them. A filter on a
    text field (Name, DatabaseName, Description, Owner, TableType, Location) keeps
    tables where one of the field's tokens (split at punctuation and spaces) equals
    the value, ignoring case; on CreateTime, UpdateTime, LastAccessTime or
    LastAnalyzedTime it compares times by its Comparator; any other key is a table
    parameter that must equal the value. Results are ordered by database and name
    unless ``sort_field`` names another field.
    """
    predicates = [_search_predicate(f) for f in filters]
    sort_key = _sort_key(sort_field) if sort_field else None
    matches_text = _text_matcher(search_text)
    found = [t for t in tables if matches_text(t) and all(p(t) for p in predicates)]
    found.sort(key=lambda t: (t.database_name, t.name))
    if sort_key is not None:
        # tables without the field go last, whichever the direction
        present = [t for t in found if sort_key(t) is not None]
        present.sort(key=sort_key, reverse=descending)
        found = present + [t for t in found if sort_key(t) is None]
    return found


def offset_page(items: Sequence[Table], max_results: int, next_token: str | None) -> Page[Table]:
    """One page of an ordered result; the token is the next page's offset."""
    if max_results < 1:
        raise InvalidInputException(
            f"MaxResults must be at least 1; got {max_results}. Ask for 1 or more."
        )
    start = _offset(next_token)
    end = start + max_results
    return Page(tuple(items[start:end]), _offset_token(end) if end < len(items) else None)


_TEXT_FIELDS: dict[str, Callable[[Table], str | None]] = {
    "name": lambda t: t.name,
    "databasename": lambda t: t.database_name,
    "description": lambda t: t.description,
    "owner": lambda t: t.owner,
    "tabletype": lambda t: t.table_type,
    "location": lambda t: (t.storage_descriptor or {}).get("Location"),
}
_TIME_FIELDS: dict[str, Callable[[Table], datetime | None]] = {
    "createtime": lambda t: t.create_time,
    "updatetime": lambda t: t.update_time,
    "lastaccesstime": lambda t: t.last_access_time,
    "lastanalyzedtime": lambda t: t.last_analyzed_time,
}
_TOKEN_SPLIT = re.compile(r"[\s\-:#_.,/;|]+")
_COMPARATORS: dict[str, Callable[[datetime, datetime], bool]] = {
    "EQUALS": lambda a, b: a == b,
    "GREATER_THAN": lambda a, b: a > b,
    "LESS_THAN": lambda a, b: a < b,
    "GREATER_THAN_EQUALS": lambda a, b: a >= b,
    "LESS_THAN_EQUALS": lambda a, b: a <= b,
}


def _searchable_text(table: Table) -> list[str]:
    texts = [table.name, table.database_name]
    texts += [t for t in (table.description, table.owner, table.table_type) if t]
    columns = list((table.storage_descriptor or {}).get("Columns", ())) + list(table.partition_keys)
    for column in columns:
        texts.append(column["Name"])
        if comment := column.get("Comment"):
            texts.append(comment)
    texts += list((table.parameters or {}).values())
    return texts


def _text_matcher(search_text: str | None) -> Callable[[Table], bool]:
    if not search_text:
        return lambda table: True
    text = search_text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        exact = text[1:-1].lower()
        return lambda table: any(t.lower() == exact for t in _searchable_text(table))
    needle = text.lower()
    return lambda table: any(needle in t.lower() for t in _searchable_text(table))


def _search_predicate(predicate: PropertyPredicate) -> Callable[[Table], bool]:
    key, value = predicate.get("Key"), predicate.get("Value")
    if not key or value is None:
        raise InvalidInputException("Each of Filters needs a Key and a Value.")
    field = key.lower()
    if field in _TIME_FIELDS:
        read = _TIME_FIELDS[field]
        compare = _COMPARATORS[predicate.get("Comparator") or "EQUALS"]
        bound = _search_time(value, key)

        def in_range(table: Table) -> bool:
            when = read(table)
            return when is not None and compare(when, bound)

        return in_range
    if field in _TEXT_FIELDS:
        text = _TEXT_FIELDS[field]
        wanted = value.lower()

        def has_token(table: Table) -> bool:
            found = text(table)
            return found is not None and wanted in _TOKEN_SPLIT.split(found.lower())

        return has_token
    return lambda table: (table.parameters or {}).get(key) == value


def _search_time(value: str, key: str) -> datetime:
    try:
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InvalidInputException(
            f"The value {value!r} of filter {key} is not a time; give epoch seconds or "
            "ISO 8601 such as 2024-01-31T00:00:00Z."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sort_key(field_name: str) -> Callable[[Table], Any]:
    field = field_name.lower()
    if field in _TEXT_FIELDS:
        return _TEXT_FIELDS[field]
    if field in _TIME_FIELDS:
        return _TIME_FIELDS[field]
    raise InvalidInputException(
        f"SortCriteria.FieldName {field_name!r} cannot be sorted on; use one of "
        "Name, DatabaseName, Description, Owner, TableType, Location, CreateTime, "
        "UpdateTime, LastAccessTime or LastAnalyzedTime."
    )


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
        if not decoded.startswith("offset:"):
            raise ValueError(decoded)
        return int(decoded.removeprefix("offset:"))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInputException(
            f"The NextToken {token!r} is not valid; pass the NextToken from the previous "
            "SearchTables response, or none to start over."
        ) from None


def _offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")
