"""DataProcessing for batch transform: InputFilter, JoinSource and OutputFilter.

This module owns AWS's JSONPath subset (parser and evaluator), the CreateTransformJob
rules for ``DataProcessing``, and the two per-record steps a job runs with it:
:meth:`DataProcessing.select_input` before the request and
:meth:`DataProcessing.join_and_select` after the response.

The rules come from the developer guide's "Associate Prediction Results with Input
Records" (https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html)
and the ``DataProcessing`` shape of the API reference:

* Only JSON (``application/json``, ``application/jsonlines``) and CSV (``text/csv``) data;
  ContentType and Accept must each be one of those three.
* Operators: ``$``, ``.name``, ``*``, ``['a','b']``, ``[i]``, ``[i,j]`` (negative counts
  from the end), ``[start:end]`` with either bound left out. The slice is END-INCLUSIVE:
  "``$[1:4]`` specifies the second through fifth columns", "``[:5]`` ... the first column
  (index 0) through the sixth column". That is why this is hand-written: every JSONPath
  library slices end-exclusive.
* A CSV row is a JSON array of its columns, so only index paths apply to CSV.
* JoinSource Input joins the ORIGINAL input ("join the original input data with the
  transformed data"), not what InputFilter passed to the model. CSV: the input columns
  followed by the output columns. JSON object: the output under ``SageMakerOutput``
  (overwriting an input attribute of that name, as the guide warns). Other JSON: a new
  object ``{"SageMakerInput": ..., "SageMakerOutput": ...}``.
* OutputFilter indexes outside the joined record are an error.
* "If you set input and output formats to text/csv, you must also set SplitType and
  AssemblyType to line." For JSON Lines Line/Line is allowed; JSON objects go whole.

Where the guide is silent this follows Jayway JsonPath, which the guide links as the
reference: several names in one bracket, as the last step, select an object with those
keys (``$['id','SageMakerOutput']`` keeps both attributes); missing keys are left out of
it; objects keep their key order; a path with a wildcard, a slice or several indexes
gives a list.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass

from fogbank.core.errors import ValidationException
from fogbank.ml.hosting.splitting import TransformRecordError, where

MAX_EXPRESSION_LENGTH = 63  # JsonPath shape: max 63
DEFAULT_FILTER = "$"
JOIN_SOURCES = ("None", "Input")

TEXT_CSV = "text/csv"
APPLICATION_JSON = "application/json"
APPLICATION_JSONLINES = "application/jsonlines"
SUPPORTED_TYPES = (TEXT_CSV, APPLICATION_JSON, APPLICATION_JSONLINES)

OUTPUT_KEY = "SageMakerOutput"
INPUT_KEY = "SageMakerInput"


# --- JSONPath -------------------------------------------------------------------------


class JsonPathError(ValueError):
    """A JSONPath AWS would not accept; ``offset`` is the 0-based character it failed at."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Slice:
    """``[start:end]``, both ends included; ``None`` is the first or last element."""

    start: int | None
    end: int | None

    def indexes(self, length: int) -> range:
        """The element indexes this slice selects in a list of ``length``, clamped."""
        start = 0 if self.start is None else self.start
        end = length - 1 if self.end is None else self.end
        if start < 0:
            start += length
        if end < 0:
            end += length
        return range(max(start, 0), min(end, length - 1) + 1)


@dataclass(frozen=True)
class Names:
    """``.name``, ``['name']`` or ``['a','b']``."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class Indexes:
    """``[i]``, ``[i,j]``, ``[start:end]`` or a mix such as ``[0,5:]``."""

    items: tuple[int | Slice, ...]


@dataclass(frozen=True)
class Wildcard:
    """``*``, ``.*`` or ``[*]``: every value of an object, every element of a list."""


Step = Names | Indexes | Wildcard


@dataclass(frozen=True)
class JsonPath:
    """A parsed expression of AWS's JSONPath subset."""

    text: str
    steps: tuple[Step, ...]

    @property
    def is_root(self) -> bool:
        return not self.steps

    @property
    def index_only(self) -> bool:
        """Whether the path applies to a CSV row (no attribute names)."""
        return not any(isinstance(step, Names) for step in self.steps)

    def evaluate(self, value: object) -> object:
        """The part of ``value`` (parsed JSON) this path selects.

        Raises :class:`LookupError` (with a message) when a name or index is not there.
        After a step that selects several values (wildcard, slice, several indexes) a
        value without the name or index is left out instead, as Jayway JsonPath does.
        """
        nodes = [value]
        definite = True
        for number, step in enumerate(self.steps):
            last = number == len(self.steps) - 1
            out: list[object] = []
            for node in nodes:
                try:
                    out.extend(_apply(step, node, merge=last))
                except LookupError:
                    if definite:
                        raise
            nodes = out
            if not _step_is_definite(step, last):
                definite = False
        if definite:
            return nodes[0]
        return nodes


def _step_is_definite(step: Step, last: bool) -> bool:
    if isinstance(step, Names):
        # Jayway: several names as the last step merge into one object.
        return len(step.names) == 1 or last
    if isinstance(step, Indexes):
        return len(step.items) == 1 and isinstance(step.items[0], int)
    return False


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _apply(step: Step, node: object, *, merge: bool) -> list[object]:
    if isinstance(step, Wildcard):
        if isinstance(node, dict):
            return list(node.values())
        if isinstance(node, list):
            return list(node)
        raise LookupError(f"'*' needs an object or an array, found {_kind(node)}")
    if isinstance(step, Names):
        if not isinstance(node, dict):
            raise LookupError(f"attribute {step.names[0]!r} needs an object, found {_kind(node)}")
        if len(step.names) == 1:
            name = step.names[0]
            if name not in node:
                raise LookupError(f"no attribute {name!r} (attributes: {_keys(node)})")
            return [node[name]]
        if merge:
            return [{name: node[name] for name in step.names if name in node}]
        return [node[name] for name in step.names if name in node]
    if not isinstance(node, list):
        raise LookupError(f"an index needs an array, found {_kind(node)}")
    selected: list[object] = []
    for item in step.items:
        if isinstance(item, Slice):
            selected.extend(node[i] for i in item.indexes(len(node)))
            continue
        index = item + len(node) if item < 0 else item
        if not 0 <= index < len(node):
            raise LookupError(f"index {item} is outside the {len(node)} elements")
        selected.append(node[index])
    return selected


def _keys(node: Mapping[str, object]) -> str:
    names = ", ".join(repr(key) for key in list(node)[:10])
    return names + (", ..." if len(node) > 10 else "") if names else "none"


def parse_jsonpath(text: str) -> JsonPath:
    """Parse one expression of AWS's subset; :class:`JsonPathError` says where it fails."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise JsonPathError(
            f"it is {len(text)} characters long and the limit is {MAX_EXPRESSION_LENGTH}",
            MAX_EXPRESSION_LENGTH,
        )
    if not text.startswith("$"):
        raise JsonPathError("it must start with '$', the root", 0)
    return JsonPath(text, tuple(_Parser(text).steps()))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 1  # after '$'

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def fail(self, message: str, at: int | None = None) -> JsonPathError:
        return JsonPathError(message, self.at if at is None else at)

    def steps(self) -> list[Step]:
        steps: list[Step] = []
        while self.at < len(self.text):
            char = self.peek()
            if char == ".":
                self.at += 1
                nxt = self.peek()
                if nxt == ".":
                    raise self.fail("'..' (deep scan) is not supported by SageMaker")
                if nxt == "[":
                    continue  # '$.a.['b','c']' is the guide's own spelling of "$.a['b','c']"
                if nxt == "*":
                    self.at += 1
                    steps.append(Wildcard())
                    continue
                steps.append(Names((self.dotted_name(),)))
            elif char == "[":
                steps.append(self.bracket())
            else:
                raise self.fail(f"unexpected {char!r}; a step starts with '.' or '['")
        return steps

    def dotted_name(self) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in ".[]'\"*() ?@,:":
            self.at += 1
        if self.at == start:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(f"expected an attribute name after '.', found {found}")
        return self.text[start : self.at]

    def bracket(self) -> Step:
        open_at = self.at
        self.at += 1
        char = self.peek()
        if char == "*":
            self.at += 1
            self.expect("]", open_at)
            return Wildcard()
        if char in ("'", '"'):
            names = [self.quoted()]
            while self.peek() == ",":
                self.at += 1
                self.skip_spaces()
                if self.peek() not in ("'", '"'):
                    raise self.fail(
                        "expected a quoted name after ',' (names and indexes do not mix)"
                    )
                names.append(self.quoted())
            self.expect("]", open_at)
            return Names(tuple(names))
        if char in ("?", "("):
            raise self.fail("filter and script expressions are not supported by SageMaker")
        items: list[int | Slice] = [self.index_or_slice()]
        while self.peek() == ",":
            self.at += 1
            self.skip_spaces()
            items.append(self.index_or_slice())
        self.expect("]", open_at)
        return Indexes(tuple(items))

    def skip_spaces(self) -> None:
        while self.peek() == " ":
            self.at += 1

    def expect(self, char: str, open_at: int) -> None:
        self.skip_spaces()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(
                f"expected {char!r} to close the '[' at character {open_at + 1}, found {found}"
            )
        self.at += 1

    def quoted(self) -> str:
        quote = self.peek()
        start = self.at + 1
        end = self.text.find(quote, start)
        if end < 0:
            raise self.fail(f"the name opened with {quote} is never closed")
        self.at = end + 1
        self.skip_spaces()
        return self.text[start:end]

    def integer(self) -> int | None:
        start = self.at
        if self.peek() == "-":
            self.at += 1
        while self.peek() and self.peek() in "0123456789":  # ASCII only: not str.isdigit
            self.at += 1
        digits = self.text[start : self.at]
        if digits in ("", "-"):
            self.at = start
            return None
        return int(digits)

    def index_or_slice(self) -> int | Slice:
        self.skip_spaces()
        start_at = self.at
        first = self.integer()
        self.skip_spaces()
        if self.peek() == ":":
            self.at += 1
            self.skip_spaces()
            second = self.integer()
            self.skip_spaces()
            if self.peek() == ":":
                raise self.fail("a slice step ('[a:b:c]') is not supported by SageMaker")
            return Slice(first, second)
        if first is None:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.fail(
                f"expected an index, a slice, '*' or a quoted name, found {found}", start_at
            )
        return first


# --- DataProcessing -------------------------------------------------------------------


def _media_type(value: str | None) -> str | None:
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def _parse_filter(field: str, value: object) -> JsonPath:
    if not isinstance(value, str):
        raise ValidationException(
            f"DataProcessing.{field} must be a string JSONPath such as '$'; got "
            f"{type(value).__name__}."
        )
    try:
        return parse_jsonpath(value)
    except JsonPathError as exc:
        raise ValidationException(
            f"DataProcessing.{field} {value!r} is not a JSONPath SageMaker accepts: {exc} "
            f"(at character {exc.offset + 1}). SageMaker supports $, .name, *, ['a','b'], [i,j] "
            "and [start:end] (end included)."
        ) from exc


@dataclass(frozen=True)
class DataProcessing:
    """A transform job's validated DataProcessing, ready to apply to records."""

    input_filter: JsonPath
    join_source: str
    output_filter: JsonPath
    content_type: str | None
    accept: str | None
    split_type: str

    @classmethod
    def from_request(
        cls,
        request: Mapping[str, object] | None,
        content_type: str | None,
        accept: str | None,
        split_type: str,
        assemble_with: str,
    ) -> DataProcessing:
        """Validate CreateTransformJob's DataProcessing against the rest of the request.

        ``content_type`` is TransformInput.ContentType, ``accept`` TransformOutput.Accept,
        ``split_type`` and ``assemble_with`` their SplitType and AssembleWith (``"None"``
        when absent). Raises :class:`ValidationException` naming the field and the fix.
        """
        request = request or {}
        unknown = sorted(set(request) - {"InputFilter", "JoinSource", "OutputFilter"})
        if unknown:
            raise ValidationException(
                f"DataProcessing has no field {unknown[0]!r}; its fields are InputFilter, "
                "JoinSource and OutputFilter."
            )
        input_filter = _parse_filter("InputFilter", request.get("InputFilter", DEFAULT_FILTER))
        output_filter = _parse_filter("OutputFilter", request.get("OutputFilter", DEFAULT_FILTER))
        join_source = request.get("JoinSource", "None")
        if not isinstance(join_source, str) or join_source not in JOIN_SOURCES:
            raise ValidationException(
                f"DataProcessing.JoinSource {join_source!r} is not one of None, Input. Use "
                "Input to join each input record with its output, None to keep the output alone."
            )
        processing = cls(
            input_filter,
            join_source,
            output_filter,
            _media_type(content_type),
            _media_type(accept),
            split_type,
        )
        processing._validate(content_type, accept, assemble_with)
        return processing

    @property
    def joins(self) -> bool:
        return self.join_source == "Input"

    @property
    def is_default(self) -> bool:
        """Whether records pass through untouched (the request set nothing, or only '$')."""
        return self.input_filter.is_root and not self.joins and self.output_filter.is_root

    def _validate(self, content_type: str | None, accept: str | None, assemble_with: str) -> None:
        if self.is_default:
            return
        if self.split_type in ("RecordIO", "TFRecord"):
            raise ValidationException(
                f"DataProcessing works on JSON and CSV records only, and TransformInput.SplitType "
                f"is {self.split_type}. Remove DataProcessing, or use SplitType Line or None "
                "with text/csv, application/json or application/jsonlines data."
            )
        needs_input = not self.input_filter.is_root or self.joins
        needs_output = not self.output_filter.is_root or self.joins
        if needs_input:
            self._check_type("TransformInput.ContentType", content_type, self.content_type)
        if needs_output:
            self._check_type("TransformOutput.Accept", accept, self.accept)
        if self.joins:
            if self.content_type != self.accept:
                raise ValidationException(
                    f"DataProcessing.JoinSource is Input, so TransformInput.ContentType "
                    f"({content_type}) must equal TransformOutput.Accept ({accept}): the joined "
                    f"record is written in one format. Set Accept to {content_type}."
                )
            if self.split_type != assemble_with:
                raise ValidationException(
                    f"DataProcessing.JoinSource is Input, so TransformInput.SplitType "
                    f"({self.split_type}) must equal TransformOutput.AssembleWith "
                    f"({assemble_with}): records are joined one for one. Set both to Line "
                    "(CSV, JSON Lines) or both to None (one JSON document per object)."
                )
        # "If you set input and output formats to text/csv, you must also set SplitType
        # and AssemblyType to line": a CSV record is a row.
        if needs_input and self.content_type == TEXT_CSV and self.split_type != "Line":
            raise ValidationException(
                "TransformInput.ContentType is text/csv with DataProcessing, so "
                f"TransformInput.SplitType must be Line (it is {self.split_type}): each CSV "
                "row is a record. Set SplitType to Line."
            )
        if needs_output and self.accept == TEXT_CSV and assemble_with != "Line":
            raise ValidationException(
                "TransformOutput.Accept is text/csv with DataProcessing, so "
                f"TransformOutput.AssembleWith must be Line (it is {assemble_with}): each CSV "
                "row is a record. Set AssembleWith to Line."
            )
        for field, path, media in (
            ("InputFilter", self.input_filter, self.content_type),
            ("OutputFilter", self.output_filter, self.content_type if self.joins else self.accept),
        ):
            if media == TEXT_CSV and not path.index_only:
                raise ValidationException(
                    f"DataProcessing.{field} {path.text!r} names an attribute, but the data is "
                    "text/csv: a CSV row is an array of columns, so only index paths apply "
                    "(for example $[0], $[1:], $[0,2])."
                )

    @staticmethod
    def _check_type(field: str, raw: str | None, media: str | None) -> None:
        if media not in SUPPORTED_TYPES:
            shown = "not set" if raw is None else repr(raw)
            raise ValidationException(
                f"{field} is {shown}, but DataProcessing (a filter or JoinSource Input) works "
                f"on {', '.join(SUPPORTED_TYPES)} only. Set {field} to one of those."
            )

    # --- per record -------------------------------------------------------------------

    def select_input(self, record: bytes, position: int) -> bytes:
        """InputFilter applied to one input record: the bytes sent to the model.

        ``$`` returns the record unchanged, byte for byte. Otherwise the record is parsed
        (CSV row as an array of columns, or JSON), the path selects from it, and the result
        is written back compactly in the same format.
        """
        if self.input_filter.is_root:
            return record
        csv_data = self.content_type == TEXT_CSV
        value = self._parse(record, csv_data, position, "input")
        selected = self._select(self.input_filter, "InputFilter", value, position)
        return self._write(selected, csv_data, position)

    def join_and_select(self, input_record: bytes, output_record: bytes, position: int) -> bytes:
        """JoinSource then OutputFilter for one record: the bytes the output object keeps.

        ``input_record`` is the original input record (before InputFilter, as AWS joins
        it); ``output_record`` is the model's output for it.
        """
        if not self.joins:
            if self.output_filter.is_root:
                return output_record
            csv_data = self.accept == TEXT_CSV
            value = self._parse(output_record, csv_data, position, "output")
            selected = self._select(self.output_filter, "OutputFilter", value, position)
            return self._write(selected, csv_data, position)
        csv_data = self.content_type == TEXT_CSV
        joined: object
        if csv_data:
            columns = self._parse(input_record, True, position, "input")
            outputs = self._parse(output_record, True, position, "output")
            assert isinstance(columns, list) and isinstance(outputs, list)
            joined = columns + outputs
        else:
            parsed_input = self._parse(input_record, False, position, "input")
            output_value = _json_or_text(self._text(output_record, position))
            if isinstance(parsed_input, dict):
                joined = {**parsed_input, OUTPUT_KEY: output_value}
            else:
                joined = {INPUT_KEY: parsed_input, OUTPUT_KEY: output_value}
        selected = self._select(self.output_filter, "OutputFilter", joined, position)
        return self._write(selected, csv_data, position)

    def _where(self, position: int) -> str:
        return where(self.split_type, position).capitalize()

    def _text(self, data: bytes, position: int) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TransformRecordError(
                f"{self._where(position)}: byte {exc.start} is not UTF-8. DataProcessing reads "
                "JSON and CSV as UTF-8 text; re-encode the data.",
                position=position,
            ) from exc

    def _parse(self, data: bytes, csv_data: bool, position: int, what: str) -> object:
        text = self._text(data, position)
        if csv_data:
            try:
                rows = list(csv.reader(io.StringIO(text), strict=True))
            except csv.Error as exc:
                raise TransformRecordError(
                    f"{self._where(position)}: the {what} is not a CSV row ({exc}). CSV data "
                    "must follow RFC 4180, one row per record, without embedded newlines.",
                    position=position,
                ) from exc
            if len(rows) > 1:
                raise TransformRecordError(
                    f"{self._where(position)}: the {what} holds {len(rows)} CSV rows; a record is "
                    "one row. CSV fields cannot hold newlines in batch transform.",
                    position=position,
                )
            return rows[0] if rows else []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise TransformRecordError(
                f"{self._where(position)}: the {what} is not JSON ({exc.msg} at character "
                f"{exc.pos}). With DataProcessing each record must be one JSON value.",
                position=position,
            ) from exc

    def _select(self, path: JsonPath, field: str, value: object, position: int) -> object:
        try:
            return path.evaluate(value)
        except LookupError as exc:
            raise TransformRecordError(
                f"{self._where(position)}: DataProcessing.{field} {path.text!r} selects nothing: "
                f"{exc.args[0]}. Fix the {field}, or the record.",
                position=position,
            ) from exc

    def _write(self, value: object, csv_data: bool, position: int) -> bytes:
        if not csv_data:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        row = value if isinstance(value, list) else [value]
        if any(isinstance(cell, dict | list) for cell in row):
            raise TransformRecordError(
                f"{self._where(position)}: the selection holds a nested value, which has no "
                "CSV form. Select columns only.",
                position=position,
            )
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(row)
        return out.getvalue().encode()


def _json_or_text(text: str) -> object:
    """The model's output as AWS nests it: parsed when it is JSON, else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.rstrip("\r\n")
