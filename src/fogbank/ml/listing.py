"""Paging the SageMaker List* operations: filtered, sorted, then cut by an opaque token.

SageMaker's lists (ListTrainingJobs, ListModels, ListEndpointConfigs...) filter by name
and times, sort by one key in either order, and return ``MaxResults`` entries with a
``NextToken`` for the rest; the token here records the offset into the sorted list.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fogbank.core.errors import ValidationException

T = TypeVar("T")


def page(
    items: Sequence[T],
    *,
    key: Callable[[T], Any],
    descending: bool,
    next_token: str | None,
    max_results: int,
    operation: str,
) -> tuple[list[T], str | None]:
    """One page of ``items`` sorted by ``key``, and the token for the next page."""
    ordered = sorted(items, key=key, reverse=descending)
    start = _decode(next_token, operation) if next_token else 0
    chosen = ordered[start : start + max_results]
    more = start + max_results < len(ordered)
    return chosen, _encode(start + max_results) if more else None


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode(token: str, operation: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationException(
            f"NextToken is not valid: pass the NextToken a previous {operation} returned."
        )
    return offset
