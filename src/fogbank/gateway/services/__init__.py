"""One adapter per service: each AWS operation translated into one engine call.

The JSON services register here: :data:`JSON_ADAPTERS` maps a service's botocore
name to its adapter's ``OPERATIONS`` (operation name -> a function of the
:class:`~fogbank.Fogbank` and the parsed request, returning the output members).
S3 (rest-xml) has its own module, :mod:`fogbank.gateway.services.s3`.
"""

from __future__ import annotations

from fogbank.gateway.services import (
    athena,
    firehose,
    glue,
    kinesis,
    logs,
    sagemaker,
    sagemaker_runtime,
)
from fogbank.gateway.services.registry import JsonHandler

JSON_ADAPTERS: dict[str, dict[str, JsonHandler]] = {
    "athena": athena.OPERATIONS,
    "firehose": firehose.OPERATIONS,
    "glue": glue.OPERATIONS,
    "kinesis": kinesis.OPERATIONS,
    "logs": logs.OPERATIONS,
    "sagemaker": sagemaker.OPERATIONS,
}

# REST services with JSON documents, by botocore name (SageMaker Runtime).
REST_JSON_ADAPTERS: dict[str, dict[str, JsonHandler]] = {
    "sagemaker-runtime": sagemaker_runtime.OPERATIONS,
}
