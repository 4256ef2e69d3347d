"""The shape of a JSON service's adapter: a table of operations filled by a decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fogbank.app import Fogbank

JsonHandler = Callable[["Fogbank", dict[str, Any]], dict[str, Any]]


class Operations(dict[str, JsonHandler]):
    """One service's operations; ``@ops("CreateStream")`` registers a handler."""

    def __call__(self, name: str) -> Callable[[JsonHandler], JsonHandler]:
        def register(handler: JsonHandler) -> JsonHandler:
            if name in self:
                raise ValueError(f"operation {name} is registered twice")
            self[name] = handler
            return handler

        return register


def present(members: dict[str, Any]) -> dict[str, Any]:
    """The output members that have a value: botocore leaves absent ones out."""
    return {name: value for name, value in members.items() if value is not None}


def tag_page(tags: dict[str, str], start: str | None, limit: int) -> dict[str, Any]:
    """ListTagsForStream / ListTagsForDeliveryStream: the tags after ExclusiveStartTagKey
    in key order, at most ``limit``, and whether more follow."""
    ordered = [(k, v) for k, v in sorted(tags.items()) if start is None or k > start]
    return {
        "Tags": [{"Key": k, "Value": v} for k, v in ordered[:limit]],
        "HasMoreTags": len(ordered) > limit,
    }
