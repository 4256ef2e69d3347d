"""Data capture: an endpoint's sampled requests and responses, written to the lake as
SageMaker lays them out for Model Monitor.

With ``DataCaptureConfig.EnableCapture``, ``InitialSamplingPercentage`` of the
InvokeEndpoint calls are kept, each as one JSON line under
``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/``::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "1,2,3", "encoding": "CSV"},
                     "endpointOutput": {...,"mode": "OUTPUT", ...}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-01-01T00:00:00Z"},
     "eventVersion": "0"}

The data is kept as text for the content types CaptureContentTypeHeader lists as CSV or
JSON (text/csv and application/json by default), base64 otherwise. Each captured call is
its own object, written when the call is answered (SageMaker batches a few minutes of
calls per object; Model Monitor reads every object under the prefix either way).
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from datetime import datetime
from typing import Any

from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location

DEFAULT_CSV = ("text/csv",)
DEFAULT_JSON = ("application/json",)


class DataCapture:
    """One endpoint configuration's capture settings."""

    def __init__(self, config: dict[str, Any] | None, rng: random.Random) -> None:
        config = config or {}
        self.enabled = bool(config.get("EnableCapture", bool(config)))
        self.percentage = float(config.get("InitialSamplingPercentage", 0))
        self.destination = str(config.get("DestinationS3Uri", "")).rstrip("/")
        modes = {o.get("CaptureMode") for o in config.get("CaptureOptions") or []}
        self.inputs = bool(modes & {"Input", "InputAndOutput"})
        self.outputs = bool(modes & {"Output", "InputAndOutput"})
        header = config.get("CaptureContentTypeHeader") or {}
        self.csv = tuple(header.get("CsvContentTypes") or DEFAULT_CSV)
        self.json = tuple(header.get("JsonContentTypes") or DEFAULT_JSON)
        self._rng = rng

    def sampled(self) -> bool:
        return self.enabled and self._rng.random() * 100 < self.percentage

    def record(
        self,
        when: datetime,
        request: tuple[str, bytes],
        response: tuple[str, bytes],
        inference_id: str | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.inputs:
            data["endpointInput"] = self._part("INPUT", *request)
        if self.outputs:
            data["endpointOutput"] = self._part("OUTPUT", *response)
        metadata = {
            "eventId": str(uuid.uuid4()),
            "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        if inference_id:
            metadata["inferenceId"] = inference_id
        return {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}

    def _part(self, mode: str, content_type: str, body: bytes) -> dict[str, str]:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in self.csv:
            encoding, data = "CSV", body.decode("utf-8", errors="replace")
        elif media in self.json:
            encoding, data = "JSON", body.decode("utf-8", errors="replace")
        else:
            encoding, data = "BASE64", base64.b64encode(body).decode()
        return {
            "observedContentType": content_type,
            "mode": mode,
            "data": data,
            "encoding": encoding,
        }

    def write(
        self, lake: Lake, endpoint: str, variant: str, when: datetime, line: dict[str, Any]
    ) -> str:
        """The line as an object under the endpoint's and variant's hour; its location."""
        hour = when.strftime("%Y/%m/%d/%H")
        name = f"{when.strftime('%M-%S-%f')[:-3]}-{uuid.uuid4()}.jsonl"
        location = f"{self.destination}/{endpoint}/{variant}/{hour}/{name}"
        bucket, key = parse_location(location)
        lake.put_object(
            bucket, key, (json.dumps(line) + "\n").encode(), content_type="application/jsonlines"
        )
        return location
