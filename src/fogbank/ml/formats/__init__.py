"""The content types SageMaker's built-in algorithms read and write."""

from fogbank.ml.formats.base import (
    JSON,
    JSONLINES,
    PARQUET,
    RECORDIO_PROTOBUF,
    TEXT_CSV,
    TEXT_LIBSVM,
    Batch,
    ContentType,
    FormatError,
    parse_content_type,
)
from fogbank.ml.formats.batches import (
    infer_feature_dim,
    parse_request,
    read_all,
    read_batches,
    read_body,
)
from fogbank.ml.formats.instances import parse_instances, write_instances
from fogbank.ml.formats.jsonlines import parse_jsonlines, write_jsonlines
from fogbank.ml.formats.libsvm import write_libsvm
from fogbank.ml.formats.parquet import write_parquet
from fogbank.ml.formats.protobuf import (
    decode_record,
    encode_record,
    records_to_batch,
    write_recordio_protobuf,
)
from fogbank.ml.formats.recordio import iter_recordio, write_recordio
from fogbank.ml.formats.text_csv import write_csv

__all__ = [
    "JSON",
    "JSONLINES",
    "PARQUET",
    "RECORDIO_PROTOBUF",
    "TEXT_CSV",
    "TEXT_LIBSVM",
    "Batch",
    "ContentType",
    "FormatError",
    "decode_record",
    "encode_record",
    "infer_feature_dim",
    "iter_recordio",
    "parse_content_type",
    "parse_instances",
    "parse_jsonlines",
    "parse_request",
    "read_all",
    "read_batches",
    "read_body",
    "records_to_batch",
    "write_csv",
    "write_instances",
    "write_jsonlines",
    "write_libsvm",
    "write_parquet",
    "write_recordio",
    "write_recordio_protobuf",
]
