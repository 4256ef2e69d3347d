"""Glue's custom classifiers: their definitions (CreateClassifier and the rest) and
running them on a file.

A classifier's definition lives in the control-plane store (service ``glue``, kind
``classifier``, named as given) as one of Glue's four kinds, Grok, XML, JSON or CSV, by
the member name it was created with (``GrokClassifier``...). A crawler that names
classifiers runs them, in its order, before the built-ins: :func:`classify_custom`
returns the first result of certainty 1.0, or else the most certain (the crawl then
weighs it against the built-ins), or None.

What each kind makes of a file:

- Grok: each line of the sample matched whole against the pattern (expanded with the
  logstash pattern library pygrok ships, and the classifier's ``CustomPatterns``); each
  named field is a column, typed by its ``:type`` suffix. Tables use Glue's GrokSerDe.
- XML: the records named by ``RowTag`` (:mod:`fogbank.catalog.xmlfiles`).
- JSON: the values ``JsonPath`` selects in each JSON document of the sample; objects
  give their members as columns, anything else one column named ``record``.
- CSV: rows split by the classifier's delimiter and quote symbol, with its header rule,
  header names, trimming, single-column and data-type options.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import regex
from jsonpath_ng.parser import parse as parse_json_path
from pygrok import Grok

from fogbank.catalog.classifiers import (
    NULL,
    SAMPLE_RECORDS,
    Classification,
    FileSource,
    GlueType,
    Serde,
    StructType,
    csv_rows,
    json_type,
    looks_like_header,
    merge_fields,
    merge_types,
    scaled_to_file,
    text_sample,
    value_type,
)
from fogbank.catalog.names import check_name
from fogbank.catalog.xmlfiles import check_row_tag, xml_classification
from fogbank.core.clock import Clock
from fogbank.core.errors import (
    AlreadyExistsException,
    EntityNotFoundException,
    InvalidInputException,
    ResourceInUseException,
    ValidationException,
)
from fogbank.core.store import ControlPlaneStore, Resource

SERVICE, CLASSIFIER = "glue", "classifier"
GROK, XML, JSON, CSV = "GrokClassifier", "XMLClassifier", "JsonClassifier", "CsvClassifier"
KINDS = (GROK, XML, JSON, CSV)
# Each kind's members, beyond Name, as CreateClassifier and UpdateClassifier take them.
_MEMBERS: dict[str, tuple[str, ...]] = {
    GROK: ("Classification", "GrokPattern", "CustomPatterns"),
    XML: ("Classification", "RowTag"),
    JSON: ("JsonPath",),
    CSV: (
        "Delimiter",
        "QuoteSymbol",
        "ContainsHeader",
        "Header",
        "DisableValueTrimming",
        "AllowSingleColumn",
        "CustomDatatypeConfigured",
        "CustomDatatypes",
        "Serde",
    ),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    GROK: ("Classification", "GrokPattern"),
    XML: ("Classification",),
    JSON: ("JsonPath",),
    CSV: (),
}
MAX_GROK_PATTERN = 2048
MAX_CUSTOM_PATTERNS = 16000
MAX_PAGE = 1000
_HEADER_OPTIONS = ("UNKNOWN", "PRESENT", "ABSENT")
_CSV_SERDES = ("OpenCSVSerDe", "LazySimpleSerDe", "None")
# Glue's names for CSV custom data types, and the Hive types they become.
_CSV_DATATYPES = {
    "BINARY": "binary",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "DECIMAL": "decimal",
    "DOUBLE": "double",
    "FLOAT": "float",
    "INT": "int",
    "LONG": "bigint",
    "SHORT": "smallint",
    "STRING": "string",
    "TIMESTAMP": "timestamp",
}
# Grok's field types (%{PATTERN:field:type}) and the Hive types of their columns.
GROK_TYPES = {
    "byte": "tinyint",
    "boolean": "boolean",
    "double": "double",
    "short": "smallint",
    "int": "int",
    "long": "bigint",
    "float": "float",
    "string": "string",
}
_INTEGER_RANGES = (("SHORT", 2**15), ("INT", 2**31), ("LONG", 2**63))
_TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
GROK_SERDE = "com.amazonaws.glue.serde.GrokSerDe"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
# The columnar formats' magic bytes: no custom (text) classifier claims these files.
_BINARY_MAGIC = (b"Obj\x01", b"ORC", b"PAR1")


@dataclass(frozen=True)
class CustomClassifier:
    """One custom classifier, as GetClassifier reports it."""

    kind: str
    """``GrokClassifier``, ``XMLClassifier``, ``JsonClassifier`` or ``CsvClassifier``."""
    name: str
    members: Mapping[str, Any]
    """The kind's members as given (GrokPattern, RowTag, Delimiter...), without Name."""
    creation_time: datetime
    last_updated: datetime
    version: int

    def classify(self, source: FileSource) -> Classification | None:
        """This classifier's reading of one file: None where it does not recognise it."""
        head = source.head()
        if not head or head.startswith(_BINARY_MAGIC):
            return None
        sample = text_sample(source)
        _, text, complete, _ = sample
        found: Classification | None
        if self.kind == GROK:
            found = _grok(self.members, text, complete)
        elif self.kind == XML:
            found = xml_classification(text, complete, self.members.get("RowTag"))
            if found is not None:
                found = _renamed(found, self.members["Classification"])
        elif self.kind == JSON:
            found = _json(self.members["JsonPath"], text, complete)
        else:
            found = _csv(self.members, text, complete)
        if found is None or found.certainty <= 0.0:
            return None
        return scaled_to_file(found, sample, source.size)


@dataclass(frozen=True)
class ClassifierPage:
    items: tuple[CustomClassifier, ...]
    next_token: str | None = None


class Classifiers:
    """Every custom classifier of one account and region."""

    def __init__(self, store: ControlPlaneStore, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def create_classifier(self, p: Mapping[str, Any]) -> CustomClassifier:
        """CreateClassifier: exactly one of GrokClassifier, XMLClassifier, JsonClassifier
        or CsvClassifier, validated and stored at version 1."""
        kind, given = _one_kind(p, "CreateClassifier")
        name = check_name(given.get("Name") or "", f"{kind}.Name")
        members = {m: given[m] for m in _MEMBERS[kind] if given.get(m) is not None}
        _validate(kind, members)
        now = _iso(self._now())
        body = {
            "Kind": kind,
            "Members": members,
            "CreationTime": now,
            "LastUpdated": now,
            "Version": 1,
        }
        try:
            self._store.put_resource(SERVICE, CLASSIFIER, name, _arn(name), body, create_only=True)
        except ResourceInUseException:
            raise AlreadyExistsException(
                f"Classifier with name {name} already exists. Choose another name, or "
                "UpdateClassifier the existing one."
            ) from None
        return self.get_classifier(name)

    def get_classifier(self, name: str) -> CustomClassifier:
        return _classifier(self._resource(name))

    def get_classifiers(
        self, *, max_results: int = 100, next_token: str | None = None
    ) -> ClassifierPage:
        """GetClassifiers: one page of classifiers, in name order."""
        if not 1 <= max_results <= MAX_PAGE:
            raise InvalidInputException(
                f"MaxResults must be from 1 to {MAX_PAGE}; got {max_results}."
            )
        try:
            page, token = self._store.list_resources(
                SERVICE, CLASSIFIER, max_results=max_results, next_token=next_token
            )
        except ValidationException:
            raise InvalidInputException(
                f"The NextToken {next_token!r} is not valid; pass the NextToken from the "
                "previous GetClassifiers response, or none to start over."
            ) from None
        return ClassifierPage(tuple(_classifier(r) for r in page), token)

    def update_classifier(self, p: Mapping[str, Any]) -> CustomClassifier:
        """UpdateClassifier: the given members replace the stored ones; Version rises by
        1. The classifier keeps its kind: updating an XML classifier with GrokClassifier
        is refused."""
        kind, given = _one_kind(p, "UpdateClassifier")
        name = check_name(given.get("Name") or "", f"{kind}.Name")
        current = self._resource(name)
        stored_kind = current.body["Kind"]
        if stored_kind != kind:
            raise InvalidInputException(
                f"Classifier {name} is a {stored_kind}; update it with {stored_kind}, not "
                f"{kind} (delete it and create it again to change its kind)."
            )
        members = dict(current.body["Members"])
        members.update({m: given[m] for m in _MEMBERS[kind] if given.get(m) is not None})
        _validate(kind, members)
        body = {
            **current.body,
            "Members": members,
            "Version": int(current.body["Version"]) + 1,
            "LastUpdated": _iso(self._now()),
        }
        replaced = self._store.replace_resource(
            SERVICE, CLASSIFIER, name, body, state=current.state, expected_state=current.state
        )
        if replaced is None:
            raise EntityNotFoundException(
                f"Classifier {name} was deleted while it was being updated; create it again."
            )
        return _classifier(replaced)

    def delete_classifier(self, name: str) -> None:
        """DeleteClassifier. Crawlers naming it keep the name, as in Glue."""
        self._resource(name)
        self._store.delete_resource(SERVICE, CLASSIFIER, name)

    def definitions(self, names: Sequence[str]) -> list[CustomClassifier]:
        """The named classifiers, in the given order, for a crawl; a missing one raises
        EntityNotFoundException naming it."""
        return [self.get_classifier(name) for name in names]

    def _resource(self, name: str) -> Resource:
        found = self._store.find_resource(SERVICE, CLASSIFIER, name)
        if found is None:
            raise EntityNotFoundException(
                f"Classifier {name} does not exist. GetClassifiers lists the classifiers "
                "there are; CreateClassifier makes one."
            )
        return found

    def _now(self) -> datetime:
        return self._clock.now().astimezone(UTC)


def classify_custom(
    classifiers: Sequence[CustomClassifier], source: FileSource
) -> Classification | None:
    """The custom classifiers on one file, in the crawler's order: the first result of
    certainty 1.0 at once, else the most certain above 0.0 (the earlier on a tie), else
    None. The caller weighs a result below 1.0 against the built-ins."""
    best: Classification | None = None
    for classifier in classifiers:
        found = classifier.classify(source)
        if found is None:
            continue
        if found.certainty >= 1.0:
            return found
        if best is None or found.certainty > best.certainty:
            best = found
    return best


# ---------------------------------------------------------------------- definitions


def _one_kind(p: Mapping[str, Any], operation: str) -> tuple[str, Mapping[str, Any]]:
    given = [kind for kind in KINDS if p.get(kind) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise InvalidInputException(
            f"{operation} takes exactly one of {', '.join(KINDS)}; got {got}. Give one."
        )
    value = p[given[0]]
    if not isinstance(value, Mapping):
        raise InvalidInputException(f"{given[0]} must be an object of the classifier's members.")
    return given[0], value


def _validate(kind: str, members: Mapping[str, Any]) -> None:
    for member in _REQUIRED[kind]:
        if not members.get(member):
            raise InvalidInputException(f"{kind}.{member} is required; give it.")
    if (classification := members.get("Classification")) is not None and not isinstance(
        classification, str
    ):
        raise InvalidInputException(f"{kind}.Classification must be a string such as 'logs'.")
    if kind == GROK:
        _check_grok(members["GrokPattern"], members.get("CustomPatterns") or "")
    elif kind == XML and members.get("RowTag") is not None:
        check_row_tag(members["RowTag"], "XMLClassifier.RowTag")
    elif kind == JSON:
        _json_path(members["JsonPath"])
    elif kind == CSV:
        _check_csv(members)


def _check_csv(members: Mapping[str, Any]) -> None:
    for member in ("Delimiter", "QuoteSymbol"):
        value = members.get(member)
        if value is not None and (len(value) != 1 or value in "\r\n"):
            raise InvalidInputException(
                f"CsvClassifier.{member} must be one character, not a line break; got {value!r}."
            )
    delimiter, quote = members.get("Delimiter", ","), members.get("QuoteSymbol", '"')
    if delimiter == quote:
        raise InvalidInputException(
            f"CsvClassifier.QuoteSymbol {quote!r} must differ from the Delimiter {delimiter!r}; "
            "change one of them."
        )
    if (header := members.get("ContainsHeader", "UNKNOWN")) not in _HEADER_OPTIONS:
        raise InvalidInputException(
            f"CsvClassifier.ContainsHeader must be one of {', '.join(_HEADER_OPTIONS)}; "
            f"got {header!r}."
        )
    if (serde := members.get("Serde", "None")) not in _CSV_SERDES:
        raise InvalidInputException(
            f"CsvClassifier.Serde must be one of {', '.join(_CSV_SERDES)}; got {serde!r}."
        )
    for index, name in enumerate(members.get("Header") or ()):
        check_name(name, f"CsvClassifier.Header[{index}]")
    for index, datatype in enumerate(members.get("CustomDatatypes") or ()):
        if datatype not in _CSV_DATATYPES:
            raise InvalidInputException(
                f"CsvClassifier.CustomDatatypes[{index}] {datatype!r} is not a type Glue "
                f"detects; give some of {', '.join(_CSV_DATATYPES)}."
            )


def _classifier(resource: Resource) -> CustomClassifier:
    body = resource.body
    return CustomClassifier(
        kind=body["Kind"],
        name=resource.name,
        members=dict(body["Members"]),
        creation_time=datetime.fromisoformat(body["CreationTime"]),
        last_updated=datetime.fromisoformat(body["LastUpdated"]),
        version=int(body["Version"]),
    )


def _arn(name: str) -> str:
    # Glue classifiers have no ARN of their own; the store wants a unique one for tags.
    return f"glue:classifier/{name}"


def _iso(value: datetime) -> str:
    return value.isoformat()


def _renamed(found: Classification, classification: str) -> Classification:
    return replace(found, classification=classification)


# ---------------------------------------------------------------------- grok

_GROK_REFERENCE = re.compile(r"%\{([^}]*)\}")
_GROK_PARTS = re.compile(r"(\w+)(?::([\w.@\[\]-]+)(?::(\w+))?)?")
_CUSTOM_PATTERN_NAME = re.compile(r"\w+")
_MAX_GROK_DEPTH = 64


@dataclass(frozen=True)
class _GrokProgram:
    pattern: Any
    """The expanded, compiled regular expression (the ``regex`` module's)."""
    columns: tuple[tuple[str, GlueType], ...]


@lru_cache(maxsize=1)
def _library() -> dict[str, str]:
    """The logstash pattern library pygrok ships, by name."""
    return {name: p.regex_str for name, p in Grok("%{INT}").predefined_patterns.items()}


def _custom_patterns(text: str) -> dict[str, str]:
    patterns: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, body = stripped.partition(" ")
        if not _CUSTOM_PATTERN_NAME.fullmatch(name) or not body.strip():
            raise InvalidInputException(
                f"GrokClassifier.CustomPatterns line {number} ({stripped[:60]!r}) is not "
                "'NAME regex'; give one pattern per line, such as 'MYNUM \\d+'."
            )
        patterns[name] = body.strip()
    return patterns


def _check_grok(pattern: str, custom: str) -> None:
    if not isinstance(pattern, str) or not 1 <= len(pattern) <= MAX_GROK_PATTERN:
        raise InvalidInputException(
            f"GrokClassifier.GrokPattern must be 1 to {MAX_GROK_PATTERN} characters long."
        )
    if len(custom) > MAX_CUSTOM_PATTERNS:
        raise InvalidInputException(
            f"GrokClassifier.CustomPatterns must be at most {MAX_CUSTOM_PATTERNS} characters "
            f"long; got {len(custom)}."
        )
    _grok_program(pattern, custom)


@lru_cache(maxsize=64)
def _grok_program(pattern: str, custom: str) -> _GrokProgram:
    """The pattern expanded to one regular expression, its named fields as columns.

    Expanded here rather than by pygrok's own loop, which never ends on a pattern that
    refers to itself and knows only the int and float field types.
    """
    library = {**_library(), **_custom_patterns(custom)}
    columns: dict[str, GlueType] = {}

    def expand(text: str, depth: int, trail: tuple[str, ...]) -> str:
        def replace(match: re.Match[str]) -> str:
            parts = _GROK_PARTS.fullmatch(match.group(1))
            if parts is None:
                raise InvalidInputException(
                    f"GrokClassifier.GrokPattern: {match.group(0)!r} is not "
                    "%{PATTERN}, %{PATTERN:field} or %{PATTERN:field:type}."
                )
            name, field_name, kind = parts.groups()
            if name not in library:
                raise InvalidInputException(
                    f"GrokClassifier.GrokPattern refers to pattern {name}, which is neither "
                    "built in nor in CustomPatterns; define it in CustomPatterns."
                )
            if name in trail or depth > _MAX_GROK_DEPTH:
                raise InvalidInputException(
                    f"GrokClassifier pattern {name} refers to itself "
                    f"({' -> '.join((*trail, name))}); break the cycle."
                )
            if kind is not None and kind not in GROK_TYPES:
                raise InvalidInputException(
                    f"GrokClassifier.GrokPattern field {field_name} has type {kind!r}; give "
                    f"one of {', '.join(GROK_TYPES)} (or none, for string)."
                )
            body = expand(library[name], depth + 1, (*trail, name))
            if field_name is None:
                return f"(?:{body})"
            group = re.sub(r"\W", "_", field_name)
            new = GROK_TYPES[kind or "string"]
            columns[group] = merge_types(columns[group], new) if group in columns else new
            return f"(?P<{group}>{body})"

        return _GROK_REFERENCE.sub(replace, text)

    expanded = expand(pattern, 0, ())
    try:
        compiled = regex.compile(expanded)
    except regex.error as exc:
        raise InvalidInputException(
            f"GrokClassifier.GrokPattern does not expand to a valid regular expression "
            f"({exc}); check the pattern and CustomPatterns."
        ) from None
    order = sorted(compiled.groupindex.items(), key=lambda item: item[1])
    return _GrokProgram(compiled, tuple((name, columns[name]) for name, _ in order))


def grok_fields(pattern: str, custom: str = "") -> tuple[Any, list[str]]:
    """A Grok pattern (with its custom patterns) as one compiled regular expression and
    its named fields in order: what reads a GrokSerDe table's lines."""
    program = _grok_program(pattern, custom)
    return program.pattern, [name for name, _ in program.columns]


def _grok(members: Mapping[str, Any], text: bytes, complete: bool) -> Classification | None:
    """Grok over the sample's lines, each matched whole (Glue's grok is single-line).

    Certainty: 1.0 when every sampled non-empty line matches, 0.0 when none does, and in
    between the matched fraction scaled by 0.99, so that a partial match never counts as
    a certain one and a better partial match wins over a worse one.
    """
    pattern = members["GrokPattern"]
    program = _grok_program(pattern, members.get("CustomPatterns") or "")
    lines, exhausted = _lines(text, complete)
    if not lines:
        return None
    matched = sum(1 for line in lines if program.pattern.fullmatch(line) is not None)
    if not matched:
        return None
    certainty = 1.0 if matched == len(lines) else 0.99 * matched / len(lines)
    parameters = [("input.format", pattern)]
    if members.get("CustomPatterns"):
        parameters.append(("input.grokCustomPatterns", members["CustomPatterns"]))
    return Classification(
        members["Classification"],
        certainty,
        columns=program.columns,
        sampled_records=len(lines),
        sampled_bytes=sum(len(line.encode()) + 1 for line in lines),
        exhausted=exhausted,
        serde=Serde(
            input_format=_TEXT_IN,
            output_format=_TEXT_OUT,
            library=GROK_SERDE,
            parameters=tuple(parameters),
            table_parameters=(("grokPattern", pattern),),
        ),
    )


def _lines(text: bytes, complete: bool) -> tuple[list[str], bool]:
    """The sample's first non-empty lines (up to the record limit), and whether those
    are all it holds; a line the sample cut short is left out."""
    decoded = text.decode("utf-8", errors="replace")
    parts = decoded.split("\n")
    if not complete:
        parts.pop()
    lines = [part.rstrip("\r") for part in parts if part.strip()]
    return lines[:SAMPLE_RECORDS], len(lines) <= SAMPLE_RECORDS and complete


# ---------------------------------------------------------------------- json


def _json_path(path: Any) -> Any:
    if not isinstance(path, str) or not path.startswith("$"):
        raise InvalidInputException(
            f"JsonClassifier.JsonPath {path!r} must start with $, such as $[*] or $.records[*]."
        )
    try:
        return _compiled_json_path(path)
    except Exception as exc:  # jsonpath-ng raises its own errors and also plain ones
        raise InvalidInputException(
            f"JsonClassifier.JsonPath {path!r} is not a JsonPath Glue reads ({exc}); give one "
            "such as $[*] or $.records[*]."
        ) from None


@lru_cache(maxsize=64)
def _compiled_json_path(path: str) -> Any:
    # parsing a path builds a ply parser: once per path, not once per file
    return parse_json_path(path)


def _json(path: str, text: bytes, complete: bool) -> Classification | None:
    """The values ``path`` selects in each JSON document of the sample, as records.

    Certainty 1.0 when the path selects at least one value, else no match. Selected
    objects give their members as columns; where any selected value is not an object,
    the table has one column, ``record``, of the values' type (Glue's ``$.id`` gives
    ``record: string``).
    """
    documents = _json_documents(text, complete)
    if not documents:
        return None
    expression = _json_path(path)
    selected: list[Any] = []
    for document in documents:
        selected.extend(match.value for match in expression.find(document))
        if len(selected) >= SAMPLE_RECORDS:
            break
    exhausted = len(selected) <= SAMPLE_RECORDS and complete
    selected = selected[:SAMPLE_RECORDS]
    if not selected:
        return None
    columns: tuple[tuple[str, GlueType], ...] = ()
    if all(isinstance(value, dict) for value in selected):
        for value in selected:
            kind = json_type(value)
            assert isinstance(kind, StructType)
            columns = merge_fields(columns, kind.fields)
    else:
        record: GlueType = NULL
        for value in selected:
            record = merge_types(record, json_type(value))
        columns = (("record", record),)
    return Classification(
        "json",
        1.0,
        columns=columns,
        sampled_records=len(selected),
        sampled_bytes=sum(len(json.dumps(value).encode()) for value in selected),
        exhausted=exhausted,
        serde=Serde(
            input_format=_TEXT_IN,
            output_format=_TEXT_OUT,
            library=JSON_SERDE,
            parameters=(("paths", ",".join(name for name, _ in columns)),),
            table_parameters=(("jsonPath", path),),
        ),
    )


def _json_documents(text: bytes, complete: bool) -> list[Any]:
    """The JSON values of the sample, one after another (one document, JSON lines, or
    concatenated); a value the sample cut short is left out."""
    decoded = text.decode("utf-8", errors="ignore" if not complete else "strict")
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    position = len(decoded) - len(decoded.lstrip())
    while position < len(decoded) and len(documents) < SAMPLE_RECORDS:
        try:
            value, position = decoder.raw_decode(decoded, position)
        except json.JSONDecodeError:
            if complete:
                return []
            break
        documents.append(value)
        while position < len(decoded) and decoded[position].isspace():
            position += 1
    return documents


# ---------------------------------------------------------------------- csv


def _csv(members: Mapping[str, Any], text: bytes, complete: bool) -> Classification | None:
    """Rows split by the classifier's delimiter and quote symbol, all of one width (at
    least two columns unless AllowSingleColumn), with at least one data row.

    ContainsHeader PRESENT takes the first row as the header, ABSENT never does, and
    UNKNOWN applies the built-in CSV classifier's header rules. Header names the columns
    (it must have as many names as the rows have fields); otherwise a header row does,
    or ``col0``, ``col1``... DisableValueTrimming (true unless set false) types a value
    with surrounding spaces as a string. With CustomDatatypeConfigured, a value takes the
    narrowest of the listed CustomDatatypes it fits (DECIMAL and BINARY are accepted but
    not detected), else string.
    """
    delimiter = members.get("Delimiter", ",")
    quote = members.get("QuoteSymbol", '"')
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        if complete:
            return None
        decoded = text.decode("utf-8", errors="ignore")
    found = csv_rows(decoded, delimiter, complete, quote)
    if found is None:
        return None
    rows = found
    exhausted = len(rows) <= SAMPLE_RECORDS and complete
    rows = rows[:SAMPLE_RECORDS]
    if not rows:
        return None
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        return None
    if width < 2 and not members.get("AllowSingleColumn"):
        return None
    trim = members.get("DisableValueTrimming") is False
    allowed = (
        tuple(members.get("CustomDatatypes") or ())
        if members.get("CustomDatatypeConfigured")
        else None
    )

    def types_of(records: Sequence[Sequence[str]]) -> list[GlueType]:
        kinds: list[GlueType] = [NULL] * width
        for row in records:
            for index, value in enumerate(row):
                kinds[index] = merge_types(kinds[index], _csv_value_type(value, trim, allowed))
        return kinds

    option = members.get("ContainsHeader", "UNKNOWN")
    if option == "PRESENT":
        header = True
    elif option == "ABSENT":
        header = False
    else:
        header = len(rows) > 1 and looks_like_header(rows[0], types_of(rows[1:]))
    records = rows[1:] if header else rows
    if not records:
        return None
    names: list[str] = list(members.get("Header") or ())
    if names and len(names) != width:
        return None
    if not names:
        names = [v.strip() for v in rows[0]] if header else [f"col{i}" for i in range(width)]
    return Classification(
        "csv",
        1.0,
        columns=tuple(zip(names, types_of(records), strict=True)),
        sampled_records=len(records),
        sampled_bytes=sum(len(delimiter.join(r).encode()) + 1 for r in records),
        delimiter=delimiter,
        header=header,
        quoted=quote in decoded,
        exhausted=exhausted,
        serde=_csv_serde(members.get("Serde", "None"), delimiter, quote),
    )


def _csv_serde(option: str, delimiter: str, quote: str) -> Serde | None:
    if option == "OpenCSVSerDe":
        parameters = (("quoteChar", quote), ("separatorChar", delimiter))
        return Serde(_TEXT_IN, _TEXT_OUT, OPEN_CSV_SERDE, parameters)
    if option == "LazySimpleSerDe":
        return Serde(_TEXT_IN, _TEXT_OUT, LAZY_SIMPLE_SERDE, (("field.delim", delimiter),))
    return None  # "None": the crawler's own choice, as for the built-in CSV classifier


def _csv_value_type(value: str, trim: bool, allowed: tuple[str, ...] | None) -> GlueType:
    stripped = value.strip()
    if not stripped:
        return NULL
    if not trim and stripped != value:
        return "string"
    if allowed is None:
        return value_type(stripped)
    if stripped.lower() in ("true", "false"):
        return "boolean" if "BOOLEAN" in allowed else "string"
    try:
        number = int(stripped)
    except ValueError:
        pass
    else:
        for name, bound in _INTEGER_RANGES:
            if name in allowed and -bound <= number < bound:
                return _CSV_DATATYPES[name]
    try:
        float(stripped)
    except ValueError:
        pass
    else:
        for name in ("DOUBLE", "FLOAT"):
            if name in allowed and any(c.isdigit() for c in stripped):
                return _CSV_DATATYPES[name]
    if "DATE" in allowed and _is_date(stripped):
        return "date"
    if "TIMESTAMP" in allowed and _is_timestamp(stripped):
        return "timestamp"
    return "string"


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return len(value) > 10
