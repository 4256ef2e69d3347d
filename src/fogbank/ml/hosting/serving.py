"""The serving app of a built-in algorithm: SageMaker's inference container contract.

:func:`build_app` loads a model that an algorithm's ``train`` left in ``model/`` (once,
before the app exists) and answers as AWS's container for that algorithm does:

- ``GET /ping``: 200 with an empty body.
- ``POST /invocations``: the rows in the body (``Content-Type`` one of the algorithm's
  ``inference_content_types``), predicted, encoded as ``Accept`` asks: JSON
  ``{"predictions": [{"score": ..., "predicted_label": ...}]}``, JSON Lines (one such
  object a line), RecordIO-protobuf (one Record a row, the outputs as float32 tensors in
  its ``label`` map) or, for XGBoost, CSV.
- ``GET /execution-parameters``: what batch transform asks a container for.

Errors are plain text naming what to change: 415 for a content type the algorithm does
not read, 406 for an ``Accept`` it cannot write, 413 for a body over the payload limit,
400 for rows that do not parse (the message names the row and column) or do not fit the
model, 204 for an empty body sent to XGBoost (as its container answers).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fogbank.core.errors import FogbankError
from fogbank.ml.algorithms import algorithm as find_algorithm
from fogbank.ml.algorithms.base import Model, Predictions
from fogbank.ml.formats import (
    JSON,
    JSONLINES,
    RECORDIO_PROTOBUF,
    TEXT_CSV,
    FormatError,
    parse_content_type,
    parse_request,
)
from fogbank.ml.formats.protobuf import Record
from fogbank.ml.formats.recordio import encode_recordio

_log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "InvocationError",
    "ServingSettings",
    "build_app",
    "execution_parameters",
    "plain_text",
    "read_body",
]

MB = 1024 * 1024
# SageMaker's request and response limit (6 MB), as XGBoost's container sets it.
DEFAULT_MAX_PAYLOAD_BYTES = 6 * MB
# How much of an oversized body is read (and dropped) before the 413 is sent.
_DRAIN_BYTES = 64 * MB

# Accept types each algorithm writes, and the one it writes when Accept is missing or */*.
# XGBoost: its container's SUPPORTED_ACCEPTS and default (text/csv). Linear Learner and
# FM document JSON, JSON Lines and RecordIO-protobuf responses (no CSV).
_ACCEPTS: dict[str, tuple[str, ...]] = {
    "xgboost": (TEXT_CSV, JSON, JSONLINES, RECORDIO_PROTOBUF),
}
_DEFAULT_ACCEPTS = (JSON, JSONLINES, RECORDIO_PROTOBUF)
_DEFAULT_ACCEPT: dict[str, str] = {"xgboost": TEXT_CSV}


@dataclass(frozen=True)
class ServingSettings:
    """What the container's environment decides about serving."""

    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    default_accept: str | None = None
    batch: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ServingSettings:
        raw = environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", "").strip()
        limit = DEFAULT_MAX_PAYLOAD_BYTES
        if raw:
            try:
                megabytes = int(raw)
            except ValueError:
                megabytes = -1
            if megabytes <= 0:
                raise ValueError(
                    f"SAGEMAKER_MAX_PAYLOAD_IN_MB={raw!r} is not a whole number of MB above 0; "
                    "unset it for the 6 MB default."
                )
            limit = megabytes * MB
        accept = environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "").strip() or None
        batch = environ.get("SAGEMAKER_BATCH", "").strip().lower() not in ("", "false", "0")
        return cls(max_payload_bytes=limit, default_accept=accept, batch=batch)


class InvocationError(Exception):
    """An answer other than 200 to ``/invocations``: its status and plain-text message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Service:
    """One loaded model and the rules of its algorithm's container."""

    def __init__(self, name: str, model: Model, content_types: tuple[str, ...]) -> None:
        self.name = name
        self.model = model
        self.content_types = content_types
        self.accepts = _ACCEPTS.get(name, _DEFAULT_ACCEPTS)
        self.with_label = name != "xgboost"  # XGBoost's JSON holds the score alone
        self.lock = threading.Lock()  # XGBoost's Booster.predict is not thread-safe

    def request_type(self, header: str | None) -> str:
        try:
            mime = parse_content_type(header, self.content_types[0]).mime
        except FormatError as error:
            raise InvocationError(415, self._unsupported(header, str(error))) from error
        if mime not in self.content_types:
            raise InvocationError(415, self._unsupported(header, ""))
        return mime

    def _unsupported(self, header: str | None, detail: str) -> str:
        readable = ", ".join(self.content_types)
        extra = f" ({detail})" if detail else ""
        return (
            f"Content-Type {header!r} is not one {self.name} reads{extra}. Send one of: {readable}."
        )

    def accept_type(self, header: str | None, default: str | None) -> str:
        fallback = default or _DEFAULT_ACCEPT.get(self.name, JSON)
        entries = [part.split(";")[0].strip().lower() for part in (header or "").split(",")]
        entries = [entry for entry in entries if entry]
        if not entries:
            entries = ["*/*"]
        for entry in entries:
            wanted = fallback if entry == "*/*" else entry
            if wanted in self.accepts:
                return wanted
        writable = ", ".join(self.accepts)
        raise InvocationError(
            406,
            f"Accept {header or fallback!r} is not a type {self.name} writes. "
            f"Ask for one of: {writable}.",
        )

    def predict(self, body: bytes, mime: str) -> Predictions:
        features = parse_request(body, parse_content_type(mime))
        with self.lock:
            return self.model.predict(features)


def _short(values: np.ndarray) -> list[Any]:
    """float32 values as the shortest decimals that read back as the same float32."""
    return [float(str(v)) for v in np.asarray(values, dtype=np.float32).ravel()]


def _rows(predictions: Predictions, with_label: bool) -> list[dict[str, Any]]:
    score = np.asarray(predictions.score, dtype=np.float32)
    scores: list[Any]
    if score.ndim == 2:
        scores = [_short(row) for row in score]
    else:
        scores = _short(score)
    labels = predictions.predicted_label if with_label else None
    if labels is None:
        return [{"score": s} for s in scores]
    as_int = [int(v) for v in np.asarray(labels).ravel()]
    return [{"score": s, "predicted_label": label} for s, label in zip(scores, as_int, strict=True)]


def _csv(predictions: Predictions, batch: bool) -> bytes:
    # As XGBoost's container: str() of each row of predict()'s output, joined by commas
    # online and by newlines (one row a line) under batch transform.
    values = np.asarray(predictions.score, dtype=np.float32).tolist()
    if batch:
        return ("\n".join(map(str, values)) + "\n").encode()
    return ",".join(map(str, values)).encode()


def _recordio(predictions: Predictions, with_label: bool) -> bytes:
    score = np.asarray(predictions.score, dtype=np.float32)
    labels = predictions.predicted_label if with_label else None
    label_array = None if labels is None else np.asarray(labels, dtype=np.float32)
    out = io.BytesIO()
    record = Record()
    for i in range(score.shape[0]):
        record.Clear()
        record.label["score"].float32_tensor.values.extend(np.atleast_1d(score[i]).tolist())
        if label_array is not None:
            record.label["predicted_label"].float32_tensor.values.append(float(label_array[i]))
        out.write(encode_recordio(record.SerializeToString()))
    return out.getvalue()


# Below this magnitude numpy writes a float32 as the same shortest decimal json.dumps
# writes for float(str(value)); at and above it numpy switches to exponents.
_FAST_TEXT_LIMIT = 1e6


def _row_texts(predictions: Predictions, with_label: bool) -> list[str] | None:
    """Each row's JSON object as text, formatted by numpy in bulk (a batch transform
    request has tens of thousands of rows), or None where only the row-by-row path
    writes exactly what json.dumps would: several scores a row, values not finite or
    past numpy's switch to exponents."""
    score = np.asarray(predictions.score, dtype=np.float32)
    if score.ndim != 1 or not len(score):
        return None
    if not np.isfinite(score).all() or np.abs(score).max() >= _FAST_TEXT_LIMIT:
        return None
    scores = score.astype(str).tolist()
    labels = predictions.predicted_label if with_label else None
    if labels is None:
        return [f'{{"score": {s}}}' for s in scores]
    as_int = np.asarray(labels).ravel().astype(np.int64).tolist()
    return [
        f'{{"score": {s}, "predicted_label": {label}}}'
        for s, label in zip(scores, as_int, strict=True)
    ]


def _encode(service: _Service, predictions: Predictions, accept: str, batch: bool) -> bytes:
    if accept == TEXT_CSV:
        return _csv(predictions, batch)
    if accept == RECORDIO_PROTOBUF:
        return _recordio(predictions, service.with_label)
    texts = _row_texts(predictions, service.with_label)
    if texts is not None:
        if accept == JSONLINES:
            return ("\n".join(texts) + "\n").encode()
        return ('{"predictions": [' + ", ".join(texts) + "]}").encode()
    rows = _rows(predictions, service.with_label)
    if accept == JSONLINES:
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)
    return json.dumps({"predictions": rows}).encode()


def plain_text(status: int, message: str) -> Response:
    """An error answer as the containers send one: the message as plain text."""
    return Response(message, status_code=status, media_type="text/plain")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or :class:`InvocationError` 413 when it is over ``limit`` bytes."""
    too_large = InvocationError(
        413,
        f"The request body is over the {limit}-byte payload limit "
        f"({limit // MB} MB). Send fewer rows per request.",
    )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            # Read on (keeping nothing) so that the client, still sending, sees the 413
            # rather than a reset connection; past the drain cap, answer at once.
            if size > limit + _DRAIN_BYTES:
                break
            chunks.clear()
            continue
        chunks.append(chunk)
    if size > limit:
        raise too_large
    return b"".join(chunks)


def _invocations(service: _Service, settings: ServingSettings) -> Callable[[Request], Any]:
    async def invocations(request: Request) -> Response:
        try:
            body = await read_body(request, settings.max_payload_bytes)
            if not body and service.name == "xgboost":
                return Response(b"", status_code=204)
            mime = service.request_type(request.headers.get("content-type"))
            accept = service.accept_type(request.headers.get("accept"), settings.default_accept)
            try:
                predictions = await run_in_threadpool(service.predict, body, mime)
            except FogbankError as error:  # FormatError, or rows that do not fit the model
                raise InvocationError(400, str(error)) from error
            except Exception as error:  # as XGBoost's container: a failed predict is a 400
                _log.exception("predict failed")
                raise InvocationError(400, f"Unable to evaluate the payload: {error}") from error
            # The 6 MB response limit is InvokeEndpoint's to enforce, as with AWS's containers.
            payload = _encode(service, predictions, accept, settings.batch)
            return Response(payload, status_code=200, media_type=accept)
        except InvocationError as error:
            return plain_text(error.status, error.message)

    return invocations


def execution_parameters(settings: ServingSettings) -> dict[str, Any]:
    """What ``GET /execution-parameters`` answers: the batch transform settings a container
    proposes when the CreateTransformJob request leaves them out."""
    return {
        "MaxConcurrentTransforms": os.cpu_count() or 1,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": settings.max_payload_bytes // MB,
    }


def build_app(
    model_dir: Path, algorithm: str, environ: Mapping[str, str] | None = None
) -> Starlette:
    """The serving app of ``algorithm``'s model in ``model_dir``, loaded now (errors from
    loading propagate: a container that cannot load its model does not start)."""
    settings = ServingSettings.from_environ(os.environ if environ is None else environ)
    chosen = find_algorithm(algorithm)
    model = chosen.load(Path(model_dir))
    service = _Service(chosen.name, model, tuple(chosen.inference_content_types))

    async def ping(request: Request) -> Response:
        return Response(b"", status_code=200)

    async def parameters(request: Request) -> Response:
        return Response(json.dumps(execution_parameters(settings)), media_type=JSON)

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/invocations", _invocations(service, settings), methods=["POST"]),
        Route("/execution-parameters", parameters, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.model = model
    app.state.algorithm = chosen.name
    return app
