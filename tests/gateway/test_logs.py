"""CloudWatch Logs for training jobs through real boto3: what the SageMaker SDK's
``fit()`` reads (DescribeLogStreams, GetLogEvents)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fogbank import Fogbank
from tests.ml.training.jobs import csv_rows, xgboost_request

from .conftest import ErrorExpectation, transport_client

pytestmark = pytest.mark.slow
GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(params=["server", "in-process"])
def logs(request: pytest.FixtureRequest, fogbank: Fogbank) -> Iterator[Any]:
    with transport_client(request.param, fogbank, "logs") as made:
        yield made


@pytest.fixture
def finished(fogbank: Fogbank) -> Fogbank:
    fogbank.lake.create_bucket("data")
    fogbank.lake.write("s3://data/train/part-0.csv", csv_rows(200))
    fogbank.lake.write("s3://data/validation/part-0.csv", csv_rows(100, seed=9))
    fogbank.training.create_training_job(xgboost_request("logged"))
    assert fogbank.training.wait("logged", 120).status == "Completed"
    return fogbank


def test_describe_log_streams_lists_each_host_of_the_job(finished: Fogbank, logs: Any) -> None:
    streams = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="logged/", orderBy="LogStreamName"
    )["logStreams"]
    assert len(streams) == 1
    assert streams[0]["logStreamName"].startswith("logged/algo-1-")
    assert streams[0]["firstEventTimestamp"] <= streams[0]["lastEventTimestamp"]
    none = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="other/")
    assert none["logStreams"] == []


def test_get_log_events_pages_forward_and_ends_on_the_same_token(
    finished: Fogbank, logs: Any
) -> None:
    stream = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="logged/")[
        "logStreams"
    ][0]["logStreamName"]
    messages: list[str] = []
    token = None
    while True:
        extra = {"nextToken": token} if token else {}
        page = logs.get_log_events(
            logGroupName=GROUP, logStreamName=stream, startFromHead=True, limit=3, **extra
        )
        messages += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    log_text = finished.training.log_paths("logged")[0].read_text()
    assert messages == log_text.splitlines()
    assert any(m.startswith("[4]\ttrain-logloss:") for m in messages)
    tail = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=2)
    assert [e["message"] for e in tail["events"]] == messages[-2:]


def test_an_unknown_group_or_stream_is_resource_not_found(
    finished: Fogbank, logs: Any, json_error: ErrorExpectation
) -> None:
    with json_error("ResourceNotFoundException", "log group does not exist"):
        logs.describe_log_streams(logGroupName="/aws/lambda/nothing")
    with json_error("ResourceNotFoundException", "log stream does not exist"):
        logs.get_log_events(logGroupName=GROUP, logStreamName="logged/algo-9-1")
    with json_error("InvalidParameterException", "nextToken"):
        stream = logs.describe_log_streams(logGroupName=GROUP)["logStreams"][0]["logStreamName"]
        logs.get_log_events(logGroupName=GROUP, logStreamName=stream, nextToken="x/1")
