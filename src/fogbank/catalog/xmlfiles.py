"""XML files as Glue's crawler reads them: which elements are records, and their schema.

One function, :func:`xml_classification`, serves both the built-in XML classifier (no row
tag given: it infers one) and a custom XML classifier (its ``RowTag``). Records are the
elements named by the row tag, wherever they are in the document (the outermost, when a
row element holds another); a self-closing row element (``<row a="1"/>``) is not a record,
as Glue documents, while ``<row a="1"></row>`` is.

The schema follows the XML data source for Apache Spark, which Glue's XML reader mirrors:
attributes become columns named with a leading ``_``, child elements become columns,
a child repeated within one record becomes ``array<...>``, a child with children or
attributes of its own becomes ``struct<...>`` (its text, if any, in ``_VALUE``), and leaf
text is typed int, bigint, double, boolean or string.

Parsing is incremental and safe: defusedxml's parser refuses entity declarations and
external references (no "billion laughs"), and a sample cut mid-document by the 1 MB
sampling limit is read up to the cut, records still open there left out.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from fogbank.catalog.classifiers import (
    NULL,
    SAMPLE_RECORDS,
    ArrayType,
    Classification,
    GlueType,
    Serde,
    StructType,
    merge_types,
)
from fogbank.core.errors import InvalidInputException

# What Glue writes for a table of XML files. Not confirmed against a live crawl (no
# public page states it); these are the classes the EMR XML SerDe ships, which is what
# crawled XML tables are reported to name.
XML_INPUT_FORMAT = "com.amazon.emr.xml.XmlInputFormat"
XML_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.IgnoreKeyTextOutputFormat"
XML_SERDE = "com.amazon.emr.hive.serde.XmlSerDe"
# spark-xml's defaults: attributePrefix and valueTag.
ATTRIBUTE_PREFIX = "_"
VALUE_TAG = "_VALUE"
_INT32 = (-(2**31), 2**31 - 1)


@dataclass
class _Element:
    tag: str
    attributes: dict[str, str]
    start: int
    """Byte offset of the start tag in the sample."""
    self_closing: bool
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    end: int | None = None
    """Byte offset just past the element; None while (or if) it is still open."""


class _TreeTarget:
    """An ElementTree parser target that keeps a light tree with byte offsets, so that
    records cut off by the end of the sample can be told from whole ones."""

    def __init__(self, text: bytes) -> None:
        self._text = text
        self.parser: Any = None
        self.root: _Element | None = None
        self._stack: list[_Element] = []

    def _offset(self) -> int:
        return int(self.parser.parser.CurrentByteIndex)

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        offset = self._offset()
        element = _Element(_local(tag), dict(attributes), offset, _self_closing(self._text, offset))
        if self._stack:
            self._stack[-1].children.append(element)
        elif self.root is None:
            self.root = element
        self._stack.append(element)

    def end(self, tag: str) -> None:
        element = self._stack.pop()
        offset = self._offset()
        if element.self_closing:
            element.end = offset
        else:
            closing = self._text.find(b">", offset)
            element.end = offset if closing < 0 else closing + 1

    def data(self, text: str) -> None:
        if self._stack:
            self._stack[-1].text.append(text)

    def close(self) -> None:
        return None


def xml_classification(text: bytes, complete: bool, row_tag: str | None) -> Classification | None:
    """The sample as XML records: ``row_tag`` names the record element; None infers it.

    Returns None when the sample is not well-formed XML (as far as it goes, when it is
    cut short) or, with a row tag given, holds no record by that tag. Without a row tag,
    any well-formed document classifies as ``xml`` with certainty 1.0, its row tag taken
    to be the root's most frequent child element that has children or attributes (or,
    failing that, the root itself as the only record).
    """
    stripped = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return None
    root = _parse(text, complete)
    if root is None:
        return None
    tag = row_tag if row_tag is not None else _infer_row_tag(root)
    rows: list[_Element] = []
    exhausted = True
    for row in _rows(root, tag):
        if len(rows) >= SAMPLE_RECORDS:
            exhausted = False
            break
        rows.append(row)
    if not rows:
        if row_tag is not None:
            return None
        rows = [root] if root.end is not None else []
        tag = root.tag
    columns: tuple[tuple[str, GlueType], ...] = ()
    for row in rows:
        kind = _element_type(row)
        if isinstance(kind, StructType):
            columns = _merge_fields(columns, kind.fields)
        elif kind != NULL:
            columns = _merge_fields(columns, ((VALUE_TAG, kind),))
    sampled_bytes = sum((row.end or row.start) - row.start for row in rows)
    return Classification(
        "xml",
        1.0,
        columns=columns,
        sampled_records=len(rows),
        sampled_bytes=sampled_bytes,
        exhausted=exhausted and complete,
        serde=xml_serde(tag),
    )


def xml_serde(row_tag: str) -> Serde:
    """How a table of XML records is read: the XML SerDe, and the row tag as a table
    parameter (``rowTag``), as Glue's crawled XML tables carry it."""
    return Serde(
        input_format=XML_INPUT_FORMAT,
        output_format=XML_OUTPUT_FORMAT,
        library=XML_SERDE,
        table_parameters=(("rowTag", row_tag),),
    )


def check_row_tag(value: str, field_name: str) -> str:
    """A RowTag as Glue takes it: an element name, without angle brackets."""
    if "<" in value or ">" in value:
        raise InvalidInputException(
            f"{field_name} {value!r} must be the element name without angle brackets; give "
            f"{value.strip('<>/ ')!r}."
        )
    if not value or any(c.isspace() for c in value) or value[0] in "-.0123456789":
        raise InvalidInputException(
            f"{field_name} {value!r} is not an XML element name; give the name of the element "
            "that holds each record, such as 'row'."
        )
    return value


# ---------------------------------------------------------------------- parsing


def _parse(text: bytes, complete: bool) -> _Element | None:
    target = _TreeTarget(text)
    parser = DefusedXMLParser(target=target)
    target.parser = parser
    try:
        parser.feed(text)
        if complete:
            parser.close()
    except (ParseError, DefusedXmlException):
        return None
    return target.root


def _self_closing(text: bytes, offset: int) -> bool:
    """Whether the start tag at ``offset`` ends in ``/>``: expat reports ``<a/>`` and
    ``<a></a>`` alike, and Glue counts only the second as a record."""
    quote = 0
    for index in range(offset + 1, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = 0
        elif char in b"\"'":
            quote = char
        elif char == ord(">"):
            return text[index - 1] == ord("/")
    return False


def _local(tag: str) -> str:
    # the parser writes a namespaced name as {uri}local; a column takes the local name
    return tag.rsplit("}", 1)[-1]


def _infer_row_tag(root: _Element) -> str:
    counts = Counter(
        child.tag
        for child in root.children
        if (child.children or child.attributes) and not child.self_closing
    )
    return counts.most_common(1)[0][0] if counts else root.tag


def _rows(element: _Element, tag: str) -> Iterator[_Element]:
    """Whole, not self-closing elements named ``tag``, outermost first, in document order."""
    if element.tag == tag and not element.self_closing:
        if element.end is not None:
            yield element
        return
    for child in element.children:
        yield from _rows(child, tag)


# ---------------------------------------------------------------------- schema


def _element_type(element: _Element) -> GlueType:
    text = "".join(element.text).strip()
    if not element.children and not element.attributes:
        return _text_type(text)
    fields: dict[str, GlueType] = {}
    for name, value in element.attributes.items():
        fields[ATTRIBUTE_PREFIX + _local(name)] = _text_type(value.strip())
    counts = Counter(child.tag for child in element.children)
    for child in element.children:
        kind = _element_type(child)
        if counts[child.tag] > 1:
            previous = fields.get(child.tag)
            element_kind = previous.element if isinstance(previous, ArrayType) else NULL
            fields[child.tag] = ArrayType(_merge(element_kind, kind))
        else:
            fields[child.tag] = _merge(fields.get(child.tag, NULL), kind)
    if text:
        fields[VALUE_TAG] = _text_type(text)
    return StructType(tuple(fields.items()))


def _text_type(text: str) -> GlueType:
    if not text:
        return NULL
    if text.lower() in ("true", "false"):
        return "boolean"
    try:
        number = int(text)
    except ValueError:
        pass
    else:
        return "int" if _INT32[0] <= number <= _INT32[1] else "bigint"
    try:
        real = float(text)
    except ValueError:
        return "string"
    # "nan" and "inf" parse as floats, but are words in a document
    return "double" if math.isfinite(real) and any(c.isdigit() for c in text) else "string"


def _merge(a: GlueType, b: GlueType) -> GlueType:
    """Like :func:`~fogbank.catalog.classifiers.merge_types`, but a value seen once in one
    record and repeated in another is an array of both, as spark-xml merges them."""
    if isinstance(a, ArrayType) and not isinstance(b, ArrayType) and b != NULL:
        return ArrayType(_merge(a.element, b))
    if isinstance(b, ArrayType) and not isinstance(a, ArrayType) and a != NULL:
        return ArrayType(_merge(a, b.element))
    if isinstance(a, ArrayType) and isinstance(b, ArrayType):
        return ArrayType(_merge(a.element, b.element))
    if isinstance(a, StructType) and isinstance(b, StructType):
        return StructType(_merge_fields(a.fields, b.fields))
    return merge_types(a, b)


def _merge_fields(
    a: tuple[tuple[str, GlueType], ...], b: tuple[tuple[str, GlueType], ...]
) -> tuple[tuple[str, GlueType], ...]:
    merged: dict[str, tuple[str, GlueType]] = {name.lower(): (name, kind) for name, kind in a}
    for name, kind in b:
        key = name.lower()
        if key in merged:
            merged[key] = (merged[key][0], _merge(merged[key][1], kind))
        else:
            merged[key] = (name, kind)
    return tuple(merged.values())
