"""The serving app of the built-in algorithms, over real HTTP (uvicorn in a thread).

Tiny models are trained once per module through the container layout, then served;
requests go through urllib as a client's would.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import uvicorn
from hypothesis import given
from hypothesis import strategies as st

from fogbank.gateway.server import free_port
from fogbank.ml.algorithms import algorithm
from fogbank.ml.algorithms.base import Model
from fogbank.ml.formats import (
    decode_record,
    iter_recordio,
    write_csv,
    write_jsonlines,
    write_recordio_protobuf,
)
from fogbank.ml.hosting.serving import build_app
from fogbank.ml.training.environment import ContainerEnvironment

pytestmark = pytest.mark.slow

FEATURES = 4
HOST = "127.0.0.1"
RECORDIO = "application/x-recordio-protobuf"

# What each served model is trained as: (algorithm, training content type, hyperparameters).
KINDS: dict[str, tuple[str, str, dict[str, str]]] = {
    "ll-binary": (
        "linear-learner",
        "text/csv",
        {"predictor_type": "binary_classifier", "epochs": "3", "mini_batch_size": "50"},
    ),
    "ll-multiclass": (
        "linear-learner",
        "text/csv",
        {
            "predictor_type": "multiclass_classifier",
            "num_classes": "3",
            "epochs": "3",
            "mini_batch_size": "50",
        },
    ),
    "ll-regressor": (
        "linear-learner",
        "text/csv",
        {"predictor_type": "regressor", "epochs": "3", "mini_batch_size": "50"},
    ),
    "xgb-binary": ("xgboost", "text/csv", {"num_round": "5", "objective": "binary:logistic"}),
    "xgb-softprob": (
        "xgboost",
        "text/csv",
        {"num_round": "5", "objective": "multi:softprob", "num_class": "3"},
    ),
    "fm-binary": (
        "factorization-machines",
        RECORDIO,
        {
            "predictor_type": "binary_classifier",
            "feature_dim": str(FEATURES),
            "num_factors": "2",
            "epochs": "5",
            "mini_batch_size": "50",
            "linear_lr": "0.05",
        },
    ),
    "fm-regressor": (
        "factorization-machines",
        RECORDIO,
        {
            "predictor_type": "regressor",
            "feature_dim": str(FEATURES),
            "num_factors": "2",
            "epochs": "5",
            "mini_batch_size": "50",
        },
    ),
}


def _data(kind: str, rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    if kind.endswith("multiclass") or kind.endswith("softprob"):
        y = np.digitize(x[:, 0] - x[:, 1], [-0.5, 0.5]).astype(np.float32)
    elif kind.endswith("regressor"):
        y = (x[:, 0] - 2 * x[:, 1]).astype(np.float32)
    else:
        y = (x[:, 0] - x[:, 1] > 0).astype(np.float32)
    return x, y


def _layout(root: Path, kind: str) -> None:
    _, content_type, hyperparameters = KINDS[kind]
    x, y = _data(kind)
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    channel = {
        "ContentType": content_type,
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    }
    (config / "inputdataconfig.json").write_text(json.dumps({"train": channel}))
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    train = root / "input" / "data" / "train"
    train.mkdir(parents=True)
    if content_type == "text/csv":
        body = write_csv(x, y)
    else:
        framed = io.BytesIO()
        write_recordio_protobuf(framed, scipy.sparse.csr_matrix(x), y)
        body = framed.getvalue()
    (train / "part-0").write_bytes(body)
    (root / "model").mkdir()


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    dirs: dict[str, Path] = {}
    for kind, (name, _, _) in KINDS.items():
        root = tmp_path_factory.mktemp(kind)
        _layout(root, kind)
        algorithm(name).train(ContainerEnvironment.from_root(root))
        dirs[kind] = root / "model"
    return dirs


class Served:
    """The serving app of one model on a free loopback port, in a daemon thread."""

    def __init__(self, model_dir: Path, name: str, environ: Mapping[str, str]) -> None:
        self.app = build_app(model_dir, name, environ)
        self.port = free_port(HOST)
        config = uvicorn.Config(
            self.app, host=HOST, port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def model(self) -> Model:
        model: Model = self.app.state.model
        return model

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _call(
    port: int,
    path: str,
    body: bytes | None = None,
    content_type: str | None = None,
    accept: str | None = None,
) -> Reply:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    request = urllib.request.Request(
        f"http://{HOST}:{port}{path}",
        data=body,
        headers=headers,
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers.get("Content-Type", ""), error.read())


@pytest.fixture(scope="module")
def servers(model_dirs: dict[str, Path]) -> Iterator[dict[str, Served]]:
    started: dict[str, Served] = {}
    try:
        for kind, path in model_dirs.items():
            started[kind] = Served(path, KINDS[kind][0], {}).start()
        yield started
    finally:
        for served in started.values():
            served.stop()


@pytest.fixture
def serve(model_dirs: dict[str, Path]) -> Iterator[Any]:
    """Start a server with an environment of the test's own; stopped after the test."""
    started: list[Served] = []

    def start(kind: str, environ: Mapping[str, str]) -> Served:
        served = Served(model_dirs[kind], KINDS[kind][0], environ).start()
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


ROWS = _data("ll-binary", rows=5)[0]


def _csv_body(x: np.ndarray) -> bytes:
    return write_csv(x)


def _json_body(x: np.ndarray) -> bytes:
    return json.dumps({"instances": [{"features": row.tolist()} for row in x]}).encode()


def _recordio_body(x: np.ndarray) -> bytes:
    framed = io.BytesIO()
    write_recordio_protobuf(framed, x)
    return framed.getvalue()


def _decode_records(body: bytes) -> list[dict[str, list[float]]]:
    out = []
    for payload in iter_recordio(io.BytesIO(body)):
        record = decode_record(payload)
        assert not record.features
        out.append({key: list(value.float32_tensor.values) for key, value in record.label.items()})
    return out


def _assert_scores(predictions: list[dict[str, Any]], model: Model, x: np.ndarray) -> None:
    expected = model.predict(x)
    got = np.array([p["score"] for p in predictions], dtype=np.float32)
    np.testing.assert_array_equal(got, expected.score)
    if expected.predicted_label is not None and "predicted_label" in predictions[0]:
        labels = [p["predicted_label"] for p in predictions]
        assert all(isinstance(label, int) for label in labels)
        assert labels == [int(v) for v in expected.predicted_label]


# ---------------------------------------------------------------------------------
# Routes


def test_ping_answers_200_with_an_empty_body(servers: dict[str, Served]) -> None:
    for served in servers.values():
        reply = _call(served.port, "/ping")
        assert (reply.status, reply.body) == (200, b"")


def test_execution_parameters(servers: dict[str, Served]) -> None:
    reply = _call(servers["xgb-binary"].port, "/execution-parameters")
    assert reply.status == 200
    assert reply.content_type.startswith("application/json")
    assert reply.json() == {
        "MaxConcurrentTransforms": os.cpu_count(),
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }


# ---------------------------------------------------------------------------------
# Response shapes, each equal to model.predict on the same rows


@pytest.mark.parametrize(
    ("kind", "content_type", "encode"),
    [
        ("ll-binary", "text/csv", _csv_body),
        ("ll-binary", "application/json", _json_body),
        ("ll-binary", RECORDIO, _recordio_body),
        ("ll-multiclass", "text/csv", _csv_body),
        ("ll-regressor", "application/json", _json_body),
        ("fm-binary", "application/json", _json_body),
        ("fm-binary", RECORDIO, _recordio_body),
        ("fm-regressor", "application/json", _json_body),
        ("xgb-binary", "text/csv", _csv_body),
        ("xgb-binary", RECORDIO, _recordio_body),
        ("xgb-softprob", "text/csv", _csv_body),
    ],
)
def test_json_responses_have_aws_shape_and_the_model_s_predictions(
    servers: dict[str, Served], kind: str, content_type: str, encode: Any
) -> None:
    served = servers[kind]
    reply = _call(served.port, "/invocations", encode(ROWS), content_type, "application/json")
    assert reply.status == 200, reply.body
    assert reply.content_type == "application/json"
    body = reply.json()
    assert list(body) == ["predictions"]
    predictions = body["predictions"]
    assert len(predictions) == len(ROWS)
    keys = {
        "ll-binary": ["score", "predicted_label"],
        "ll-multiclass": ["score", "predicted_label"],
        "ll-regressor": ["score"],
        "fm-binary": ["score", "predicted_label"],
        "fm-regressor": ["score"],
        "xgb-binary": ["score"],
        "xgb-softprob": ["score"],
    }[kind]
    assert all(list(p) == keys for p in predictions)
    if kind in ("ll-multiclass", "xgb-softprob"):
        assert all(isinstance(p["score"], list) and len(p["score"]) == 3 for p in predictions)
    else:
        assert all(isinstance(p["score"], float) for p in predictions)
    _assert_scores(predictions, served.model, ROWS)


def test_ll_binary_json_is_what_aws_documents(servers: dict[str, Served]) -> None:
    reply = _call(servers["ll-binary"].port, "/invocations", b"1,2,3,4", "text/csv")
    body = reply.json()  # no Accept: Linear Learner answers JSON
    (only,) = body["predictions"]
    assert isinstance(only["score"], float) and 0 <= only["score"] <= 1
    assert only["predicted_label"] in (0, 1)


def test_jsonlines_drops_the_wrapper(servers: dict[str, Served]) -> None:
    served = servers["ll-multiclass"]
    reply = _call(served.port, "/invocations", _csv_body(ROWS), "text/csv", "application/jsonlines")
    assert reply.status == 200
    assert reply.content_type == "application/jsonlines"
    lines = reply.body.decode().splitlines()
    assert len(lines) == len(ROWS) and reply.body.endswith(b"\n")
    predictions = [json.loads(line) for line in lines]
    assert all(list(p) == ["score", "predicted_label"] for p in predictions)
    _assert_scores(predictions, served.model, ROWS)


def test_jsonlines_request_where_declared_else_415(servers: dict[str, Served]) -> None:
    for kind, served in servers.items():
        name = KINDS[kind][0]
        reply = _call(served.port, "/invocations", write_jsonlines(ROWS), "application/jsonlines")
        if "application/jsonlines" in algorithm(name).inference_content_types:
            assert reply.status == 200
        else:
            assert reply.status == 415, (kind, reply)


@pytest.mark.parametrize("kind", ["ll-binary", "ll-multiclass", "fm-regressor", "xgb-softprob"])
def test_recordio_response_is_one_record_per_row_with_float32_outputs(
    servers: dict[str, Served], kind: str
) -> None:
    served = servers[kind]
    reply = _call(served.port, "/invocations", _recordio_body(ROWS), RECORDIO, RECORDIO)
    assert reply.status == 200
    assert reply.content_type == RECORDIO
    records = _decode_records(reply.body)
    assert len(records) == len(ROWS)
    expected = served.model.predict(ROWS)
    for i, record in enumerate(records):
        np.testing.assert_array_equal(
            np.array(record["score"], np.float32), np.atleast_1d(expected.score[i])
        )
        if kind.startswith("xgb") or expected.predicted_label is None:
            assert set(record) == {"score"}
        else:
            assert record["predicted_label"] == [float(expected.predicted_label[i])]


# ---------------------------------------------------------------------------------
# XGBoost CSV, as its container writes it


def test_xgboost_answers_csv_by_default_joined_by_commas(servers: dict[str, Served]) -> None:
    served = servers["xgb-binary"]
    for accept in (None, "*/*"):
        reply = _call(served.port, "/invocations", _csv_body(ROWS), "text/csv", accept)
        assert reply.status == 200
        assert reply.content_type.startswith("text/csv")
        values = np.array(reply.body.decode().split(","), dtype=np.float32)
        np.testing.assert_array_equal(values, served.model.predict(ROWS).score)


def test_xgboost_softprob_csv_writes_each_row_as_its_container_does(
    servers: dict[str, Served],
) -> None:
    served = servers["xgb-softprob"]
    reply = _call(served.port, "/invocations", _csv_body(ROWS[:2]), "text/csv")
    expected = served.model.predict(ROWS[:2]).score.tolist()
    assert reply.body.decode() == ",".join(map(str, expected))  # "[p0, p1, p2],[...]"


def test_xgboost_csv_under_batch_transform_is_one_line_a_row(serve: Any) -> None:
    served = serve("xgb-binary", {"SAGEMAKER_BATCH": "true"})
    reply = _call(served.port, "/invocations", _csv_body(ROWS), "text/csv")
    lines = reply.body.decode().split("\n")
    assert lines[-1] == "" and len(lines) == len(ROWS) + 1
    np.testing.assert_array_equal(
        np.array(lines[:-1], np.float32), served.model.predict(ROWS).score
    )


def test_xgboost_reads_libsvm(servers: dict[str, Served]) -> None:
    served = servers["xgb-binary"]
    body = "\n".join(
        "0 " + " ".join(f"{j}:{v}" for j, v in enumerate(row.tolist())) for row in ROWS
    ).encode()
    reply = _call(served.port, "/invocations", body, "text/libsvm", "application/json")
    assert reply.status == 200, reply.body
    _assert_scores(reply.json()["predictions"], served.model, ROWS)


def test_xgboost_empty_body_is_204(servers: dict[str, Served]) -> None:
    reply = _call(servers["xgb-binary"].port, "/invocations", b"", "text/csv")
    assert (reply.status, reply.body) == (204, b"")


def test_default_accept_from_the_environment(serve: Any) -> None:
    served = serve("xgb-binary", {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/jsonlines"})
    reply = _call(served.port, "/invocations", _csv_body(ROWS), "text/csv", "*/*")
    assert reply.content_type == "application/jsonlines"
    assert len(reply.body.splitlines()) == len(ROWS)


# ---------------------------------------------------------------------------------
# Errors


def test_unsupported_content_type_is_415(servers: dict[str, Served]) -> None:
    cases = [("fm-binary", "text/csv"), ("ll-binary", "text/libsvm"), ("xgb-binary", "image/png")]
    for kind, content_type in cases:
        reply = _call(servers[kind].port, "/invocations", b"1,2,3,4", content_type)
        assert reply.status == 415, (kind, content_type)
        assert content_type in reply.body.decode()


def test_unsupported_accept_is_406(servers: dict[str, Served]) -> None:
    cases = [("ll-binary", "text/csv"), ("xgb-binary", "text/html")]
    for kind, accept in cases:
        reply = _call(servers[kind].port, "/invocations", b"1,2,3,4", "text/csv", accept)
        assert reply.status == 406, (kind, accept)
        assert "application/json" in reply.body.decode()


def test_an_accept_list_takes_the_first_type_written(servers: dict[str, Served]) -> None:
    reply = _call(
        servers["ll-binary"].port,
        "/invocations",
        b"1,2,3,4",
        "text/csv",
        "text/html, application/jsonlines;q=0.9, */*;q=0.1",
    )
    assert reply.content_type == "application/jsonlines"


def test_unparseable_rows_are_400_naming_row_and_column(servers: dict[str, Served]) -> None:
    reply = _call(servers["ll-binary"].port, "/invocations", b"1,2,3,4\n1,2,x,4", "text/csv")
    assert reply.status == 400
    message = reply.body.decode()
    assert "2" in message and "3" in message and "x" in message, message


def test_rows_of_the_wrong_width_are_400(servers: dict[str, Served]) -> None:
    reply = _call(servers["ll-binary"].port, "/invocations", b"1,2,3", "text/csv")
    assert reply.status == 400
    assert "feature" in reply.body.decode()


def test_xgboost_rows_wider_than_the_model_are_400(servers: dict[str, Served]) -> None:
    reply = _call(servers["xgb-binary"].port, "/invocations", b"1,2,3,4,5,6", "text/csv")
    assert reply.status == 400, reply.body


def test_an_empty_body_is_400_where_not_xgboost(servers: dict[str, Served]) -> None:
    reply = _call(servers["ll-binary"].port, "/invocations", b"", "text/csv")
    assert reply.status == 400


def test_a_body_over_6_mb_is_413(servers: dict[str, Served]) -> None:
    reply = _call(servers["xgb-binary"].port, "/invocations", b"1" * (6 * 2**20 + 1), "text/csv")
    assert reply.status == 413
    assert "6291456" in reply.body.decode()


def test_the_payload_limit_follows_the_environment(serve: Any) -> None:
    served = serve("ll-regressor", {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"})
    row = b"1,2,3,4\n"
    body = row * (2**20 // len(row))
    assert _call(served.port, "/invocations", body, "text/csv").status == 200
    over = body + b"1" * (2**20 - len(body) + 1)
    assert _call(served.port, "/invocations", over, "text/csv").status == 413
    params = _call(served.port, "/execution-parameters").json()
    assert params["MaxPayloadInMB"] == 1


def test_a_model_that_cannot_load_fails_build_app(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="model"):
        build_app(tmp_path, "xgboost", {})


# ---------------------------------------------------------------------------------
# python -m fogbank.ml.hosting.serve


def test_the_serve_module_serves_until_terminated(model_dirs: dict[str, Path]) -> None:
    port = free_port(HOST)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fogbank.ml.hosting.serve",
            "--model-dir",
            str(model_dirs["ll-binary"]),
            "--algorithm",
            "linear-learner",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                if _call(port, "/ping").status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "the server did not answer /ping"
            time.sleep(0.1)
        reply = _call(port, "/invocations", b"1,2,3,4", "text/csv", "application/json")
        assert reply.status == 200
        assert list(reply.json()["predictions"][0]) == ["score", "predicted_label"]
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Finished server process" in output
    assert "linear-learner" in output  # logs went to stdout


def test_the_serve_module_exits_non_zero_when_the_model_cannot_load(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fogbank.ml.hosting.serve",
            "--model-dir",
            str(tmp_path),
            "--algorithm",
            "linear-learner",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "cannot load" in result.stderr and str(tmp_path) in result.stderr


@given(
    st.lists(
        st.floats(width=32, allow_nan=True, allow_infinity=True),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_bulk_json_text_is_what_json_dumps_writes(values: list[float], with_label: bool) -> None:
    """The numpy-formatted rows of a large answer are byte for byte the row-by-row
    json.dumps path's, wherever the bulk path is taken."""
    from fogbank.ml.algorithms.base import Predictions
    from fogbank.ml.hosting import serving

    score = np.asarray(values, dtype=np.float32)
    labels = (score > 0).astype(np.float32) if with_label else None
    predictions = Predictions(score=score, predicted_label=labels)
    texts = serving._row_texts(predictions, with_label)
    rows = serving._rows(predictions, with_label)
    if texts is None:
        assert not np.isfinite(score).all() or np.abs(score).max() >= serving._FAST_TEXT_LIMIT
        return
    assert texts == [json.dumps(row) for row in rows]
