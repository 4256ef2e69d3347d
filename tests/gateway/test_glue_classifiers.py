"""Glue's custom classifiers through real boto3, over a socket and in-process: each kind's
shape, versions, paging, and the errors with their codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .conftest import ErrorExpectation

GROK = {
    "Name": "apache",
    "Classification": "apache-log",
    "GrokPattern": "%{IPORHOST:clientip} %{INT:status:int}",
    "CustomPatterns": "MYWORD \\w+",
}


def test_each_kind_comes_back_in_its_own_member(glue: Any) -> None:
    glue.create_classifier(GrokClassifier=GROK)
    glue.create_classifier(
        XMLClassifier={"Name": "books", "Classification": "books", "RowTag": "book"}
    )
    glue.create_classifier(JsonClassifier={"Name": "items", "JsonPath": "$.items[*]"})
    glue.create_classifier(
        CsvClassifier={
            "Name": "pipes",
            "Delimiter": "|",
            "QuoteSymbol": "'",
            "ContainsHeader": "PRESENT",
            "Header": ["a", "b"],
            "AllowSingleColumn": False,
            "Serde": "OpenCSVSerDe",
        }
    )
    grok = glue.get_classifier(Name="apache")["Classifier"]
    assert list(grok) == ["GrokClassifier"]
    member = grok["GrokClassifier"]
    assert {k: member[k] for k in GROK} == GROK
    assert member["Version"] == 1
    assert isinstance(member["CreationTime"], datetime)
    assert member["LastUpdated"] == member["CreationTime"]

    xml = glue.get_classifier(Name="books")["Classifier"]["XMLClassifier"]
    assert (xml["Classification"], xml["RowTag"]) == ("books", "book")
    json_member = glue.get_classifier(Name="items")["Classifier"]["JsonClassifier"]
    assert json_member["JsonPath"] == "$.items[*]"
    assert "Classification" not in json_member  # the model has none for JSON
    csv_member = glue.get_classifier(Name="pipes")["Classifier"]["CsvClassifier"]
    assert csv_member["Header"] == ["a", "b"]
    assert (csv_member["Delimiter"], csv_member["QuoteSymbol"]) == ("|", "'")
    assert csv_member["Serde"] == "OpenCSVSerDe"
    assert csv_member["AllowSingleColumn"] is False


def test_update_raises_the_version_and_keeps_the_kind(
    glue: Any, json_error: ErrorExpectation
) -> None:
    glue.create_classifier(GrokClassifier=GROK)
    glue.update_classifier(GrokClassifier={"Name": "apache", "Classification": "weblog"})
    member = glue.get_classifier(Name="apache")["Classifier"]["GrokClassifier"]
    assert member["Version"] == 2
    assert member["Classification"] == "weblog"
    assert member["GrokPattern"] == GROK["GrokPattern"]
    assert member["LastUpdated"] >= member["CreationTime"]
    with json_error("InvalidInputException", "GrokClassifier", "XMLClassifier"):
        glue.update_classifier(XMLClassifier={"Name": "apache", "RowTag": "row"})
    with json_error("EntityNotFoundException", "ghost"):
        glue.update_classifier(JsonClassifier={"Name": "ghost", "JsonPath": "$"})


def test_get_classifiers_pages_with_next_token(glue: Any, json_error: ErrorExpectation) -> None:
    for index in range(5):
        glue.create_classifier(JsonClassifier={"Name": f"c{index}", "JsonPath": "$[*]"})
    first = glue.get_classifiers(MaxResults=2)
    assert [c["JsonClassifier"]["Name"] for c in first["Classifiers"]] == ["c0", "c1"]
    assert first["NextToken"]
    pages = glue.get_paginator("get_classifiers").paginate(PaginationConfig={"PageSize": 2})
    names = [c["JsonClassifier"]["Name"] for page in pages for c in page["Classifiers"]]
    assert names == [f"c{i}" for i in range(5)]
    with json_error("InvalidInputException", "NextToken"):
        glue.get_classifiers(NextToken="not a token!")


def test_delete_then_get_is_not_found(glue: Any, json_error: ErrorExpectation) -> None:
    glue.create_classifier(GrokClassifier=GROK)
    glue.delete_classifier(Name="apache")
    with json_error("EntityNotFoundException", "apache"):
        glue.get_classifier(Name="apache")
    with json_error("EntityNotFoundException", "apache"):
        glue.delete_classifier(Name="apache")
    assert glue.get_classifiers()["Classifiers"] == []


def test_create_errors_carry_glue_codes(glue: Any, json_error: ErrorExpectation) -> None:
    glue.create_classifier(GrokClassifier=GROK)
    with json_error("AlreadyExistsException", "apache already exists"):
        glue.create_classifier(CsvClassifier={"Name": "apache"})
    with json_error("InvalidInputException", "exactly one of"):
        glue.create_classifier()
    with json_error("InvalidInputException", "got JsonClassifier, CsvClassifier"):
        glue.create_classifier(
            JsonClassifier={"Name": "j", "JsonPath": "$"}, CsvClassifier={"Name": "c"}
        )
    with json_error("InvalidInputException", "QuoteSymbol", "Delimiter"):
        glue.create_classifier(CsvClassifier={"Name": "c", "Delimiter": ";", "QuoteSymbol": ";"})
    with json_error("InvalidInputException", "NOSUCH"):
        glue.create_classifier(
            GrokClassifier={"Name": "g", "Classification": "c", "GrokPattern": "%{NOSUCH:x}"}
        )
    with json_error("InvalidInputException", "angle brackets"):
        glue.create_classifier(
            XMLClassifier={"Name": "x", "Classification": "c", "RowTag": "<row>"}
        )
    names = [next(iter(c.values()))["Name"] for c in glue.get_classifiers()["Classifiers"]]
    assert names == ["apache"]
