"""Firehose on the gateway: each operation translated into one engine call.

Parameters arrive parsed and validated against botocore's firehose model (``Data``
already decoded from base64); destination configurations pass through in their AWS
shape, which :class:`~fogbank.firehose.destination.S3Destination` and
:class:`~fogbank.firehose.redshift.RedshiftDestination` read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fogbank.firehose.destination import DESTINATION_ID
from fogbank.firehose.model import DeliveryStream
from fogbank.firehose.source import describe_source
from fogbank.gateway.services.registry import Operations, tag_page

if TYPE_CHECKING:
    from fogbank.app import Fogbank

OPERATIONS = Operations()


def _others(p: dict[str, Any], suffix: str) -> list[str]:
    """The destinations (and sources) given that fogbank does not deliver to yet."""
    ours = {
        f"S3Destination{suffix}",
        f"ExtendedS3Destination{suffix}",
        f"RedshiftDestination{suffix}",
    }
    named = [k for k in p if k.endswith(f"Destination{suffix}") and k not in ours]
    if suffix == "Configuration":
        named += [k for k in ("MSKSourceConfiguration", "DatabaseSourceConfiguration") if k in p]
    return named


@OPERATIONS("CreateDeliveryStream")
def create_delivery_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    arn = fb.firehose.create_delivery_stream(
        p["DeliveryStreamName"],
        stream_type=p.get("DeliveryStreamType", "DirectPut"),
        kinesis_source=p.get("KinesisStreamSourceConfiguration"),
        extended_s3=p.get("ExtendedS3DestinationConfiguration"),
        s3=p.get("S3DestinationConfiguration"),
        redshift=p.get("RedshiftDestinationConfiguration"),
        encryption=p.get("DeliveryStreamEncryptionConfigurationInput"),
        tags={t["Key"]: t.get("Value", "") for t in p.get("Tags", [])},
        other_destinations=_others(p, "Configuration"),
    )
    return {"DeliveryStreamARN": arn}


@OPERATIONS("DescribeDeliveryStream")
def describe_delivery_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    found = fb.firehose.describe_delivery_stream(p["DeliveryStreamName"])
    return {"DeliveryStreamDescription": _description(found)}


@OPERATIONS("ListDeliveryStreams")
def list_delivery_streams(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    page = fb.firehose.list_delivery_streams(
        limit=p.get("Limit", 10),
        exclusive_start_name=p.get("ExclusiveStartDeliveryStreamName"),
        stream_type=p.get("DeliveryStreamType"),
    )
    return {"DeliveryStreamNames": list(page.names), "HasMoreDeliveryStreams": page.has_more}


@OPERATIONS("DeleteDeliveryStream")
def delete_delivery_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.firehose.delete_delivery_stream(p["DeliveryStreamName"])
    return {}


@OPERATIONS("UpdateDestination")
def update_destination(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.firehose.update_destination(
        p["DeliveryStreamName"],
        p["CurrentDeliveryStreamVersionId"],
        p["DestinationId"],
        extended_s3=p.get("ExtendedS3DestinationUpdate"),
        s3=p.get("S3DestinationUpdate"),
        redshift=p.get("RedshiftDestinationUpdate"),
        other_destinations=_others(p, "Update"),
    )
    return {}


@OPERATIONS("StartDeliveryStreamEncryption")
def start_encryption(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    given = p.get("DeliveryStreamEncryptionConfigurationInput") or {}
    fb.firehose.start_encryption(p["DeliveryStreamName"], given.get("KeyType"), given.get("KeyARN"))
    return {}


@OPERATIONS("StopDeliveryStreamEncryption")
def stop_encryption(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.firehose.stop_encryption(p["DeliveryStreamName"])
    return {}


@OPERATIONS("TagDeliveryStream")
def tag_delivery_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.firehose.tag(p["DeliveryStreamName"], {t["Key"]: t.get("Value", "") for t in p["Tags"]})
    return {}


@OPERATIONS("UntagDeliveryStream")
def untag_delivery_stream(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    fb.firehose.untag(p["DeliveryStreamName"], p["TagKeys"])
    return {}


@OPERATIONS("ListTagsForDeliveryStream")
def list_tags(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    tags = fb.firehose.list_tags(p["DeliveryStreamName"])
    return tag_page(tags, p.get("ExclusiveStartTagKey"), p.get("Limit", 50))


@OPERATIONS("PutRecord")
def put_record(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    result = fb.firehose.put_record(p["DeliveryStreamName"], p["Record"]["Data"])
    return {"RecordId": result.record_id, "Encrypted": result.encrypted}


@OPERATIONS("PutRecordBatch")
def put_record_batch(fb: Fogbank, p: dict[str, Any]) -> dict[str, Any]:
    result = fb.firehose.put_record_batch(
        p["DeliveryStreamName"], [r["Data"] for r in p["Records"]]
    )
    responses = []
    for entry in result.entries:
        if entry.error_code is not None:
            responses.append({"ErrorCode": entry.error_code, "ErrorMessage": entry.error_message})
        else:
            responses.append({"RecordId": entry.record_id})
    return {
        "FailedPutCount": result.failed_put_count,
        "Encrypted": result.encrypted,
        "RequestResponses": responses,
    }


def _description(d: DeliveryStream) -> dict[str, Any]:
    encryption: dict[str, Any] = {"Status": d.encryption.status}
    if d.encryption.key_type is not None:
        encryption["KeyType"] = d.encryption.key_type
    if d.encryption.key_arn is not None:
        encryption["KeyARN"] = d.encryption.key_arn
    out: dict[str, Any] = {
        "DeliveryStreamName": d.name,
        "DeliveryStreamARN": d.arn,
        "DeliveryStreamStatus": d.status,
        "DeliveryStreamEncryptionConfiguration": encryption,
        "DeliveryStreamType": d.type,
        "VersionId": d.version_id,
        "CreateTimestamp": d.created,
        "Destinations": [_destination(d)],
        "HasMoreDestinations": False,
    }
    if d.last_updated is not None:
        out["LastUpdateTimestamp"] = d.last_updated
    if d.source is not None:
        out["Source"] = {"KinesisStreamSourceDescription": describe_source(d.source)}
    return out


def _destination(d: DeliveryStream) -> dict[str, Any]:
    if d.redshift is not None:
        return {
            "DestinationId": DESTINATION_ID,
            "RedshiftDestinationDescription": d.redshift.describe(),
        }
    return {
        "DestinationId": DESTINATION_ID,
        "S3DestinationDescription": d.destination.describe_plain(),
        "ExtendedS3DestinationDescription": d.destination.describe(),
    }
