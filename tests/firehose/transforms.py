"""Handlers that stand in for Lambda functions in the transformation tests (named as
``python:tests.firehose.transforms:<function>``)."""

from __future__ import annotations

import base64
import json
from typing import Any

CALLS: list[dict[str, Any]] = []
FAILURES = {"left": 0}


def upper(event: dict[str, Any], context: None) -> dict[str, Any]:
    """Upper-cases each record; drops ``drop``, fails ``fail``; keeps the event for tests."""
    CALLS.append(event)
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        result = {b"drop": "Dropped", b"fail": "ProcessingFailed"}.get(data, "Ok")
        out.append(
            {
                "recordId": record["recordId"],
                "result": result,
                "data": base64.b64encode(data.upper()).decode(),
            }
        )
    return {"records": out}


def flaky(event: dict[str, Any], context: None) -> dict[str, Any]:
    """Raises while ``FAILURES['left']`` is positive, then behaves as :func:`upper`."""
    if FAILURES["left"] > 0:
        FAILURES["left"] -= 1
        raise RuntimeError("cold start")
    return upper(event, context)


def forgetful(event: dict[str, Any], context: None) -> dict[str, Any]:
    """Answers only the first record, twice."""
    first = event["records"][0]
    answer = {"recordId": first["recordId"], "result": "Ok", "data": first["data"]}
    return {"records": [answer, answer]}


def not_a_dict(event: dict[str, Any], context: None) -> str:
    return json.dumps(event)


def keyed(event: dict[str, Any], context: None) -> dict[str, Any]:
    """Returns each JSON record as it is, with its ``tenant`` (when it has one) as the
    partition key ``tenant``; ``fail`` fails."""
    out = []
    for record in event["records"]:
        data = base64.b64decode(record["data"])
        if data == b"fail":
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed"})
            continue
        document = json.loads(data)
        keys = {"tenant": document["tenant"]} if "tenant" in document else {}
        out.append(
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": record["data"],
                "metadata": {"partitionKeys": keys},
            }
        )
    return {"records": out}
