"""Batch transform's DataProcessing: AWS's JSONPath subset, CreateTransformJob's rules,
InputFilter, JoinSource and OutputFilter on CSV and JSON records.

The examples marked "guide" are from "Associate Prediction Results with Input Records",
https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html, and
those marked "API" from the DataProcessing shape of the API reference,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataProcessing.html.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fogbank.core.errors import ValidationException
from fogbank.ml.hosting.dataprocessing import DataProcessing, JsonPathError, parse_jsonpath
from fogbank.ml.hosting.splitting import TransformRecordError

CSV = "text/csv"
JSONL = "application/jsonlines"
JSON = "application/json"


def csv_job(request: Mapping[str, object] | None) -> DataProcessing:
    return DataProcessing.from_request(request, CSV, CSV, "Line", "Line")


def jsonl_job(request: Mapping[str, object] | None) -> DataProcessing:
    return DataProcessing.from_request(request, JSONL, JSONL, "Line", "Line")


def select(expression: str, value: object) -> object:
    return parse_jsonpath(expression).evaluate(value)


ROW = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"]


# --- the operators table (guide, "Supported JSONPath Operators") -----------------------


def test_root_selects_the_whole_value() -> None:
    assert select("$", {"a": 1}) == {"a": 1}


def test_dot_name_selects_a_child() -> None:
    assert select("$.id", {"id": 7, "x": 1}) == 7


def test_wildcard_selects_every_child() -> None:
    assert select("$.id.*", {"id": {"a": 1, "b": 2}}) == [1, 2]
    assert select("$[*]", ["a", "b"]) == ["a", "b"]


def test_bracketed_names_select_an_object_with_those_attributes() -> None:
    joined = {"id": 1, "features": [1, 2], "SageMakerOutput": {"label": 1}}
    assert select("$['id','SageMakerOutput']", joined) == {
        "id": 1,
        "SageMakerOutput": {"label": 1},
    }


def test_bracketed_names_after_a_dot_are_the_guides_own_spelling() -> None:
    # guide: "$.field1.['child1','child2'] is supported"
    value = {"field1": {"child1": 1, "child2": 2, "child3": 3}}
    assert select("$.field1.['child1','child2']", value) == {"child1": 1, "child2": 2}


def test_index_and_indexes() -> None:
    assert select("$[1]", ROW) == "c1"
    assert select("$[1,3,5]", ROW) == ["c1", "c3", "c5"]


def test_negative_index_counts_from_the_end() -> None:
    # guide: "A -1 index refers to the last element in an array"
    assert select("$[-1]", ROW) == "c7"
    assert select("$[0,-2]", ROW) == ["c0", "c6"]


def test_slices_of_the_operators_table_include_their_end() -> None:
    assert select("$[2:5]", ROW) == ["c2", "c3", "c4", "c5"]
    assert select("$[:5]", ROW) == ["c0", "c1", "c2", "c3", "c4", "c5"]
    assert select("$[2:]", ROW) == ["c2", "c3", "c4", "c5", "c6", "c7"]


def test_slice_1_4_is_the_second_through_fifth_columns() -> None:
    # guide: "$[1:4] specifies the second through fifth columns"
    assert select("$[1:4]", ROW) == ["c1", "c2", "c3", "c4"]


def test_open_slices_as_the_guide_words_them() -> None:
    # guide: "[5:] ... from the 6th column through the last column";
    # "[:5] ... from the first column (index 0) through the sixth column"
    assert select("$[5:]", ROW) == ROW[5:]
    assert select("$[:5]", ROW) == ROW[:6]


def test_output_filter_api_example_mixes_an_index_and_a_slice() -> None:
    # API: OutputFilter examples "$", "$[0,5:]", "$['id','SageMakerOutput']"
    assert select("$[0,5:]", ROW) == ["c0", "c5", "c6", "c7"]


def test_chained_steps() -> None:
    assert select("$.features[0:2]", {"features": [9, 8, 7, 6]}) == [9, 8, 7]
    assert (
        select("$.SageMakerOutput['predicted_label']", {"SageMakerOutput": {"predicted_label": 1}})
        == 1
    )
    assert select('$["a"].b', {"a": {"b": 2}}) == 2


def test_after_a_wildcard_values_without_the_name_are_left_out() -> None:
    assert select("$[*].a", [{"a": 1}, {"b": 2}, 3, {"a": 4}]) == [1, 4]
    assert select("$[0:1][0]", [[5], []]) == [5]


def test_slices_clamp_to_the_array() -> None:
    assert select("$[3:100]", ["a", "b", "c", "d"]) == ["d"]
    assert select("$[5:]", ["a"]) == []


@pytest.mark.parametrize(
    ("expression", "at", "says"),
    [
        ("id", 0, "must start with '$'"),
        ("$..id", 2, "deep scan"),
        ("$[?(@.a>1)]", 2, "filter"),
        ("$[1:5:2]", 5, "slice step"),
        ("$.", 2, "attribute name"),
        ("$[1", 3, "close the '['"),
        ("$['a'", 5, "close the '['"),
        ("$['a", 2, "never closed"),
        ("$[a]", 2, "expected an index"),
        ("$['a',1]", 6, "names and indexes do not mix"),
        ("$x", 1, "unexpected 'x'"),
    ],
)
def test_expressions_outside_the_subset_say_where_they_fail(
    expression: str, at: int, says: str
) -> None:
    with pytest.raises(JsonPathError) as caught:
        parse_jsonpath(expression)
    assert says in str(caught.value)
    assert caught.value.offset == at


def test_expressions_are_at_most_63_characters() -> None:
    parse_jsonpath("$." + "a" * 61)
    with pytest.raises(JsonPathError, match="64 characters long and the limit is 63"):
        parse_jsonpath("$." + "a" * 62)


# --- CreateTransformJob validation ----------------------------------------------------


def test_no_data_processing_is_the_default_and_passes_records_through() -> None:
    # guide, "Example: Output Only Inferences": this request "mimics the default behavior"
    explicit = csv_job({"InputFilter": "$", "JoinSource": "None", "OutputFilter": "$"})
    for processing in (explicit, csv_job(None), csv_job({})):
        assert processing.is_default
        assert processing.select_input(b"1,2,3", 1) == b"1,2,3"
        assert processing.join_and_select(b"1,2,3", b"0.9", 1) == b"0.9"


def test_default_data_processing_accepts_any_content_type() -> None:
    processing = DataProcessing.from_request(
        None, "application/x-recordio-protobuf", None, "RecordIO", "None"
    )
    assert processing.is_default


def test_filter_over_63_characters_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationException, match=r"DataProcessing.InputFilter .* limit is 63"):
        csv_job({"InputFilter": "$[" + ",".join(["1"] * 40) + "]"})


def test_bad_expression_is_refused_naming_field_expression_and_character() -> None:
    with pytest.raises(ValidationException) as caught:
        jsonl_job({"OutputFilter": "$..id"})
    assert "DataProcessing.OutputFilter '$..id'" in caught.value.message
    assert "at character 3" in caught.value.message


def test_non_string_filter_is_refused() -> None:
    with pytest.raises(ValidationException, match="InputFilter must be a string"):
        jsonl_job({"InputFilter": 1})


def test_unknown_join_source_is_refused() -> None:
    with pytest.raises(ValidationException, match="JoinSource 'Output' is not one of None, Input"):
        jsonl_job({"JoinSource": "Output"})


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ValidationException, match="no field 'Join'"):
        jsonl_job({"Join": "Input"})


def test_joining_needs_content_type_equal_to_accept() -> None:
    with pytest.raises(ValidationException) as caught:
        DataProcessing.from_request({"JoinSource": "Input"}, CSV, JSON, "Line", "Line")
    message = caught.value.message
    assert "ContentType (text/csv) must equal TransformOutput.Accept" in message
    assert "Set Accept to text/csv" in message


def test_joining_needs_an_accept() -> None:
    with pytest.raises(ValidationException, match=r"TransformOutput.Accept is not set"):
        DataProcessing.from_request({"JoinSource": "Input"}, JSONL, None, "Line", "Line")


def test_joining_needs_split_type_equal_to_assemble_with() -> None:
    with pytest.raises(ValidationException, match=r"SplitType \(Line\) must equal .*AssembleWith"):
        DataProcessing.from_request({"JoinSource": "Input"}, JSONL, JSONL, "Line", "None")


def test_joining_whole_json_documents_is_none_and_none() -> None:
    processing = DataProcessing.from_request({"JoinSource": "Input"}, JSON, JSON, "None", "None")
    assert (
        processing.join_and_select(b'{"a": 1}', b"[0.5]", 1) == b'{"a":1,"SageMakerOutput":[0.5]}'
    )


def test_content_type_parameters_and_case_are_ignored() -> None:
    processing = DataProcessing.from_request(
        {"JoinSource": "Input"}, "Text/CSV; charset=utf-8", "text/csv", "Line", "Line"
    )
    assert processing.joins


@pytest.mark.parametrize("content_type", ["application/x-recordio-protobuf", "image/jpeg", None])
def test_filters_need_csv_or_json_data(content_type: str | None) -> None:
    with pytest.raises(ValidationException, match=r"TransformInput.ContentType .* text/csv"):
        DataProcessing.from_request({"InputFilter": "$[1:]"}, content_type, CSV, "Line", "Line")


def test_output_filter_alone_needs_a_csv_or_json_accept() -> None:
    with pytest.raises(ValidationException, match=r"TransformOutput.Accept is 'image/png'"):
        DataProcessing.from_request({"OutputFilter": "$[0]"}, CSV, "image/png", "Line", "Line")


def test_binary_split_types_cannot_use_data_processing() -> None:
    with pytest.raises(ValidationException, match="SplitType is RecordIO"):
        DataProcessing.from_request({"JoinSource": "Input"}, JSON, JSON, "RecordIO", "RecordIO")


def test_csv_needs_split_type_line() -> None:
    # guide: "If you set input and output formats to text/csv, you must also set the
    # SplitType and AssemblyType parameters to line"
    with pytest.raises(ValidationException, match="SplitType must be Line"):
        DataProcessing.from_request({"InputFilter": "$[1:]"}, CSV, CSV, "None", "Line")
    with pytest.raises(ValidationException, match="AssembleWith must be Line"):
        DataProcessing.from_request({"OutputFilter": "$[0]"}, CSV, CSV, "Line", "None")


@pytest.mark.parametrize("field", ["InputFilter", "OutputFilter"])
def test_csv_takes_index_paths_only(field: str) -> None:
    with pytest.raises(ValidationException, match=f"{field} '\\$.id' names an attribute"):
        csv_job({field: "$.id", "JoinSource": "Input"})


def test_csv_takes_a_wildcard() -> None:
    assert csv_job({"InputFilter": "$[*]"}).select_input(b"a,b", 1) == b"a,b"


# --- the guide's examples, record by record ---------------------------------------------


def test_guide_example_join_json_object_nests_the_output() -> None:
    # guide, "Output Input Data and Inferences": input {"key":1}, result {"label":1}
    processing = jsonl_job({"JoinSource": "Input"})
    joined = processing.join_and_select(b'{"key":1}', b'{"label":1}', 1)
    assert json.loads(joined) == {"key": 1, "SageMakerOutput": {"label": 1}}


def test_guide_example_join_csv_appends_the_output_columns() -> None:
    # guide: "if the record is [1,2,3], and the label result is [1], then the output file
    # would contain [1,2,3,1]"
    assert csv_job({"JoinSource": "Input"}).join_and_select(b"1,2,3", b"1", 1) == b"1,2,3,1"


def test_guide_example_csv_id_column_excluded_from_input_and_kept_in_output() -> None:
    # guide, "Output an ID Column with Results and Exclude the ID Column from the Input (CSV)":
    # five columns, the first one the ID
    processing = csv_job({"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"})
    record = b"id-17,5.1,3.5,1.4,0.2"
    assert processing.select_input(record, 1) == b"5.1,3.5,1.4,0.2"
    assert processing.join_and_select(record, b"0.93", 1) == b"id-17,5.1,3.5,1.4,0.2,0.93"


def test_guide_example_json_id_attribute_excluded_from_input_and_kept_in_output() -> None:
    # guide, "Output an ID Attribute with Results and Exclude the ID Attribute from the
    # Input (JSON)"
    processing = jsonl_job(
        {
            "InputFilter": "$.features",
            "JoinSource": "Input",
            "OutputFilter": "$['id','SageMakerOutput']",
        }
    )
    record = b'{"id": "r-1", "features": [0.5, 1.5, 2]}'
    assert processing.select_input(record, 1) == b"[0.5,1.5,2]"
    joined = processing.join_and_select(record, b'{"predicted_label": 1, "score": 0.8}', 1)
    assert joined == b'{"id":"r-1","SageMakerOutput":{"predicted_label":1,"score":0.8}}'


def test_json_input_that_is_not_an_object_is_wrapped() -> None:
    # guide: "If the input isn't a key-value pair object, SageMaker creates a new JSON file.
    # In the new JSON file, the input data is stored in the SageMakerInput key and the
    # results are stored as the SageMakerOutput value."
    processing = jsonl_job({"JoinSource": "Input"})
    joined = processing.join_and_select(b"[1, 2, 3]", b"0.25", 1)
    assert json.loads(joined) == {"SageMakerInput": [1, 2, 3], "SageMakerOutput": 0.25}


def test_output_that_is_not_json_is_joined_as_a_string() -> None:
    processing = jsonl_job({"JoinSource": "Input"})
    assert processing.join_and_select(b'{"a":1}', b"cat", 1) == b'{"a":1,"SageMakerOutput":"cat"}'


def test_an_input_sagemakeroutput_attribute_is_overwritten() -> None:
    # guide: "values in the input file might be overwritten with the inference"
    processing = jsonl_job({"JoinSource": "Input"})
    joined = processing.join_and_select(b'{"SageMakerOutput":0,"b":2}', b"1", 1)
    assert joined == b'{"SageMakerOutput":1,"b":2}'


def test_join_uses_the_original_input_not_the_filtered_one() -> None:
    processing = jsonl_job({"InputFilter": "$.x", "JoinSource": "Input"})
    joined = processing.join_and_select(b'{"id":1,"x":[2]}', b"3", 1)
    assert joined == b'{"id":1,"x":[2],"SageMakerOutput":3}'


def test_output_filter_without_join_applies_to_the_output() -> None:
    processing = DataProcessing.from_request(
        {"OutputFilter": "$.predicted_label"}, CSV, JSONL, "Line", "Line"
    )
    assert processing.join_and_select(b"1,2", b'{"predicted_label":0,"score":0.1}', 1) == b"0"


def test_output_filter_on_csv_output_selects_columns() -> None:
    processing = csv_job({"JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert processing.join_and_select(b"id,1,2", b"0.7", 1) == b"id,0.7"


def test_json_output_is_compact_keeps_key_order_and_unicode() -> None:
    processing = jsonl_job({"InputFilter": "$['z','a']"})
    record = '{"a": 1, "z": "é", "m": 2}'.encode()
    assert processing.select_input(record, 1) == '{"z":"é","a":1}'.encode()


def test_csv_cells_are_quoted_only_when_needed() -> None:
    processing = csv_job({"InputFilter": "$[1:]"})
    assert processing.select_input(b'1,"a,b","say ""hi""",c', 1) == b'"a,b","say ""hi""",c'


def test_csv_single_index_gives_one_column() -> None:
    assert csv_job({"InputFilter": "$[1]"}).select_input(b"a,b,c", 1) == b"b"


# --- bad records during a job -----------------------------------------------------------


def test_bad_json_record_names_its_line() -> None:
    processing = jsonl_job({"InputFilter": "$.features"})
    with pytest.raises(TransformRecordError) as caught:
        processing.select_input(b'{"features": [1,', 12)
    assert caught.value.position == 12
    assert caught.value.message.startswith("Line 12: the input is not JSON")


def test_missing_attribute_names_the_line_the_filter_and_the_attributes_there() -> None:
    processing = jsonl_job({"InputFilter": "$.features"})
    with pytest.raises(TransformRecordError) as caught:
        processing.select_input(b'{"id": 1, "feats": []}', 3)
    message = caught.value.message
    assert "Line 3: DataProcessing.InputFilter '$.features' selects nothing" in message
    assert "no attribute 'features' (attributes: 'id', 'feats')" in message


def test_csv_index_out_of_range_is_an_error_for_that_line() -> None:
    # API: "If you specify indexes that aren't within the dimension size of the joined
    # dataset, you get an error."
    processing = csv_job({"JoinSource": "Input", "OutputFilter": "$[0,5]"})
    with pytest.raises(TransformRecordError, match=r"Line 4: .*index 5 is outside the 4 elements"):
        processing.join_and_select(b"a,b,c", b"1", 4)


def test_ragged_csv_row_fails_its_input_filter() -> None:
    processing = csv_job({"InputFilter": "$[2]"})
    assert processing.select_input(b"a,b,c", 1) == b"c"
    with pytest.raises(TransformRecordError, match=r"Line 2: .*index 2 is outside the 2 elements"):
        processing.select_input(b"a,b", 2)


def test_malformed_csv_is_an_error() -> None:
    with pytest.raises(TransformRecordError, match="Line 1: the input is not a CSV row"):
        csv_job({"InputFilter": "$[0]"}).select_input(b'a,"b"c', 1)


def test_csv_record_with_an_embedded_newline_is_an_error() -> None:
    with pytest.raises(TransformRecordError, match="holds 2 CSV rows"):
        csv_job({"InputFilter": "$[0]"}).select_input(b"a\nb", 1)


def test_non_utf8_record_is_an_error() -> None:
    with pytest.raises(TransformRecordError, match="byte 1 is not UTF-8"):
        jsonl_job({"InputFilter": "$.a"}).select_input(b'{\xff"a":1}', 1)


def test_name_step_on_an_array_says_what_it_found() -> None:
    with pytest.raises(TransformRecordError, match="attribute 'a' needs an object, found an array"):
        jsonl_job({"InputFilter": "$.a"}).select_input(b"[1]", 1)


# --- properties -------------------------------------------------------------------------

ITEMS = st.lists(st.integers(), max_size=12)


@given(ITEMS, st.integers(0, 14), st.integers(0, 14))
def test_slice_is_end_inclusive_like_python_with_end_plus_one(
    xs: list[int], start: int, end: int
) -> None:
    assert select(f"$[{start}:{end}]", xs) == xs[start : end + 1]


@given(ITEMS, st.integers(-14, 14), st.integers(-14, 14))
def test_negative_slice_bounds_count_from_the_end(xs: list[int], start: int, end: int) -> None:
    n = len(xs)
    first = start + n if start < 0 else start
    last = end + n if end < 0 else end
    expected = [xs[i] for i in range(n) if first <= i <= last]
    assert select(f"$[{start}:{end}]", xs) == expected


@given(ITEMS, st.integers(0, 14))
def test_open_slices_match_python(xs: list[int], bound: int) -> None:
    assert select(f"$[{bound}:]", xs) == xs[bound:]
    assert select(f"$[:{bound}]", xs) == xs[: bound + 1]


@given(st.binary(max_size=40))
def test_root_input_filter_returns_the_record_byte_for_byte(record: bytes) -> None:
    processing = DataProcessing.from_request({"InputFilter": "$"}, JSONL, JSONL, "Line", "Line")
    assert processing.select_input(record, 1) == record


@given(st.lists(st.text(alphabet="ab ,\"'x", max_size=4), min_size=1, max_size=6))
def test_csv_root_wildcard_rewrites_rows_that_read_back_the_same(cells: list[str]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    selected = csv_job({"InputFilter": "$[*]"}).select_input(out.getvalue().encode(), 1)
    assert next(csv.reader(io.StringIO(selected.decode()))) == cells
