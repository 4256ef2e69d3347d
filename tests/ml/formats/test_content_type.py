"""parse_content_type: AWS's aliases, parameters and label_size."""

from __future__ import annotations

import pytest

from fogbank.ml.formats import ContentType, FormatError, parse_content_type


@pytest.mark.parametrize(
    ("value", "mime"),
    [
        ("text/csv", "text/csv"),
        ("csv", "text/csv"),
        ("TEXT/CSV", "text/csv"),
        ("libsvm", "text/libsvm"),
        ("text/libsvm", "text/libsvm"),
        ("text/x-libsvm", "text/libsvm"),
        ("recordio-protobuf", "application/x-recordio-protobuf"),
        ("application/x-recordio-protobuf", "application/x-recordio-protobuf"),
        ("parquet", "application/x-parquet"),
        ("application/x-parquet", "application/x-parquet"),
        ("jsonlines", "application/jsonlines"),
        ("application/jsonlines", "application/jsonlines"),
        ("application/json", "application/json"),
    ],
)
def test_aliases_map_to_the_canonical_mime(value: str, mime: str) -> None:
    assert parse_content_type(value).mime == mime


def test_parameters_are_read_with_spaces_around_semicolons_ignored() -> None:
    ct = parse_content_type("Text/CSV ; label_size=0 ;  charset=utf-8")
    assert ct == ContentType("text/csv", {"label_size": "0", "charset": "utf-8"})
    assert ct.label_size == 0


def test_label_size_defaults_to_one() -> None:
    assert parse_content_type("text/csv").label_size == 1
    assert parse_content_type("text/csv;label_size=2").label_size == 2


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_content_type_uses_the_default(value: str | None) -> None:
    assert parse_content_type(value).mime == "text/csv"
    assert parse_content_type(value, default="libsvm").mime == "text/libsvm"


def test_unknown_content_type_error_lists_the_accepted_ones() -> None:
    with pytest.raises(FormatError, match="image/png") as err:
        parse_content_type("image/png")
    assert err.value.code == "ClientError"
    assert "text/csv" in err.value.message and "recordio-protobuf" in err.value.message


@pytest.mark.parametrize("value", ["text/csv;label_size=x", "text/csv;label_size=-1"])
def test_bad_label_size_is_refused_when_parsed(value: str) -> None:
    with pytest.raises(FormatError, match="label_size"):
        parse_content_type(value)


def test_parameter_without_equals_is_refused() -> None:
    with pytest.raises(FormatError, match="key=value"):
        parse_content_type("text/csv;label_size")


def test_content_type_is_hashable_and_prints_back() -> None:
    ct = parse_content_type("csv;label_size=0")
    assert hash(ct) == hash(ContentType("text/csv", {"label_size": "0"}))
    assert str(ct) == "text/csv;label_size=0"
