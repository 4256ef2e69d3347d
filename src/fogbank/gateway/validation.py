"""Input checked against a botocore shape before any engine is called.

Types are converted (base64 blobs to bytes, timestamps to aware datetimes) and every
constraint the model declares is enforced: required members, enums, string and list
lengths, numeric ranges and patterns. Constraint failures are reported as AWS
reports them: ``2 validation errors detected: Value null at 'streamName' failed to
satisfy constraint: Member must not be null; ...``. A value of the wrong type is a
``SerializationException`` naming the member and the type expected.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape

from fogbank.core.errors import FogbankError, SerializationException, ValidationException

_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class _Patterns:
    """Compiled model patterns (Java regex syntax; the `regex` module reads ``\\p{L}``)."""

    def __init__(self) -> None:
        self._compiled: dict[str, regex.Pattern[str] | None] = {}

    def fullmatch(self, pattern: str, value: str) -> bool:
        if pattern not in self._compiled:
            try:
                self._compiled[pattern] = regex.compile(pattern)
            except regex.error:
                self._compiled[pattern] = None
        compiled = self._compiled[pattern]
        return compiled is None or compiled.fullmatch(value) is not None


class ShapeValidator:
    """Checks and converts one request's parameters against its input shape."""

    def __init__(
        self,
        *,
        blobs_are_base64: bool,
        error: Callable[[str], FogbankError] | None = None,
        type_error: Callable[[str], FogbankError] | None = None,
    ) -> None:
        self.blobs_are_base64 = blobs_are_base64
        self._error = error or (lambda message: ValidationException(message))
        self._type_error = type_error
        self._patterns = _Patterns()

    def validate(self, shape: StructureShape | None, params: Any) -> dict[str, Any]:
        """The converted parameters; raises the first type error or all constraint errors."""
        if shape is None:
            return {}
        if params is None:
            params = {}
        problems: list[str] = []
        try:
            converted = self._value(shape, params, "", problems)
        except SerializationException as exc:
            if self._type_error is None:
                raise
            raise self._type_error(exc.message) from None
        if problems:
            count = len(problems)
            noun = "validation error" if count == 1 else "validation errors"
            raise self._error(f"{count} {noun} detected: {'; '.join(problems)}")
        assert isinstance(converted, dict)
        return converted

    def _value(self, shape: Shape, value: Any, path: str, problems: list[str]) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape, value, path, problems)
        if kind == "list":
            return self._list(shape, value, path, problems)
        if kind == "map":
            return self._map(shape, value, path, problems)
        if kind == "string":
            return self._string(shape, value, path, problems)
        if kind in ("integer", "long"):
            return self._integer(shape, value, path, problems)
        if kind in ("float", "double"):
            return self._number(shape, value, path, problems)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _wrong_type(path, "a boolean", value)
            return value
        if kind == "blob":
            return self._blob(value, path)
        if kind == "timestamp":
            return _timestamp(value, path)
        return value

    def _structure(
        self, shape: StructureShape, value: Any, path: str, problems: list[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _wrong_type(path, "a structure (JSON object)", value)
        out: dict[str, Any] = {}
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    f"Value null at '{_join(path, name)}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                continue  # AWS ignores members it does not know
            if item is None:
                continue
            out[name] = self._value(member, item, _join(path, name), problems)
        return out

    def _list(self, shape: ListShape, value: Any, path: str, problems: list[str]) -> list[Any]:
        if not isinstance(value, list):
            raise _wrong_type(path, "a list (JSON array)", value)
        self._length(shape, len(value), value, path, problems)
        return [
            self._value(shape.member, item, f"{path}.{index + 1}", problems)
            for index, item in enumerate(value)
        ]

    def _map(self, shape: MapShape, value: Any, path: str, problems: list[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _wrong_type(path, "a map (JSON object)", value)
        self._length(shape, len(value), value, path, problems)
        return {
            self._value(shape.key, key, f"{path}.key", problems): self._value(
                shape.value, item, f"{path}.{key}", problems
            )
            for key, item in value.items()
        }

    def _string(self, shape: Shape, value: Any, path: str, problems: list[str]) -> str:
        if not isinstance(value, str):
            raise _wrong_type(path, "a string", value)
        self._length(shape, len(value), value, path, problems)
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(enum)}]"
            )
        pattern = shape.metadata.get("pattern")
        if pattern and not self._patterns.fullmatch(pattern, value):
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {pattern}"
            )
        return value

    def _integer(self, shape: Shape, value: Any, path: str, problems: list[str]) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _wrong_type(path, "an integer", value)
        low, high = _INT_RANGE[shape.type_name]
        if not low <= value <= high:
            raise _wrong_type(path, f"an integer from {low} to {high}", value)
        self._range(shape, value, path, problems)
        return value

    def _number(self, shape: Shape, value: Any, path: str, problems: list[str]) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _wrong_type(path, "a number", value)
        if not math.isfinite(value):
            raise _wrong_type(path, "a finite number", value)
        self._range(shape, value, path, problems)
        return float(value)

    def _blob(self, value: Any, path: str) -> bytes:
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if not self.blobs_are_base64 or not isinstance(value, str):
            raise _wrong_type(path, "a blob (base64 string)", value)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException(
                f"Value at '{path}' is not valid base64: encode the bytes with base64."
            ) from None

    def _length(
        self, shape: Shape, length: int, value: Any, path: str, problems: list[str]
    ) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        shown = _show(value)
        if low is not None and length < low:
            problems.append(
                f"Value {shown} at '{path}' failed to satisfy constraint: Member must have "
                f"length greater than or equal to {low}"
            )
        if high is not None and length > high:
            problems.append(
                f"Value {shown} at '{path}' failed to satisfy constraint: Member must have "
                f"length less than or equal to {high}"
            )

    def _range(self, shape: Shape, value: float, path: str, problems: list[str]) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and value < low:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"value greater than or equal to {low}"
            )
        if high is not None and value > high:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"value less than or equal to {high}"
            )


def _join(path: str, name: str) -> str:
    # AWS names members in lowerCamelCase in validation messages.
    member = name[:1].lower() + name[1:]
    return f"{path}.{member}" if path else member


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value if len(value) <= 100 else value[:100] + '...'}'"
    return "'[...]'" if isinstance(value, list) else "'{...}'"


def _wrong_type(path: str, expected: str, value: Any) -> SerializationException:
    where = f"'{path}'" if path else "the request body"
    return SerializationException(
        f"Value at {where} must be {expected}; got {type(value).__name__} {_brief(value)}."
    )


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _timestamp(value: Any, path: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                return datetime.fromtimestamp(float(value), UTC)
            except (OverflowError, OSError, ValueError):
                pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _wrong_type(path, "a timestamp (epoch seconds or ISO 8601)", value)
