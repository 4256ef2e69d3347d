"""How a query fails: Athena's error category, and the position in the query text.

A query that fails does not fail its StartQueryExecution call: the execution ends
FAILED, and GetQueryExecution reports ``StateChangeReason`` as Athena (engine v3)
writes it, ``CATEGORY: line L:C: message``, with ``AthenaError`` carrying the error
category (1 system, 2 user, 3 other) and type. :class:`QueryFailed` is raised anywhere
in :mod:`fogbank.query` to end an execution that way.
"""

from __future__ import annotations

# Athena's AthenaError.ErrorCategory values.
SYSTEM, USER, OTHER = 1, 2, 3


class QueryFailed(Exception):
    """A query that ends FAILED, with Athena's reason."""

    def __init__(
        self,
        category: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        error_category: int = USER,
    ) -> None:
        self.category = category
        """Athena's error name: SYNTAX_ERROR, TABLE_NOT_FOUND, COLUMN_NOT_FOUND,
        SCHEMA_NOT_FOUND, NOT_SUPPORTED, INVALID_FUNCTION_ARGUMENT, ..."""
        self.message = message
        self.line = line
        self.column = column
        self.error_category = error_category
        super().__init__(self.reason)

    @property
    def detail(self) -> str:
        """The message after its position, ``line 1:8: message``, as Trino's exception
        message reads when another error quotes it (a stored view's)."""
        where = f"line {self.line}:{self.column}: " if self.line is not None else ""
        return f"{where}{self.message}"

    @property
    def reason(self) -> str:
        """``StateChangeReason``: ``CATEGORY: line 1:8: message`` (no position when the
        failure has none)."""
        return f"{self.category}: {self.detail}"
