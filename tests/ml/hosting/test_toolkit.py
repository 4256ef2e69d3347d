"""A model served with the user's own inference code (the SageMaker inference toolkit's
handler convention): the example programs of ``programs/`` over a scikit-learn model.

Each test copies a program into its model's ``code/`` directory, as the SageMaker SDK's
repacked model.tar.gz carries it, and calls the app in process over ASGI (starlette's
TestClient needs httpx, which fogbank's environment does not have); one test runs
``python -m fogbank.ml.hosting.serve`` over real HTTP.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import scipy.sparse
from sklearn.linear_model import LogisticRegression
from starlette.applications import Starlette

from fogbank.core.errors import InvalidConfiguration
from fogbank.gateway.server import free_port
from fogbank.ml.hosting.toolkit import build_program_app, resolve_program

from .programs import program_source, scaler_model_tar

HOST = "127.0.0.1"
ROWS = [[0.5, 1.0, -0.2, 2.0], [-1.0, 0.3, 0.8, -0.5], [2.0, -1.5, 0.1, 0.0]]


def _fitted() -> LogisticRegression:
    generator = np.random.default_rng(7)
    features = generator.normal(size=(60, 4))
    labels = (features[:, 0] + features[:, 3] > 0).astype(np.int64)
    return LogisticRegression().fit(features, labels)


MODEL = _fitted()
EXPECTED = MODEL.predict(np.asarray(ROWS, dtype=np.float32)).tolist()


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """Requests to an ASGI app in process, the body sent in 64 KiB chunks as a server
    streams it."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def get(self, path: str) -> Reply:
        return asyncio.run(self._call("GET", path, b"", {}))

    def post(
        self, path: str, content: bytes | str = b"", headers: Mapping[str, str] | None = None
    ) -> Reply:
        body = content.encode() if isinstance(content, str) else content
        return asyncio.run(self._call("POST", path, body, headers or {}))

    async def _call(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        chunk = 64 * 1024
        pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
        messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
            for i, piece in enumerate(pieces)
        ]
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "server": (HOST, 8080),
            "client": (HOST, 50000),
            "headers": [(key.lower().encode(), value.encode()) for key, value in headers.items()],
        }

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        return Reply(
            status_code=start["status"],
            headers={k.decode().lower(): v.decode() for k, v in start["headers"]},
            content=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        )


Build = Callable[..., Client]


def _model_dir(root: Path, program: str, as_name: str = "inference.py") -> Path:
    model_dir = root / "model"
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    joblib.dump(MODEL, model_dir / "model.joblib")
    (model_dir / "code" / as_name).write_bytes(program_source(program))
    return model_dir


@pytest.fixture(autouse=True)
def _isolated_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test's code directories leave sys.path, and their modules sys.modules, after it."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    root = str(tmp_path.resolve())
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(root):
            del sys.modules[name]


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """A client of ``program`` installed as ``code/inference.py`` of a fresh model."""

    def make(program: str, environ: Mapping[str, str] | None = None) -> Client:
        model_dir = _model_dir(tmp_path, program)
        app = build_program_app(model_dir, model_dir / "code", "inference.py", environ or {})
        return Client(app)

    return make


def _csv(rows: list[list[float]]) -> bytes:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode()


def _npy(value: Any) -> bytes:
    out = io.BytesIO()
    np.save(out, np.asarray(value))
    return out.getvalue()


# --- the container contract --------------------------------------------------------------


def test_ping_answers_200_with_an_empty_body_and_execution_parameters_as_builtins(
    build: Build,
) -> None:
    client = build("defaults", {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "3"})
    ping = client.get("/ping")
    assert ping.status_code == 200 and ping.content == b""
    parameters = client.get("/execution-parameters").json()
    assert parameters["BatchStrategy"] == "MULTI_RECORD"
    assert parameters["MaxPayloadInMB"] == 3
    assert parameters["MaxConcurrentTransforms"] >= 1


# --- default handlers --------------------------------------------------------------------


def test_default_handlers_read_json_rows_and_answer_json(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations",
        content=json.dumps(ROWS),
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == EXPECTED


def test_default_handlers_read_one_json_row_as_one_instance(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations", content=json.dumps(ROWS[0]), headers={"content-type": "application/json"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == EXPECTED[:1]


def test_default_handlers_read_csv_and_answer_csv_one_prediction_a_line(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations",
        content=_csv(ROWS),
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert reply.status_code == 200, reply.text
    # Exactly the accept type: no charset parameter added.
    assert reply.headers["content-type"] == "text/csv"
    assert reply.text == "".join(f"{label}\n" for label in EXPECTED)


def test_default_handlers_read_and_write_npy(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations",
        content=_npy(np.asarray(ROWS)),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/x-npy"
    assert np.load(io.BytesIO(reply.content)).tolist() == EXPECTED


def test_default_handlers_read_a_sparse_npz_matrix(build: Build) -> None:
    client = build("defaults")
    out = io.BytesIO()
    scipy.sparse.save_npz(out, scipy.sparse.csr_matrix(np.asarray(ROWS)))
    reply = client.post(
        "/invocations", content=out.getvalue(), headers={"content-type": "application/x-npz"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == EXPECTED


def test_default_output_fn_writes_the_first_accept_type_it_can(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations",
        content=json.dumps(ROWS),
        headers={"content-type": "application/json", "accept": "text/html, text/csv;q=0.9"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv"


def test_a_missing_accept_or_any_is_sagemaker_default_invocations_accept(build: Build) -> None:
    client = build("defaults", {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
    for accept in ("", "*/*"):
        reply = client.post(
            "/invocations",
            content=json.dumps(ROWS),
            headers={"content-type": "application/json", "accept": accept},
        )
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"] == "text/csv"
        assert reply.text.splitlines() == [str(label) for label in EXPECTED]


def test_without_sagemaker_default_invocations_accept_the_default_is_json(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations", content=_csv(ROWS), headers={"content-type": "text/csv", "accept": "*/*"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == EXPECTED


def test_a_missing_content_type_reads_as_json(build: Build) -> None:
    client = build("defaults")
    reply = client.post("/invocations", content=json.dumps(ROWS).encode())
    assert reply.status_code == 200, reply.text
    assert reply.json() == EXPECTED


def test_a_content_type_no_decoder_reads_answers_415(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations", content=b"<rows/>", headers={"content-type": "application/xml"}
    )
    assert reply.status_code == 415
    assert reply.headers["content-type"].startswith("text/plain")
    assert "application/xml" in reply.text and "input_fn" in reply.text


def test_an_accept_no_encoder_writes_answers_406(build: Build) -> None:
    client = build("defaults")
    reply = client.post(
        "/invocations",
        content=json.dumps(ROWS),
        headers={"content-type": "application/json", "accept": "text/html"},
    )
    assert reply.status_code == 406
    assert "text/html" in reply.text and "output_fn" in reply.text


def test_a_body_over_the_payload_limit_answers_413(build: Build) -> None:
    client = build("defaults", {"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"})
    reply = client.post(
        "/invocations", content=b"1" * (1024 * 1024 + 1), headers={"content-type": "text/csv"}
    )
    assert reply.status_code == 413
    assert "payload limit" in reply.text


# --- the user's handlers -----------------------------------------------------------------


def test_custom_handlers_run_in_order_and_a_bare_body_takes_the_accept_type(
    build: Build,
) -> None:
    client = build("custom")
    reply = client.post(
        "/invocations",
        content=json.dumps({"instances": ROWS}),
        headers={
            "content-type": "application/json",
            "accept": "application/vnd.probabilities+json",
            "x-amzn-sagemaker-custom-attributes": "trace=1",
        },
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/vnd.probabilities+json"
    answer = reply.json()
    assert np.allclose(answer["probabilities"], MODEL.predict_proba(np.asarray(ROWS)))
    assert answer["attributes"] == "trace=1"  # predict_fn took the request context


def test_transform_fn_replaces_the_chain_and_its_tuple_sets_the_content_type(
    build: Build,
) -> None:
    client = build("transform")
    body = "".join(" ".join(str(v) for v in row) + "\n" for row in ROWS)
    reply = client.post(
        "/invocations",
        content=body,
        headers={"content-type": "text/plain", "accept": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/x-labels"
    expected = MODEL.predict(np.asarray(ROWS))
    assert reply.text == "".join(f"label={label}\n" for label in expected)


def test_an_exception_in_the_users_code_answers_500_with_its_message(build: Build) -> None:
    client = build("failing")
    reply = client.post("/invocations", content=b"1,2", headers={"content-type": "text/csv"})
    assert reply.status_code == 500
    assert "predict_fn raised ValueError" in reply.text
    assert "feature 'age' is missing" in reply.text


def test_an_error_with_a_status_code_answers_that_status_and_message(build: Build) -> None:
    client = build("failing")
    reply = client.post(
        "/invocations", content=b"x", headers={"content-type": "application/x-refuse"}
    )
    assert reply.status_code == 422
    assert reply.text == "This program refuses application/x-refuse bodies."


def test_a_program_imports_its_sibling_modules(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "sibling")
    (model_dir / "code" / "sibling_features.py").write_bytes(program_source("sibling_features"))
    client = Client(build_program_app(model_dir, model_dir / "code", "inference", {}))
    shifted = (np.asarray(ROWS) + 100.0).tolist()
    reply = client.post(
        "/invocations", content=json.dumps(shifted), headers={"content-type": "application/json"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == EXPECTED


def test_two_programs_of_one_name_from_two_code_dirs_stay_apart(tmp_path: Path) -> None:
    first = _model_dir(tmp_path / "a", "defaults")
    second = _model_dir(tmp_path / "b", "transform")
    one = Client(build_program_app(first, first / "code", "inference.py", {}))
    two = Client(build_program_app(second, second / "code", "inference.py", {}))
    assert one.app.state.program == two.app.state.program == "inference"  # type: ignore[attr-defined]
    csv_reply = one.post("/invocations", content=_csv(ROWS), headers={"content-type": "text/csv"})
    assert csv_reply.json() == EXPECTED
    labels = two.post("/invocations", content="1 2 3 4\n", headers={"content-type": "text/plain"})
    assert labels.headers["content-type"] == "text/x-labels"


# --- building the app --------------------------------------------------------------------


def test_a_failing_model_fn_fails_the_build(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "broken")
    with pytest.raises(FileNotFoundError, match=r"no weights\.bin"):
        build_program_app(model_dir, model_dir / "code", "inference.py", {})


def test_a_program_without_model_fn_fails_the_build(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "defaults")
    (model_dir / "code" / "inference.py").write_text("VERSION = 1\n")
    with pytest.raises(NotImplementedError, match="model_fn"):
        build_program_app(model_dir, model_dir / "code", "inference.py", {})


def test_transform_fn_with_input_fn_is_refused(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "transform")
    with (model_dir / "code" / "inference.py").open("a") as program:
        program.write("\n\ndef input_fn(data, content_type):\n    return data\n")
    with pytest.raises(InvalidConfiguration, match="transform_fn and input_fn"):
        build_program_app(model_dir, model_dir / "code", "inference.py", {})


def test_a_handler_with_the_wrong_parameters_is_refused(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "defaults")
    with (model_dir / "code" / "inference.py").open("a") as program:
        program.write("\n\ndef predict_fn(data):\n    return data\n")
    with pytest.raises(InvalidConfiguration, match="predict_fn takes 1 parameters"):
        build_program_app(model_dir, model_dir / "code", "inference.py", {})


def test_a_program_not_in_the_code_dir_is_refused(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "defaults")
    with pytest.raises(InvalidConfiguration, match=r"no serve\.py in"):
        build_program_app(model_dir, model_dir / "code", "serve.py", {})


def test_requirements_txt_is_not_installed_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_dir = _model_dir(tmp_path, "defaults")
    (model_dir / "code" / "requirements.txt").write_text("lightgbm==4.5.0\n")
    with caplog.at_level(logging.WARNING, logger="fogbank.ml.hosting.toolkit"):
        build_program_app(model_dir, model_dir / "code", "inference.py", {})
    notes = [r.getMessage() for r in caplog.records if "requirements.txt" in r.getMessage()]
    assert len(notes) == 1 and "not installed" in notes[0]


# --- where the code is -------------------------------------------------------------------


def test_resolve_program_defaults_to_code_inference_py(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "defaults")
    assert resolve_program(model_dir, {}) == (model_dir / "code", "inference.py")
    container = {"SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code", "SAGEMAKER_PROGRAM": "x.py"}
    assert resolve_program(model_dir, container) == (model_dir / "code", "x.py")


def test_resolve_program_uses_a_local_submit_directory_as_is(tmp_path: Path) -> None:
    source = tmp_path / "sourcedir"
    environ = {"SAGEMAKER_SUBMIT_DIRECTORY": str(source), "SAGEMAKER_PROGRAM": "serve_me.py"}
    assert resolve_program(tmp_path / "model", environ) == (source, "serve_me.py")
    as_url = {**environ, "SAGEMAKER_SUBMIT_DIRECTORY": f"file://{source}"}
    assert resolve_program(tmp_path / "model", as_url) == (source, "serve_me.py")


def test_resolve_program_is_none_without_user_code(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    assert resolve_program(tmp_path / "model", {}) is None


def test_resolve_program_leaves_s3_submit_directories_to_the_caller(tmp_path: Path) -> None:
    environ = {"SAGEMAKER_SUBMIT_DIRECTORY": "s3://bucket/job/source/sourcedir.tar.gz"}
    with pytest.raises(InvalidConfiguration, match="download and extract"):
        resolve_program(tmp_path, environ)


def test_the_scaler_model_tar_serves_as_the_sdk_packs_it(tmp_path: Path) -> None:
    features = np.random.default_rng(3).normal(loc=5.0, scale=2.0, size=(40, 3))
    with tarfile.open(fileobj=io.BytesIO(scaler_model_tar(features)), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["code/inference.py", "model.joblib"]
        archive.extractall(tmp_path / "model", filter="data")
    located = resolve_program(tmp_path / "model", {})
    assert located is not None
    client = Client(build_program_app(tmp_path / "model", *located, environ={}))
    rows = features[:5]
    reply = client.post(
        "/invocations",
        content=_csv(rows.tolist()),
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/csv"
    scaled = np.loadtxt(io.StringIO(reply.text), delimiter=",", ndmin=2)
    mean, std = features.mean(axis=0), features.std(axis=0)
    assert np.allclose(scaled, (rows - mean) / std)


# --- python -m fogbank.ml.hosting.serve ---------------------------------------------------


def _get(port: int, path: str, body: bytes | None = None, content_type: str = "") -> Any:
    request = urllib.request.Request(f"http://{HOST}:{port}{path}", data=body)
    if content_type:
        request.add_header("Content-Type", content_type)
    return urllib.request.urlopen(request, timeout=10)


@pytest.mark.slow
def test_the_serve_module_serves_a_program_until_terminated(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "defaults", as_name="serve_me.py")
    port = free_port(HOST)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fogbank.ml.hosting.serve",
            "--program",
            "serve_me.py",
            "--code-dir",
            str(model_dir / "code"),
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                if _get(port, "/ping").status == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "the server did not answer /ping"
            time.sleep(0.1)
        reply = _get(port, "/invocations", _csv(ROWS), "text/csv")
        assert reply.status == 200
        assert json.loads(reply.read()) == EXPECTED
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "serve_me.py" in output  # the load line went to stdout


@pytest.mark.slow
def test_the_serve_module_exits_2_when_model_fn_fails(tmp_path: Path) -> None:
    model_dir = _model_dir(tmp_path, "broken")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fogbank.ml.hosting.serve",
            "--program",
            "inference.py",
            "--model-dir",
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot load" in result.stderr and "no weights.bin" in result.stderr
