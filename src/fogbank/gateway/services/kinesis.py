"""Kinesis Data Streams on the gateway: each operation translated into one engine call.

Parameters arrive parsed and validated against botocore's kinesis model (``Data``
already decoded from base64); each function returns the output members by the
model's names, and the JSON protocol lays them out on the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fogbank.core.errors import ValidationException
from fogbank.gateway.services.registry import Operations, tag_page
from fogbank.streams.engine import PutRequest, ShardFilter
from fogbank.streams.model import (
    ChildShard,
    Consumer,
    HashKeyRange,
    Record,
    Shard,
    StreamDescription,
    StreamSummary,
)

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()


def _stream(p: dict[str, Any]) -> dict[str, Any]:
    return {"name": p.get("StreamName"), "arn": p.get("StreamARN")}


def _partition_key(p: dict[str, Any], path: str) -> str:
    """PartitionKey: optional in the model since 2025 (for AUTO record distribution), but
    a stream that routes by key needs one; AWS refuses its absence as the model would."""
    key = p.get("PartitionKey")
    if key is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{path}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return str(key)


# ------------------------------------------------------------ streams


@OPERATIONS("CreateStream")
def create_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.create_stream(
        p["StreamName"],
        p.get("ShardCount"),
        mode=(p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED"),
        max_record_size_kib=p.get("MaxRecordSizeInKiB"),
        tags=p.get("Tags"),
    )
    return {}


@OPERATIONS("DeleteStream")
def delete_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.delete_stream(
        **_stream(p), enforce_consumer_deletion=bool(p.get("EnforceConsumerDeletion"))
    )
    return {}


@OPERATIONS("DescribeStream")
def describe_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found = fb.streams.describe_stream(
        **_stream(p),
        limit=p.get("Limit", 100),
        exclusive_start_shard_id=p.get("ExclusiveStartShardId"),
    )
    description = _description(found)
    description.update(
        Shards=[_shard(s) for s in found.shards], HasMoreShards=found.has_more_shards
    )
    return {"StreamDescription": description}


@OPERATIONS("DescribeStreamSummary")
def describe_stream_summary(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found = fb.streams.describe_stream_summary(**_stream(p))
    summary = _description(found)
    summary.update(
        StreamId=found.stream_id,
        OpenShardCount=found.open_shard_count,
        ConsumerCount=found.consumer_count,
        MaxRecordSizeInKiB=found.max_record_size_kib,
    )
    return {"StreamDescriptionSummary": summary}


@OPERATIONS("ListStreams")
def list_streams(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fb.streams.list_streams(
        limit=p.get("Limit", 100),
        exclusive_start_stream_name=p.get("ExclusiveStartStreamName"),
        next_token=p.get("NextToken"),
    )
    out: dict[str, Any] = {
        "StreamNames": [s.name for s in page.streams],
        "HasMoreStreams": page.has_more,
        "StreamSummaries": [_summary(s) for s in page.streams],
    }
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@OPERATIONS("ListShards")
def list_shards(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    raw_filter = p.get("ShardFilter")
    page = fb.streams.list_shards(
        **_stream(p),
        next_token=p.get("NextToken"),
        exclusive_start_shard_id=p.get("ExclusiveStartShardId"),
        max_results=p.get("MaxResults"),
        stream_creation_timestamp=p.get("StreamCreationTimestamp"),
        shard_filter=ShardFilter(
            raw_filter["Type"], raw_filter.get("ShardId"), raw_filter.get("Timestamp")
        )
        if raw_filter
        else None,
    )
    out: dict[str, Any] = {"Shards": [_shard(s) for s in page.shards]}
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@OPERATIONS("IncreaseStreamRetentionPeriod")
def increase_retention(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.change_retention(p["RetentionPeriodHours"], increase=True, **_stream(p))
    return {}


@OPERATIONS("DecreaseStreamRetentionPeriod")
def decrease_retention(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.change_retention(p["RetentionPeriodHours"], increase=False, **_stream(p))
    return {}


@OPERATIONS("UpdateStreamMode")
def update_stream_mode(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.update_stream_mode(p["StreamARN"], p["StreamModeDetails"]["StreamMode"])
    return {}


@OPERATIONS("UpdateMaxRecordSize")
def update_max_record_size(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.update_max_record_size(p["StreamARN"], p["MaxRecordSizeInKiB"])
    return {}


@OPERATIONS("EnableEnhancedMonitoring")
def enable_monitoring(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return _monitoring(fb, p, enable=True)


@OPERATIONS("DisableEnhancedMonitoring")
def disable_monitoring(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return _monitoring(fb, p, enable=False)


def _monitoring(fb: Fogbank, p: dict[str, Any], *, enable: bool) -> dict[str, Any]:
    name, arn, current, desired = fb.streams.set_enhanced_monitoring(
        p["ShardLevelMetrics"], enable=enable, **_stream(p)
    )
    return {
        "StreamName": name,
        "StreamARN": arn,
        "CurrentShardLevelMetrics": list(current),
        "DesiredShardLevelMetrics": list(desired),
    }


@OPERATIONS("DescribeLimits")
def describe_limits(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    limits = fb.streams.describe_limits()
    return {
        "ShardLimit": limits.shard_limit,
        "OpenShardCount": limits.open_shard_count,
        "OnDemandStreamCount": limits.on_demand_stream_count,
        "OnDemandStreamCountLimit": limits.on_demand_stream_count_limit,
    }


@OPERATIONS("StartStreamEncryption")
def start_encryption(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.start_stream_encryption(p["EncryptionType"], p["KeyId"], **_stream(p))
    return {}


@OPERATIONS("StopStreamEncryption")
def stop_encryption(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.stop_stream_encryption(p["EncryptionType"], p["KeyId"], **_stream(p))
    return {}


# ------------------------------------------------------------ resharding


@OPERATIONS("SplitShard")
def split_shard(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.split_shard(p["ShardToSplit"], p["NewStartingHashKey"], **_stream(p))
    return {}


@OPERATIONS("MergeShards")
def merge_shards(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.merge_shards(p["ShardToMerge"], p["AdjacentShardToMerge"], **_stream(p))
    return {}


@OPERATIONS("UpdateShardCount")
def update_shard_count(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    change = fb.streams.update_shard_count(
        p["TargetShardCount"], scaling_type=p["ScalingType"], **_stream(p)
    )
    return {
        "StreamName": change.stream_name,
        "StreamARN": change.stream_arn,
        "CurrentShardCount": change.current_shard_count,
        "TargetShardCount": change.target_shard_count,
    }


# ------------------------------------------------------------ records


@OPERATIONS("PutRecord")
def put_record(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    result = fb.streams.put_record(
        p["Data"],
        _partition_key(p, "partitionKey"),
        **_stream(p),
        explicit_hash_key=p.get("ExplicitHashKey"),
        sequence_number_for_ordering=p.get("SequenceNumberForOrdering"),
    )
    return {
        "ShardId": result.shard_id,
        "SequenceNumber": result.sequence_number,
        "EncryptionType": result.encryption_type,
    }


@OPERATIONS("PutRecords")
def put_records(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    result = fb.streams.put_records(
        [
            PutRequest(
                r["Data"],
                _partition_key(r, f"records.{i + 1}.member.partitionKey"),
                r.get("ExplicitHashKey"),
            )
            for i, r in enumerate(p["Records"])
        ],
        **_stream(p),
    )
    entries = []
    for entry in result.records:
        if entry.error_code:
            entries.append({"ErrorCode": entry.error_code, "ErrorMessage": entry.error_message})
        else:
            entries.append({"SequenceNumber": entry.sequence_number, "ShardId": entry.shard_id})
    return {
        "FailedRecordCount": result.failed_record_count,
        "Records": entries,
        "EncryptionType": result.encryption_type,
    }


@OPERATIONS("GetShardIterator")
def get_shard_iterator(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    iterator = fb.streams.get_shard_iterator(
        p["ShardId"],
        p["ShardIteratorType"],
        **_stream(p),
        starting_sequence_number=p.get("StartingSequenceNumber"),
        timestamp=p.get("Timestamp"),
    )
    return {"ShardIterator": iterator}


@OPERATIONS("GetRecords")
def get_records(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    result = fb.streams.get_records(p["ShardIterator"], limit=p.get("Limit"))
    out: dict[str, Any] = {
        "Records": [_record(r) for r in result.records],
        "MillisBehindLatest": result.millis_behind_latest,
    }
    if result.next_shard_iterator is not None:
        out["NextShardIterator"] = result.next_shard_iterator
    if result.child_shards is not None:
        out["ChildShards"] = [_child(c) for c in result.child_shards]
    return out


@OPERATIONS("SubscribeToShard")
def subscribe_to_shard(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    start = p["StartingPosition"]
    subscription = fb.streams.subscribe_to_shard(
        p["ConsumerARN"],
        p["ShardId"],
        start["Type"],
        starting_sequence_number=start.get("SequenceNumber"),
        timestamp=start.get("Timestamp"),
    )

    def events() -> Iterator[dict[str, Any]]:
        try:
            for event in subscription:
                if event is None:
                    yield {}  # nothing new: lets the gateway notice a client that left
                    continue
                body: dict[str, Any] = {
                    "Records": [_record(r) for r in event.records],
                    "ContinuationSequenceNumber": event.continuation_sequence_number,
                    "MillisBehindLatest": event.millis_behind_latest,
                }
                if event.child_shards is not None:
                    body["ChildShards"] = [_child(c) for c in event.child_shards]
                yield {"SubscribeToShardEvent": body}
        finally:
            subscription.close()

    return {"EventStream": events()}


# ------------------------------------------------------------ consumers


@OPERATIONS("RegisterStreamConsumer")
def register_consumer(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    consumer = fb.streams.register_stream_consumer(p["StreamARN"], p["ConsumerName"])
    described = _consumer(consumer)
    described.pop("StreamARN")
    return {"Consumer": described}


@OPERATIONS("DescribeStreamConsumer")
def describe_consumer(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    consumer = fb.streams.describe_stream_consumer(
        stream_arn=p.get("StreamARN"),
        consumer_name=p.get("ConsumerName"),
        consumer_arn=p.get("ConsumerARN"),
    )
    return {"ConsumerDescription": _consumer(consumer)}


@OPERATIONS("ListStreamConsumers")
def list_consumers(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fb.streams.list_stream_consumers(
        p["StreamARN"],
        next_token=p.get("NextToken"),
        max_results=p.get("MaxResults"),
        stream_creation_timestamp=p.get("StreamCreationTimestamp"),
    )
    consumers = []
    for consumer in page.consumers:
        described = _consumer(consumer)
        described.pop("StreamARN")
        consumers.append(described)
    out: dict[str, Any] = {"Consumers": consumers}
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


@OPERATIONS("DeregisterStreamConsumer")
def deregister_consumer(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.deregister_stream_consumer(
        stream_arn=p.get("StreamARN"),
        consumer_name=p.get("ConsumerName"),
        consumer_arn=p.get("ConsumerARN"),
    )
    return {}


@OPERATIONS("PutResourcePolicy")
def put_resource_policy(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.put_resource_policy(p["ResourceARN"], p["Policy"])
    return {}


@OPERATIONS("GetResourcePolicy")
def get_resource_policy(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    return {"Policy": fb.streams.get_resource_policy(p["ResourceARN"])}


@OPERATIONS("DeleteResourcePolicy")
def delete_resource_policy(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.delete_resource_policy(p["ResourceARN"])
    return {}


# ------------------------------------------------------------ tags


@OPERATIONS("AddTagsToStream")
def add_tags(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.add_tags(p["Tags"], **_stream(p))
    return {}


@OPERATIONS("RemoveTagsFromStream")
def remove_tags(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.remove_tags(p["TagKeys"], **_stream(p))
    return {}


@OPERATIONS("ListTagsForStream")
def list_tags_for_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = fb.streams.list_tags(**_stream(p))
    return tag_page(tags, p.get("ExclusiveStartTagKey"), p.get("Limit", 50))


@OPERATIONS("TagResource")
def tag_resource(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.add_tags(p["Tags"], arn=p["ResourceARN"])
    return {}


@OPERATIONS("UntagResource")
def untag_resource(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.streams.remove_tags(p["TagKeys"], arn=p["ResourceARN"])
    return {}


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = sorted(fb.streams.list_tags(arn=p["ResourceARN"]).items())
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags]}


# ------------------------------------------------------------ shapes


def _summary(s: StreamSummary) -> dict[str, Any]:
    return {
        "StreamName": s.name,
        "StreamARN": s.arn,
        "StreamStatus": s.status,
        "StreamModeDetails": {"StreamMode": s.mode},
        "StreamCreationTimestamp": s.created,
    }


def _description(d: StreamDescription) -> dict[str, Any]:
    out = _summary(d.summary)
    out.update(
        RetentionPeriodHours=d.retention_period_hours,
        EnhancedMonitoring=[{"ShardLevelMetrics": list(d.shard_level_metrics)}],
        EncryptionType=d.encryption_type,
    )
    if d.key_id is not None:
        out["KeyId"] = d.key_id
    return out


def _range(r: HashKeyRange) -> dict[str, str]:
    return {"StartingHashKey": str(r.starting), "EndingHashKey": str(r.ending)}


def _shard(s: Shard) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ShardId": s.shard_id,
        "HashKeyRange": _range(s.hash_key_range),
        "SequenceNumberRange": {"StartingSequenceNumber": s.starting_sequence_number},
    }
    if s.ending_sequence_number is not None:
        out["SequenceNumberRange"]["EndingSequenceNumber"] = s.ending_sequence_number
    if s.parent_shard_id is not None:
        out["ParentShardId"] = s.parent_shard_id
    if s.adjacent_parent_shard_id is not None:
        out["AdjacentParentShardId"] = s.adjacent_parent_shard_id
    return out


def _child(c: ChildShard) -> dict[str, Any]:
    return {
        "ShardId": c.shard_id,
        "ParentShards": list(c.parent_shards),
        "HashKeyRange": _range(c.hash_key_range),
    }


def _record(r: Record) -> dict[str, Any]:
    return {
        "SequenceNumber": r.sequence_number,
        "ApproximateArrivalTimestamp": r.approximate_arrival,
        "Data": r.data,
        "PartitionKey": r.partition_key,
        "EncryptionType": r.encryption_type,
    }


def _consumer(c: Consumer) -> dict[str, Any]:
    return {
        "ConsumerName": c.name,
        "ConsumerARN": c.arn,
        "ConsumerStatus": c.status,
        "ConsumerCreationTimestamp": c.created,
        "StreamARN": c.stream_arn,
    }
