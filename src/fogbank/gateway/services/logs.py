"""CloudWatch Logs on the gateway, for the logs fogbank's jobs write.

The SageMaker Python SDK's ``fit()`` follows a training job's log through
DescribeLogStreams and GetLogEvents on ``/aws/sagemaker/TrainingJobs``; endpoints' and
transform jobs' instances log to ``/aws/sagemaker/Endpoints/<endpoint>`` and
``/aws/sagemaker/TransformJobs`` (see :mod:`fogbank.ml.cloudwatch_logs`). Other log
groups do not exist here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fogbank.gateway.services.registry import Operations, present

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()


@OPERATIONS("DescribeLogStreams")
def describe_log_streams(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    group = p.get("logGroupName") or str(p.get("logGroupIdentifier", "")).split(":log-group:")[-1]
    streams = fb.logs.log_streams(group, p.get("logStreamNamePrefix", ""))
    if p.get("orderBy") == "LastEventTime":
        streams.sort(key=lambda s: s.last_event_ms or 0)
    if p.get("descending"):
        streams.reverse()
    start = int(p["nextToken"]) if str(p.get("nextToken", "")).isdigit() else 0
    limit = p.get("limit", 50)
    page = streams[start : start + limit]
    region, account = fb.config.region, fb.config.account_id
    return present(
        {
            "logStreams": [
                present(
                    {
                        "logStreamName": s.name,
                        "creationTime": s.creation_ms,
                        "firstEventTimestamp": s.first_event_ms,
                        "lastEventTimestamp": s.last_event_ms,
                        "lastIngestionTime": s.last_event_ms,
                        "storedBytes": s.stored_bytes,
                        "arn": f"arn:aws:logs:{region}:{account}:log-group:{group}"
                        f":log-stream:{s.name}",
                    }
                )
                for s in page
            ],
            "nextToken": str(start + limit) if start + limit < len(streams) else None,
        }
    )


@OPERATIONS("GetLogEvents")
def get_log_events(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    group = p.get("logGroupName") or str(p.get("logGroupIdentifier", "")).split(":log-group:")[-1]
    page = fb.logs.log_events(
        group,
        p["logStreamName"],
        start_time=p.get("startTime"),
        end_time=p.get("endTime"),
        start_from_head=bool(p.get("startFromHead", False)),
        next_token=p.get("nextToken"),
        limit=p.get("limit"),
    )
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
            for e in page.events
        ],
        "nextForwardToken": page.forward_token,
        "nextBackwardToken": page.backward_token,
    }
