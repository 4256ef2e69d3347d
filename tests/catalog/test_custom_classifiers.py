"""Custom classifiers (Grok, XML, JSON, CSV): their definitions, what each makes of real
files, the order and certainty rules of running them, and the built-in XML classifier."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fogbank.catalog.classifiers import Classification, FileSource, classify, type_name
from fogbank.catalog.custom import (
    GROK_SERDE,
    GROK_TYPES,
    OPEN_CSV_SERDE,
    Classifiers,
    CustomClassifier,
    classify_custom,
)
from fogbank.catalog.xmlfiles import XML_SERDE, xml_classification
from fogbank.core.clock import ManualClock
from fogbank.core.errors import (
    AlreadyExistsException,
    EntityNotFoundException,
    InvalidInputException,
)
from fogbank.core.store import ControlPlaneStore

APACHE_LINES = [
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
    '10.1.2.3 - - [10/Oct/2000:13:56:01 -0700] "POST /login HTTP/1.1" 302 0',
    '192.168.0.9 - alice [11/Oct/2000:08:00:00 -0700] "GET /index.html HTTP/1.1" 404 512',
]
# Typed fields, and a custom pattern (MYVERB) next to the built-in library's.
APACHE_PATTERN = (
    "%{IPORHOST:clientip} %{USER:ident} %{USER:auth} \\[%{HTTPDATE:timestamp}\\] "
    '"%{MYVERB:verb} %{NOTSPACE:request} HTTP/%{NUMBER:httpversion:float}" '
    "%{INT:response:short} %{INT:bytes:long}"
)
CUSTOM_PATTERNS = "# verbs we serve\nMYVERB (?:GET|POST|PUT|DELETE)\n"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def classifiers(store: ControlPlaneStore, clock: ManualClock) -> Iterator[Classifiers]:
    yield Classifiers(store, clock=clock)


def source(data: bytes) -> FileSource:
    return FileSource(len(data), lambda start, end: data[start:end])


def columns(found: Classification | None) -> list[tuple[str, str]]:
    assert found is not None
    return [(name, type_name(kind)) for name, kind in found.columns]


def grok(
    classifiers: Classifiers, name: str = "apache", pattern: str = APACHE_PATTERN, **extra: Any
) -> CustomClassifier:
    return classifiers.create_classifier(
        {
            "GrokClassifier": {
                "Name": name,
                "Classification": "apache-log",
                "GrokPattern": pattern,
                "CustomPatterns": CUSTOM_PATTERNS,
                **extra,
            }
        }
    )


def made(kind: str, **members: Any) -> CustomClassifier:
    """A classifier definition as the engine would return it, without a store."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    name = members.pop("Name", "c")
    return CustomClassifier(kind, name, members, now, now, 1)


# ---------------------------------------------------------------------- definitions


def test_create_get_update_delete_keep_versions_and_times(
    classifiers: Classifiers, clock: ManualClock
) -> None:
    created = grok(classifiers)
    assert created.kind == "GrokClassifier"
    assert created.version == 1
    assert created.creation_time == created.last_updated == clock.now()
    assert created.members["GrokPattern"] == APACHE_PATTERN
    assert created.members["Classification"] == "apache-log"

    clock.advance(seconds=60)
    updated = classifiers.update_classifier(
        {"GrokClassifier": {"Name": "apache", "Classification": "weblog"}}
    )
    assert updated.version == 2
    assert updated.creation_time == created.creation_time
    assert updated.last_updated == clock.now()
    assert updated.members["Classification"] == "weblog"
    assert updated.members["GrokPattern"] == APACHE_PATTERN  # members not given are kept
    assert classifiers.get_classifier("apache") == updated

    classifiers.delete_classifier("apache")
    with pytest.raises(EntityNotFoundException, match="apache does not exist"):
        classifiers.get_classifier("apache")
    with pytest.raises(EntityNotFoundException, match="apache"):
        classifiers.delete_classifier("apache")
    with pytest.raises(EntityNotFoundException, match="apache"):
        classifiers.update_classifier({"GrokClassifier": {"Name": "apache"}})


def test_a_taken_name_is_already_exists_whatever_the_kind(classifiers: Classifiers) -> None:
    grok(classifiers, name="shared")
    with pytest.raises(AlreadyExistsException, match="Classifier with name shared already"):
        classifiers.create_classifier({"JsonClassifier": {"Name": "shared", "JsonPath": "$[*]"}})


@pytest.mark.parametrize(
    ("request_members", "words"),
    [
        ({}, "got none"),
        (
            {
                "JsonClassifier": {"Name": "a", "JsonPath": "$"},
                "CsvClassifier": {"Name": "a"},
            },
            "got JsonClassifier, CsvClassifier",
        ),
    ],
)
def test_create_takes_exactly_one_kind(
    classifiers: Classifiers, request_members: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidInputException, match=words):
        classifiers.create_classifier(request_members)


def test_update_with_another_kind_is_refused(classifiers: Classifiers) -> None:
    classifiers.create_classifier(
        {"XMLClassifier": {"Name": "books", "Classification": "xml", "RowTag": "book"}}
    )
    with pytest.raises(InvalidInputException, match="is a XMLClassifier; update it with"):
        classifiers.update_classifier({"GrokClassifier": {"Name": "books", "GrokPattern": "x"}})
    assert classifiers.get_classifier("books").version == 1


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (
            {"GrokClassifier": {"Name": "g", "GrokPattern": "%{INT:a}"}},
            "Classification is required",
        ),
        (
            {"GrokClassifier": {"Name": "g", "Classification": "c", "GrokPattern": "%{NOPE:a}"}},
            "pattern NOPE",
        ),
        (
            {
                "GrokClassifier": {
                    "Name": "g",
                    "Classification": "c",
                    "GrokPattern": "%{INT:a:date}",
                }
            },
            "type 'date'",
        ),
        (
            {
                "GrokClassifier": {
                    "Name": "g",
                    "Classification": "c",
                    "GrokPattern": "%{LOOP:a}",
                    "CustomPatterns": "LOOP x%{LOOP}",
                }
            },
            "refers to itself",
        ),
        (
            {
                "GrokClassifier": {
                    "Name": "g",
                    "Classification": "c",
                    "GrokPattern": "%{INT}",
                    "CustomPatterns": "JUSTANAME",
                }
            },
            "line 1",
        ),
        (
            {"GrokClassifier": {"Name": "g", "Classification": "c", "GrokPattern": "x" * 2049}},
            "1 to 2048",
        ),
        (
            {
                "GrokClassifier": {
                    "Name": "g",
                    "Classification": "c",
                    "GrokPattern": "%{INT}",
                    "CustomPatterns": "A " + "x" * 16000,
                }
            },
            "at most 16000",
        ),
        (
            {"GrokClassifier": {"Name": "g", "Classification": "c", "GrokPattern": "(unclosed"}},
            "valid regular expression",
        ),
        ({"XMLClassifier": {"Name": "x", "RowTag": "row"}}, "Classification is required"),
        (
            {"XMLClassifier": {"Name": "x", "Classification": "c", "RowTag": "<row>"}},
            "without angle brackets",
        ),
        ({"JsonClassifier": {"Name": "j", "JsonPath": "records[*]"}}, "must start with \\$"),
        ({"JsonClassifier": {"Name": "j", "JsonPath": "$[[["}}, "not a JsonPath"),
        ({"CsvClassifier": {"Name": "c", "Delimiter": "|", "QuoteSymbol": "|"}}, "must differ"),
        ({"CsvClassifier": {"Name": "c", "QuoteSymbol": ","}}, "must differ"),
        ({"CsvClassifier": {"Name": "c", "Delimiter": "ab"}}, "one character"),
        ({"CsvClassifier": {"Name": "c", "ContainsHeader": "MAYBE"}}, "ContainsHeader"),
        ({"CsvClassifier": {"Name": "c", "Serde": "Regex"}}, "Serde must be one of"),
        ({"CsvClassifier": {"Name": "c", "CustomDatatypes": ["INT", "UUID"]}}, "\\[1\\] 'UUID'"),
        ({"CsvClassifier": {"Name": "c", "Header": ["a", ""]}}, "Header\\[1\\]"),
        ({"CsvClassifier": {"Name": "x" * 256}}, "CsvClassifier.Name must be 1 to 255"),
    ],
)
def test_invalid_definitions_name_the_member(
    classifiers: Classifiers, definition: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidInputException, match=words):
        classifiers.create_classifier(definition)
    assert classifiers.get_classifiers().items == ()


def test_an_update_is_validated_as_a_whole(classifiers: Classifiers) -> None:
    classifiers.create_classifier({"CsvClassifier": {"Name": "c", "Delimiter": "|"}})
    with pytest.raises(InvalidInputException, match="must differ"):
        classifiers.update_classifier({"CsvClassifier": {"Name": "c", "QuoteSymbol": "|"}})


def test_get_classifiers_pages_in_name_order(classifiers: Classifiers) -> None:
    for name in ("d", "b", "a", "e", "c"):
        classifiers.create_classifier({"JsonClassifier": {"Name": name, "JsonPath": "$[*]"}})
    seen: list[str] = []
    token: str | None = None
    while True:
        page = classifiers.get_classifiers(max_results=2, next_token=token)
        assert len(page.items) <= 2
        seen.extend(c.name for c in page.items)
        token = page.next_token
        if token is None:
            break
    assert seen == ["a", "b", "c", "d", "e"]
    with pytest.raises(InvalidInputException, match="NextToken"):
        classifiers.get_classifiers(next_token="not a token!")
    with pytest.raises(InvalidInputException, match="MaxResults"):
        classifiers.get_classifiers(max_results=1001)


def test_definitions_come_in_the_crawlers_order_and_name_a_missing_one(
    classifiers: Classifiers,
) -> None:
    for name in ("first", "second"):
        classifiers.create_classifier({"JsonClassifier": {"Name": name, "JsonPath": "$[*]"}})
    assert [c.name for c in classifiers.definitions(["second", "first"])] == ["second", "first"]
    with pytest.raises(EntityNotFoundException, match="ghost"):
        classifiers.definitions(["first", "ghost"])


# ---------------------------------------------------------------------- grok


def test_grok_reads_apache_lines_with_custom_patterns_and_typed_fields(
    classifiers: Classifiers,
) -> None:
    classifier = grok(classifiers)
    data = ("\n".join(APACHE_LINES) + "\n").encode()
    found = classifier.classify(source(data))
    assert found is not None
    assert found.classification == "apache-log"
    assert found.certainty == 1.0
    assert columns(found) == [
        ("clientip", "string"),
        ("ident", "string"),
        ("auth", "string"),
        ("timestamp", "string"),
        ("verb", "string"),
        ("request", "string"),
        ("httpversion", "float"),
        ("response", "smallint"),
        ("bytes", "bigint"),
    ]
    assert found.record_count == 3
    assert found.serde is not None
    assert found.serde.library == GROK_SERDE
    assert dict(found.serde.parameters) == {
        "input.format": APACHE_PATTERN,
        "input.grokCustomPatterns": CUSTOM_PATTERNS,
    }
    assert dict(found.serde.table_parameters) == {"grokPattern": APACHE_PATTERN}


def test_grok_reads_gzipped_logs_and_remembers_the_compression(classifiers: Classifiers) -> None:
    found = grok(classifiers).classify(source(gzip.compress("\n".join(APACHE_LINES).encode())))
    assert found is not None
    assert found.certainty == 1.0
    assert found.compression == "gzip"


def test_grok_partial_matches_score_below_one_and_no_match_is_none(
    classifiers: Classifiers,
) -> None:
    classifier = grok(classifiers)
    mixed = "\n".join([*APACHE_LINES, "not a log line"]).encode()
    found = classifier.classify(source(mixed))
    assert found is not None
    assert found.certainty == pytest.approx(0.99 * 3 / 4)
    assert classifier.classify(source(b"nothing\nlike\nit\n")) is None


def test_grok_matches_whole_lines_only(classifiers: Classifiers) -> None:
    classifier = grok(classifiers, name="number", pattern="%{INT:n:int}")
    assert classifier.classify(source(b"12\n34\n")) is not None
    assert classifier.classify(source(b"12 apples\n34 pears\n")) is None


@settings(max_examples=30, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(sorted(GROK_TYPES)), min_size=1, max_size=5),
    values=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=5),
)
def test_grok_field_types_become_glue_column_types(kinds: list[str], values: list[int]) -> None:
    pattern = " ".join(f"%{{INT:f{i}:{kind}}}" for i, kind in enumerate(kinds))
    classifier = made("GrokClassifier", Classification="numbers", GrokPattern=pattern)
    line = " ".join(str(values[i % len(values)]) for i in range(len(kinds)))
    found = classifier.classify(source(f"{line}\n{line}\n".encode()))
    assert columns(found) == [(f"f{i}", GROK_TYPES[kind]) for i, kind in enumerate(kinds)]


# ---------------------------------------------------------------------- xml

BOOKS = b"""<?xml version="1.0" encoding="UTF-8"?>
<catalog>
  <book id="bk101" lang="en">
    <author>Gambardella, Matthew</author>
    <price>44.95</price>
    <pages>470</pages>
    <tag>xml</tag><tag>guide</tag>
    <publisher><name>Wrox</name><year>2000</year></publisher>
  </book>
  <book id="bk102">
    <author>Ralls, Kim</author>
    <price>5</price>
    <pages>3000000000</pages>
    <tag>fantasy</tag>
    <available>true</available>
  </book>
  <book id="bk103"/>
</catalog>
"""


def test_xml_reads_attributes_nested_and_repeated_elements(classifiers: Classifiers) -> None:
    classifier = classifiers.create_classifier(
        {"XMLClassifier": {"Name": "books", "Classification": "books-xml", "RowTag": "book"}}
    )
    found = classifier.classify(source(BOOKS))
    assert found is not None
    assert found.classification == "books-xml"
    assert found.certainty == 1.0
    assert found.record_count == 2  # the self-closing <book id="bk103"/> is not a record
    assert columns(found) == [
        ("_id", "string"),
        ("_lang", "string"),
        ("author", "string"),
        ("price", "double"),
        ("pages", "bigint"),
        ("tag", "array<string>"),
        ("publisher", "struct<name:string,year:int>"),
        ("available", "boolean"),
    ]
    assert found.serde is not None
    assert found.serde.library == XML_SERDE
    assert dict(found.serde.table_parameters) == {"rowTag": "book"}


def test_xml_row_tags_that_only_self_close_are_no_records(classifiers: Classifiers) -> None:
    classifier = made("XMLClassifier", Classification="rows", RowTag="row")
    assert classifier.classify(source(b'<rows><row a="1"/><row a="2"/></rows>')) is None
    found = classifier.classify(source(b'<rows><row a="1"></row><row a="2"/></rows>'))
    assert columns(found) == [("_a", "int")]
    assert found is not None and found.record_count == 1
    assert classifier.classify(source(b"<rows><other>1</other></rows>")) is None


def test_xml_sample_cut_mid_document_keeps_whole_records() -> None:
    rows = "".join(f"<r><n>{i}</n></r>" for i in range(50))
    text = f"<all>{rows}".encode()
    found = xml_classification(text[:-7], False, "r")
    assert found is not None
    assert found.sampled_records == 49
    assert columns(found) == [("n", "int")]
    assert xml_classification(b"<all><r><n>1</n></r>", True, "r") is None  # not well-formed


def test_xml_refuses_entity_declarations() -> None:
    bomb = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;">]><r><x>&b;</x></r>'
    assert xml_classification(bomb, True, "r") is None


def test_built_in_xml_infers_the_row_tag_between_json_and_csv() -> None:
    found = classify(source(BOOKS))
    assert found.classification == "xml"
    assert found.certainty == 1.0
    assert found.serde is not None
    assert dict(found.serde.table_parameters) == {"rowTag": "book"}
    assert ("publisher", "struct<name:string,year:int>") in columns(found)

    gzipped = classify(source(gzip.compress(BOOKS)))
    assert (gzipped.classification, gzipped.compression) == ("xml", "gzip")
    # a document of leaves only is one record: the root
    single = classify(source(b"<config><host>db</host><port>5432</port></config>"))
    assert columns(single) == [("host", "string"), ("port", "int")]
    # what is not XML still falls through to csv, and JSON is still JSON
    assert classify(source(b"a,b\n1,2\n3,4\n")).classification == "csv"
    assert classify(source(b'{"a": 1}\n')).classification == "json"
    assert classify(source(b"<a><b>1</b></a")).classification == "UNKNOWN"


# ---------------------------------------------------------------------- json


def test_json_path_over_a_top_level_array(classifiers: Classifiers) -> None:
    classifier = classifiers.create_classifier(
        {"JsonClassifier": {"Name": "items", "JsonPath": "$[*]"}}
    )
    data = json.dumps([{"id": 1, "name": "a"}, {"id": 2, "tags": ["x"]}]).encode()
    found = classifier.classify(source(data))
    assert found is not None
    assert (found.classification, found.certainty, found.record_count) == ("json", 1.0, 2)
    assert columns(found) == [("id", "int"), ("name", "string"), ("tags", "array<string>")]
    assert found.serde is not None
    assert dict(found.serde.parameters) == {"paths": "id,name,tags"}
    assert dict(found.serde.table_parameters) == {"jsonPath": "$[*]"}


def test_json_path_selects_nested_records_in_each_document() -> None:
    classifier = made("JsonClassifier", JsonPath="$.records[*]")
    lines = [
        {"meta": {"page": 1}, "records": [{"user": "ann", "score": 1.5}]},
        {"meta": {"page": 2}, "records": [{"user": "bob", "score": 2}, {"user": "cy"}]},
    ]
    found = classifier.classify(source("\n".join(json.dumps(v) for v in lines).encode()))
    assert columns(found) == [("user", "string"), ("score", "double")]
    assert found is not None and found.record_count == 3


def test_json_path_to_values_makes_one_record_column_and_no_match_is_none() -> None:
    data = json.dumps({"id": "ocd-division/country:us", "name": "Alaska"}).encode()
    assert columns(made("JsonClassifier", JsonPath="$.id").classify(source(data))) == [
        ("record", "string")
    ]
    assert made("JsonClassifier", JsonPath="$.missing[*]").classify(source(data)) is None
    assert made("JsonClassifier", JsonPath="$[*]").classify(source(b"a,b\n1,2\n")) is None


# ---------------------------------------------------------------------- csv


def test_csv_with_pipe_delimiter_quote_symbol_and_explicit_header(
    classifiers: Classifiers,
) -> None:
    classifier = classifiers.create_classifier(
        {
            "CsvClassifier": {
                "Name": "pipes",
                "Delimiter": "|",
                "QuoteSymbol": "'",
                "ContainsHeader": "ABSENT",
                "Header": ["id", "comment", "amount"],
                "Serde": "OpenCSVSerDe",
            }
        }
    )
    data = b"1|'fine | dandy'|2.5\n2|'it''s ok'|3\n3|plain|4\n"
    found = classifier.classify(source(data))
    assert found is not None
    assert (found.classification, found.certainty, found.header) == ("csv", 1.0, False)
    assert columns(found) == [("id", "bigint"), ("comment", "string"), ("amount", "double")]
    assert found.record_count == 3
    assert found.delimiter == "|"
    assert found.serde is not None
    assert found.serde.library == OPEN_CSV_SERDE
    assert dict(found.serde.parameters) == {"separatorChar": "|", "quoteChar": "'"}


def test_csv_header_present_absent_and_guessed() -> None:
    data = b"name;qty\nbolt;4\nnut;10\n"
    present = made("CsvClassifier", Delimiter=";", ContainsHeader="PRESENT")
    assert columns(present.classify(source(data))) == [("name", "string"), ("qty", "bigint")]
    absent = made("CsvClassifier", Delimiter=";", ContainsHeader="ABSENT")
    found = absent.classify(source(data))
    assert columns(found) == [("col0", "string"), ("col1", "string")]
    assert found is not None and found.record_count == 3
    guessed = made("CsvClassifier", Delimiter=";")
    assert columns(guessed.classify(source(data))) == [("name", "string"), ("qty", "bigint")]
    wrong_width = made("CsvClassifier", Delimiter=";", Header=["only"])
    assert wrong_width.classify(source(data)) is None


def test_csv_single_column_trimming_and_custom_datatypes() -> None:
    single = b"a\n1\n2\n"
    assert made("CsvClassifier").classify(source(single)) is None
    allowed = made("CsvClassifier", AllowSingleColumn=True, ContainsHeader="PRESENT")
    assert columns(allowed.classify(source(single))) == [("a", "bigint")]

    padded = b"k,v\nx, 1\ny, 2\n"
    untrimmed = made("CsvClassifier", ContainsHeader="PRESENT")
    assert columns(untrimmed.classify(source(padded)))[1] == ("v", "string")
    trimmed = made("CsvClassifier", ContainsHeader="PRESENT", DisableValueTrimming=False)
    assert columns(trimmed.classify(source(padded)))[1] == ("v", "bigint")

    typed = made(
        "CsvClassifier",
        ContainsHeader="PRESENT",
        CustomDatatypeConfigured=True,
        CustomDatatypes=["SHORT", "INT", "DATE", "TIMESTAMP", "FLOAT", "BOOLEAN"],
    )
    data = (
        b"small,medium,day,at,ratio,flag,big,word\n"
        b"1,70000,2024-01-02,2024-01-02 03:04:05,0.5,true,9999999999,x\n"
    )
    assert columns(typed.classify(source(data))) == [
        ("small", "smallint"),
        ("medium", "int"),
        ("day", "date"),
        ("at", "timestamp"),
        ("ratio", "float"),
        ("flag", "boolean"),
        ("big", "float"),  # no LONG listed: the narrowest listed type it fits
        ("word", "string"),
    ]


@settings(max_examples=40, deadline=None)
@given(
    delimiter=st.sampled_from([",", "|", ";", "\t", "#"]),
    quote=st.sampled_from(['"', "'", "~"]),
    rows=st.lists(
        st.tuples(
            st.integers(min_value=-(10**12), max_value=10**12),
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_csv_options_read_back_what_the_csv_module_wrote(
    delimiter: str, quote: str, rows: list[tuple[int, str]]
) -> None:
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=delimiter, quotechar=quote, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n"
    )
    writer.writerows(rows)
    classifier = made(
        "CsvClassifier",
        Delimiter=delimiter,
        QuoteSymbol=quote,
        ContainsHeader="ABSENT",
        Header=["number", "words"],
        DisableValueTrimming=False,
    )
    found = classifier.classify(source(out.getvalue().encode()))
    assert found is not None
    assert found.record_count == len(rows)
    assert columns(found)[0] == ("number", "bigint")


# ---------------------------------------------------------------------- running them


def test_the_first_certain_classifier_wins_in_the_crawlers_order() -> None:
    data = json.dumps([{"id": 1}]).encode()
    first = made("JsonClassifier", Name="first", JsonPath="$[*]")
    second = made("JsonClassifier", Name="second", JsonPath="$")
    found = classify_custom([first, second], source(data))
    assert columns(found) == [("id", "int")]
    found = classify_custom([second, first], source(data))
    assert columns(found) == [("record", "array<struct<id:int>>")]


def test_without_a_certain_result_the_most_certain_wins() -> None:
    lines = b"1 a\n2 b\n3\nx\n"
    half = made(
        "GrokClassifier", Name="half", Classification="half", GrokPattern="%{INT:n} %{WORD:w}"
    )
    most = made("GrokClassifier", Name="most", Classification="most", GrokPattern="%{INT:n}.*")
    none = made("GrokClassifier", Name="none", Classification="none", GrokPattern="%{IP:ip}")
    found = classify_custom([none, half, most], source(lines))
    assert found is not None
    assert found.classification == "most"
    assert found.certainty == pytest.approx(0.99 * 3 / 4)
    assert classify_custom([none], source(lines)) is None
    assert classify_custom([], source(lines)) is None


def test_custom_classifiers_leave_columnar_files_to_the_built_ins() -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), sink)
    everything = made("GrokClassifier", Classification="any", GrokPattern="(?s).*")
    assert classify_custom([everything], source(sink.getvalue())) is None
