"""Name rules of the Glue Data Catalog: lengths, characters, and case folding.

Database, table and column names are 1 to 255 characters from Glue's ``NameString``
pattern (no control characters but tab) and, "for Hive compatibility", are folded to
lowercase when stored; every lookup folds the name it is given the same way.
"""

from __future__ import annotations

import regex

from fogbank.core.errors import InvalidInputException

MAX_NAME_LENGTH = 255
# Glue's NameString pattern, in Python's terms: no control characters but tab, no
# lone surrogates, and not U+FFFE or U+FFFF.
_NAME_CHARACTERS = regex.compile(r"[\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF\t]*")


def check_name(value: str, field: str) -> str:
    """A valid name, unchanged; raises InvalidInputException naming ``field`` otherwise."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME_LENGTH:
        length = len(value) if isinstance(value, str) else 0
        raise InvalidInputException(
            f"{field} must be 1 to {MAX_NAME_LENGTH} characters long; got {length}. "
            "Give a shorter (or non-empty) name."
        )
    if not _NAME_CHARACTERS.fullmatch(value):
        raise InvalidInputException(
            f"{field} {value!r} contains a character Glue does not allow in names "
            "(control characters other than tab); remove it."
        )
    return value


def fold(value: str, field: str) -> str:
    """A database, table or column name as Glue stores it: checked, then lowercased."""
    return check_name(value, field).lower()
