"""SageMaker hosting: a linear-learner endpoint's latency and requests/s, and batch transform.

One run, one trained model (a real training job in ``fogbank serve``: binary_classifier,
20 features, 20,000 rows; ``--quick``: 5,000), six ways of asking it for predictions,
taking turns in rounds (the order rotates each round):

1. ``floor``: in this process, what the serving app does minus HTTP: parse the CSV body
   (``fogbank.ml.formats.parse_request``), ``model.predict``, encode the JSON answer (the
   app's own encoder when it is importable, else the same format by hand).
2. ``/invocations``: the serving app itself, ``python -m fogbank.ml.hosting.serve`` (the
   process an endpoint's instance runs) on the extracted model, one keep-alive
   ``http.client`` connection.
3. ``Endpoints.invoke`` (information): the same model.tar.gz on an endpoint of a Fogbank
   in this process, ``fb.endpoints.invoke``: the endpoint's own path (lookup, metrics,
   the hop to its worker) without the gateway.
4. ``replayed`` (information): the InvokeEndpoint request boto3 signed for each body, sent
   again and again over one keep-alive connection to ``fogbank serve``: the gateway and
   the endpoint without boto3's per-call cost.
5. ``InvokeEndpoint``: boto3's sagemaker-runtime against ``fogbank serve`` in a child
   process, whose endpoint forwards to its own worker: the full path a user takes.
6. ``mlflow``: ``mlflow models serve --env-manager local -w 1`` of a scikit-learn
   ``LogisticRegression`` fitted on the same rows (``mlflow.sklearn.save_model`` with a
   signature), one keep-alive ``http.client`` connection, ``{"dataframe_split": ...}``
   bodies. mlflow lives in the peers venv (``--peers-python`` or
   ``$FOGBANK_BENCH_PEERS_PYTHON``); when it is missing or does not start, it is
   reported as not measured, with the reason.

Each is asked with 1 row and with 100 rows per request, sequentially from one client
(then, for requests/s only, 1 row from ``--clients`` 4 threads: the serving app, boto3
InvokeEndpoint, mlflow). Latency: p50 and p99 over every timed request of every round;
requests/s: requests over the summed time of the round's batch, median over rounds;
ratios: median over rounds of the paired per-round ratio. Goals (the hosting issue): p50
overhead over the floor <= 1 ms (for ``/invocations`` and for boto3 InvokeEndpoint); the
serving app's requests/s >= 3x mlflow's (judged where both sides have a bare HTTP client;
InvokeEndpoint's ratio is shown too, its client being boto3, signing every request).

Batch transform: 200,000 rows (``--quick``: 20,000) of 20 features as headerless CSV in
4 objects, one CreateTransformJob (SplitType Line, BatchStrategy MultiRecord,
MaxPayloadInMB 6, Accept application/jsonlines, one instance; MaxConcurrentTransforms as
the container proposes), timed from CreateTransformJob to DescribeTransformJob saying
Completed (polled every 20 ms), its output lines counted. A 10-row job before and after
it gives the fixed cost (the faster of the two). Against it: this process reading the
same 4 CSV files with pyarrow and ``model.predict`` on them. Goal: rows/s >= 0.7x.

    python -m benchmarks serving [--quick] [--rounds N] [--clients N] [--no-transform]
        [--peers-python PY] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import http.client
import io
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.config import Config
from rich.markup import escape
from rich.table import Table

import fogbank
from benchmarks.common import console as wide_console
from benchmarks.common import parser, write_results
from benchmarks.servers import HOST, PEERS_PYTHON_ENV, ServerProcess, find_peer
from fogbank.gateway.server import free_port

BUCKET = "bench"
ROLE = "arn:aws:iam::000000000000:role/bench"
REGION = "us-east-1"
FEATURES = 20
TRAIN_ROWS = 20_000
TRANSFORM_OBJECTS = 4
JOB_TIMEOUT = 600.0
FOGBANK_CLI = "from fogbank.cli import main; main()"
OVERHEAD_GOAL_MS = 1.0
MLFLOW_GOAL = 3.0
TRANSFORM_GOAL = 0.7
FLOOR, DIRECT, INPROC, REPLAY, ENDPOINT, MLFLOW = (
    "floor",
    "/invocations",
    "Endpoints.invoke",
    "replayed",
    "InvokeEndpoint",
    "mlflow",
)
PATHS = (FLOOR, DIRECT, INPROC, REPLAY, ENDPOINT, MLFLOW)
INFORMATION = (INPROC, REPLAY)  # paths that split the full path's cost: no goal

# The peers venv's side: fit LogisticRegression on the same CSV and save it for mlflow.
MLFLOW_SAVE = """\
import sys, warnings
import numpy as np, pandas as pd
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
warnings.filterwarnings("ignore")
data = np.loadtxt(sys.argv[1], delimiter=",", dtype=np.float32)
x = pd.DataFrame(data[:, 1:], columns=[f"f{j}" for j in range(data.shape[1] - 1)])
model = LogisticRegression(max_iter=1000).fit(x, data[:, 0])
signature = infer_signature(x.head(5), model.predict(x.head(5)))
mlflow.sklearn.save_model(model, sys.argv[2], signature=signature)
"""


# ---------------------------------------------------------------------------- servers


class GatewayServer(ServerProcess):
    """``fogbank serve`` in a child process."""

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        s3 = client(self.endpoint_url, "s3", read_timeout=5)
        return s3.list_buckets, "ListBuckets"


class PingServer(ServerProcess):
    """A model server with SageMaker's (and mlflow's) ``GET /ping``."""

    def ready_probe(self) -> tuple[Callable[[], object], str]:
        def ping() -> None:
            connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                connection.request("GET", "/ping")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"/ping answered {response.status}")
            finally:
                connection.close()

        return ping, "GET /ping"


def client(endpoint_url: str, service: str, *, read_timeout: float = 120) -> Any:
    """A boto3 client as a user makes one; no retries, so that an error shows."""
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    ).client(
        service,
        endpoint_url=endpoint_url,
        config=Config(
            retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=read_timeout
        ),
    )


def gateway_server(scratch: Path) -> GatewayServer:
    port = free_port(HOST)
    home = scratch / "home"
    script = Path(sys.executable).parent / "fogbank"
    cli = [str(script)] if script.exists() else [sys.executable, "-c", FOGBANK_CLI]
    return GatewayServer(
        "fogbank serve",
        argv=[*cli, "--home", str(home), "serve", "--host", HOST, "--port", str(port)],
        env={"FOGBANK_LIMITS": "false", "FOGBANK_HOME": str(home)},
        version=fogbank.__version__,
        port=port,
        cwd=scratch,
    )


def worker_server(model_dir: Path) -> PingServer:
    port = free_port(HOST)
    argv = [sys.executable, "-m", "fogbank.ml.hosting.serve", "--model-dir", str(model_dir)]
    argv += ["--algorithm", "linear-learner", "--port", str(port), "--host", HOST]
    return PingServer("worker", argv=argv, version=fogbank.__version__, port=port)


@dataclass
class Mlflow:
    """mlflow's scoring server, or why it is not measured."""

    server: PingServer | None = None
    version: str = ""
    python: str = ""
    problem: str | None = None


def mlflow_server(scratch: Path, train_csv: Path, peers_python: str | None) -> Mlflow:
    """Fit and save the scikit-learn model in the peers venv, then start its server."""
    found = find_peer("mlflow.sklearn, sklearn", "mlflow", peers_python)
    if found is None:
        return Mlflow(
            problem="not installed: python -m venv .venv-peers && .venv-peers/bin/pip "
            f"install mlflow scikit-learn, then --peers-python or ${PEERS_PYTHON_ENV}"
        )
    python, version = found
    made = Mlflow(python=python, version=version)
    model_dir = scratch / "mlflow-model"
    env = {**os.environ, "MLFLOW_TRACKING_URI": (scratch / "mlruns").as_uri()}
    done = subprocess.run(
        [python, "-c", MLFLOW_SAVE, str(train_csv), str(model_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
        cwd=scratch,
    )
    if done.returncode != 0:
        made.problem = f"fitting or saving the model failed: {done.stderr.strip()[-400:]}"
        return made
    port = free_port(HOST)
    bin_dir = str(Path(python).parent)
    made.server = PingServer(
        "mlflow",
        argv=[python, "-m", "mlflow", "models", "serve", "-m", str(model_dir)],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # its `uvicorn`
            "MLFLOW_TRACKING_URI": env["MLFLOW_TRACKING_URI"],
        },
        version=version,
        port=port,
        cwd=scratch,
        new_session=True,  # it runs uvicorn as a child: stop the whole group
    )
    made.server.argv += ["--env-manager", "local", "-h", HOST, "-p", str(port), "-w", "1"]
    return made


# ---------------------------------------------------------------------------- data


def linear_data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features, labels from a logistic model."""
    weights = np.random.default_rng(1234).standard_normal(FEATURES) * (2.0 / math.sqrt(FEATURES))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, FEATURES), dtype=np.float32)
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(x @ weights - 0.3)))).astype(np.float32)
    return x, y


def csv_bytes(x: np.ndarray, y: np.ndarray | None = None) -> bytes:
    """Headerless CSV (label first when given), float32 in shortest round-trip form."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = [] if y is None else [pa.array(y)]
    columns += [pa.array(np.ascontiguousarray(x[:, j])) for j in range(x.shape[1])]
    names = [f"c{j}" for j in range(len(columns))]
    out = io.BytesIO()
    pacsv.write_csv(
        pa.Table.from_arrays(columns, names=names),
        out,
        write_options=pacsv.WriteOptions(include_header=False),
    )
    return out.getvalue()


def mlflow_body(x: np.ndarray) -> bytes:
    columns = [f"f{j}" for j in range(x.shape[1])]
    return json.dumps({"dataframe_split": {"columns": columns, "data": x.tolist()}}).encode()


# ---------------------------------------------------------------------------- fogbank setup


def wait_for(describe: Callable[[], str], busy: tuple[str, ...], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = describe()
        if status not in busy or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def train(sagemaker: Any, s3: Any, train_csv: bytes, scratch: Path) -> tuple[Path, bytes]:
    """A linear-learner training job on the rows; its model.tar.gz, and that extracted
    under ``scratch``."""
    from fogbank.ml.training.images import image_uri

    s3.put_object(Bucket=BUCKET, Key="train/part-0.csv", Body=train_csv)
    sagemaker.create_training_job(
        TrainingJobName="ll",
        RoleArn=ROLE,
        AlgorithmSpecification={
            "TrainingImage": image_uri("linear-learner", REGION),
            "TrainingInputMode": "File",
        },
        HyperParameters={
            "feature_dim": str(FEATURES),
            "predictor_type": "binary_classifier",
            "epochs": "5",
            "mini_batch_size": "500",
        },
        InputDataConfig=[
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        StoppingCondition={"MaxRuntimeInSeconds": int(JOB_TIMEOUT)},
    )

    def status() -> str:
        return str(sagemaker.describe_training_job(TrainingJobName="ll")["TrainingJobStatus"])

    if (done := wait_for(status, ("InProgress", "Stopping"), JOB_TIMEOUT)) != "Completed":
        reason = sagemaker.describe_training_job(TrainingJobName="ll").get("FailureReason")
        raise RuntimeError(f"the training job ended {done}: {reason}")
    url = sagemaker.describe_training_job(TrainingJobName="ll")["ModelArtifacts"][
        "S3ModelArtifacts"
    ]
    bucket, key = url.removeprefix("s3://").split("/", 1)
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    model_dir = scratch / "ll-model"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    return model_dir, archive


def deploy(sagemaker: Any) -> None:
    from fogbank.ml.training.images import image_uri

    data = sagemaker.describe_training_job(TrainingJobName="ll")["ModelArtifacts"]
    sagemaker.create_model(
        ModelName="ll",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": image_uri("linear-learner", REGION),
            "ModelDataUrl": data["S3ModelArtifacts"],
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="ll",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "ll",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="ll", EndpointConfigName="ll")

    def status() -> str:
        return str(sagemaker.describe_endpoint(EndpointName="ll")["EndpointStatus"])

    if (done := wait_for(status, ("Creating",), 300)) != "InService":
        reason = sagemaker.describe_endpoint(EndpointName="ll").get("FailureReason")
        raise RuntimeError(f"the endpoint is {done}: {reason}")


@contextlib.contextmanager
def inprocess_endpoint(
    scratch: Path, archive: bytes
) -> Iterator[tuple[Callable[[bytes], bytes] | None, str | None]]:
    """The same model.tar.gz deployed by a Fogbank in this process: ``Endpoints.invoke``
    without the gateway (its worker is a process of its own, as behind ``fogbank serve``)."""
    from fogbank import Fogbank, FogbankConfig
    from fogbank.ml.training.images import image_uri

    try:
        fb = Fogbank(FogbankConfig.load(home=scratch / "inprocess-home", environ={}))
    except Exception as error:
        yield None, f"{type(error).__name__}: {error}"
        return
    try:
        fb.lake.create_bucket(BUCKET)
        fb.lake.write(f"s3://{BUCKET}/model.tar.gz", archive)
        container = {
            "Image": image_uri("linear-learner", REGION),
            "ModelDataUrl": f"s3://{BUCKET}/model.tar.gz",
        }
        fb.hosting.create_model(
            {"ModelName": "ll", "ExecutionRoleArn": ROLE, "PrimaryContainer": container}
        )
        fb.hosting.create_endpoint_config(
            {
                "EndpointConfigName": "ll",
                "ProductionVariants": [
                    {"VariantName": "AllTraffic", "ModelName": "ll", "InitialInstanceCount": 1}
                ],
            }
        )
        fb.endpoints.create_endpoint("ll", "ll", {})
        status = wait_for(
            lambda: str(fb.endpoints.describe_endpoint("ll").status), ("Creating",), 300
        )
        if status != "InService":
            yield None, f"the in-process endpoint is {status}"
            return

        def call(body: bytes) -> bytes:
            answer = fb.endpoints.invoke(
                "ll", body, content_type="text/csv", accept="application/json"
            )
            return bytes(answer.body)

        yield call, None
    finally:
        fb.close()


# ---------------------------------------------------------------------------- latency


def floor_call(model_dir: Path) -> tuple[Callable[[bytes], bytes], str]:
    """In process: parse the CSV body, predict, encode JSON, as the serving app does."""
    from fogbank.ml.algorithms import algorithm
    from fogbank.ml.formats import parse_content_type, parse_request
    from fogbank.ml.hosting import serving

    model = algorithm("linear-learner").load(model_dir)
    csv = parse_content_type("text/csv")
    encode: Callable[[Any], bytes]
    service_class = getattr(serving, "_Service", None)
    app_encode = getattr(serving, "_encode", None)
    if service_class is not None and app_encode is not None:
        service = service_class("linear-learner", model, ("text/csv",))

        def encode(predictions: Any) -> bytes:
            return bytes(app_encode(service, predictions, "application/json", False))

        how = "parse_request + predict + the app's _encode (JSON)"
    else:

        def encode(predictions: Any) -> bytes:
            scores = np.asarray(predictions.score, dtype=np.float32).ravel().tolist()
            labels = np.asarray(predictions.predicted_label).ravel().tolist()
            rows = [
                {"score": s, "predicted_label": int(v)} for s, v in zip(scores, labels, strict=True)
            ]
            return json.dumps({"predictions": rows}).encode()

        how = "parse_request + predict + json.dumps (the app's encoder not found)"

    def call(body: bytes) -> bytes:
        return encode(model.predict(parse_request(body, csv)))

    return call, how


def http_call(port: int, headers: dict[str, str]) -> Callable[[bytes], bytes]:
    """POST /invocations on one keep-alive connection (reopened if the server closes it)."""
    return http_post(port, "/invocations", headers)


def http_post(port: int, target: str, headers: dict[str, str]) -> Callable[[bytes], bytes]:
    """POST ``target`` on a keep-alive connection of its own (one caller at a time)."""
    state: dict[int, http.client.HTTPConnection] = {}

    def call(body: bytes) -> bytes:
        connection = state.get(port)
        if connection is None:
            connection = state[port] = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
        except (http.client.HTTPException, OSError):
            state.pop(port).close()
            raise
        if response.status != 200:
            raise RuntimeError(f"POST {target} answered {response.status}: {answer[:300]!r}")
        if response.will_close:
            state.pop(port).close()
        return answer

    return call


def endpoint_call(runtime: Any) -> Callable[[bytes], bytes]:
    def call(body: bytes) -> bytes:
        reply = runtime.invoke_endpoint(
            EndpointName="ll", Body=body, ContentType="text/csv", Accept="application/json"
        )
        return bytes(reply["Body"].read())

    return call


def replay_call(runtime: Any, port: int) -> Callable[[bytes], bytes]:
    """InvokeEndpoint without boto3's per-call cost: the request boto3 signs for a body
    (captured once per body from its ``before-send`` event) sent again and again over one
    keep-alive connection to ``fogbank serve``; what is left is the gateway and the hop
    to the endpoint's worker."""
    captured: dict[bytes, tuple[str, dict[str, str]]] = {}

    def capture(request: Any, **_: Any) -> None:
        body = request.body if isinstance(request.body, bytes) else bytes(request.body or b"")
        path = request.url.split("://", 1)[-1].split("/", 1)[-1]
        headers = {
            k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
        }
        captured[body] = ("/" + path, headers)

    runtime.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", capture)
    posts: dict[bytes, Callable[[bytes], bytes]] = {}

    def call(body: bytes) -> bytes:
        post = posts.get(body)
        if post is None:
            endpoint_call(runtime)(body)  # signs and sends it once; the hook keeps it
            path, headers = captured[body]
            post = posts[body] = http_post(port, path, headers)
        return post(body)

    return call


def count_predictions(answer: bytes) -> int:
    """Both fogbank's JSON and mlflow's hold a ``predictions`` list, one item a row."""
    return len(json.loads(answer)["predictions"])


@dataclass
class LatencyResult:
    rows: int
    requests_per_round: int
    rounds: int
    p50_ms: dict[str, float | None] = field(default_factory=dict)
    p99_ms: dict[str, float | None] = field(default_factory=dict)
    rps: dict[str, float | None] = field(default_factory=dict)
    overhead_ms: dict[str, float | None] = field(default_factory=dict)  # p50 - floor's p50
    vs_mlflow: dict[str, float | None] = field(default_factory=dict)  # paired req/s ratio
    vs_mlflow_range: dict[str, list[float]] = field(default_factory=dict)
    per_round_rps: list[dict[str, float]] = field(default_factory=list)


def run_latency(
    rows: int,
    calls: dict[str, Callable[[bytes], bytes]],
    bodies: dict[str, bytes],
    requests: int,
    rounds: int,
    problems: dict[str, str],
) -> LatencyResult:
    """Warm each path up, then ``rounds`` rotated rounds of ``requests`` sequential calls."""
    result = LatencyResult(rows, requests, rounds)
    live = [p for p in PATHS if p in calls and p not in problems]
    for path in list(live):
        try:
            for _ in range(max(20, requests // 10)):
                answer = calls[path](bodies[path])
            got = count_predictions(answer)
            if got != rows:
                raise RuntimeError(f"{got} predictions for {rows} rows")
        except Exception as error:
            problems[path] = f"{rows} rows, warm-up: {type(error).__name__}: {error}"
            live.remove(path)
    samples: dict[str, list[float]] = {p: [] for p in live}
    for number in range(rounds):
        shift = number % max(1, len(live))
        order = live[shift:] + live[:shift]
        rates: dict[str, float] = {}
        for path in order:
            if path in problems:
                continue
            call, body = calls[path], bodies[path]
            times = []
            gc.collect()
            try:
                for _ in range(requests):
                    started = time.perf_counter()
                    call(body)
                    times.append(time.perf_counter() - started)
            except Exception as error:
                problems[path] = f"{rows} rows, round {number}: {type(error).__name__}: {error}"
                continue
            samples[path] += times
            rates[path] = requests / sum(times)
        result.per_round_rps.append(rates)
    floor_p50 = None
    for path in PATHS:
        values = samples.get(path) or []
        if path in problems or not values:
            result.p50_ms[path] = result.p99_ms[path] = result.rps[path] = None
            continue
        ordered = np.sort(np.asarray(values)) * 1000
        result.p50_ms[path] = float(np.percentile(ordered, 50))
        result.p99_ms[path] = float(np.percentile(ordered, 99))
        result.rps[path] = statistics.median(r[path] for r in result.per_round_rps if path in r)
        if path == FLOOR:
            floor_p50 = result.p50_ms[path]
    for path in (DIRECT, INPROC, REPLAY, ENDPOINT, MLFLOW):
        p50 = result.p50_ms.get(path)
        result.overhead_ms[path] = None if p50 is None or floor_p50 is None else p50 - floor_p50
    for path in (DIRECT, INPROC, REPLAY, ENDPOINT):
        paired = [r[path] / r[MLFLOW] for r in result.per_round_rps if path in r and MLFLOW in r]
        if paired and path not in problems and MLFLOW not in problems:
            result.vs_mlflow[path] = statistics.median(paired)
            result.vs_mlflow_range[path] = [min(paired), max(paired)]
        else:
            result.vs_mlflow[path] = None
    return result


@dataclass
class ConcurrentResult:
    clients: int
    rows: int
    requests_per_client: int
    rounds: int
    rps: dict[str, float | None] = field(default_factory=dict)
    vs_mlflow: dict[str, float | None] = field(default_factory=dict)
    vs_mlflow_range: dict[str, list[float]] = field(default_factory=dict)
    per_round_rps: list[dict[str, float]] = field(default_factory=list)


def run_concurrent(
    makers: dict[str, Callable[[], Callable[[bytes], bytes]]],
    bodies: dict[str, bytes],
    clients: int,
    requests: int,
    rounds: int,
    problems: dict[str, str],
) -> ConcurrentResult:
    """``clients`` threads, each with its own connection (or boto3 client), ``requests``
    calls each; requests/s over the wall time, rotated rounds as above."""
    result = ConcurrentResult(clients, bodies[DIRECT].count(b"\n"), requests, rounds)
    live = [p for p in makers if p not in problems]
    callers = {p: [makers[p]() for _ in range(clients)] for p in live}
    with ThreadPoolExecutor(max_workers=clients) as pool:

        def batch(path: str, count: int) -> float:
            def one(call: Callable[[bytes], bytes]) -> None:
                for _ in range(count):
                    call(bodies[path])

            gc.collect()
            started = time.perf_counter()
            for future in [pool.submit(one, call) for call in callers[path]]:
                future.result()
            return time.perf_counter() - started

        for path in list(live):
            try:
                batch(path, max(5, requests // 10))  # warm-up: connections, caches
            except Exception as error:
                problems[f"{path}, {clients} clients"] = f"{type(error).__name__}: {error}"
                live.remove(path)
        for number in range(rounds):
            shift = number % max(1, len(live))
            rates: dict[str, float] = {}
            for path in live[shift:] + live[:shift]:
                try:
                    rates[path] = clients * requests / batch(path, requests)
                except Exception as error:
                    problems[f"{path}, {clients} clients"] = f"{type(error).__name__}: {error}"
            result.per_round_rps.append(rates)
    for path in makers:
        values = [r[path] for r in result.per_round_rps if path in r]
        result.rps[path] = statistics.median(values) if values else None
    for path in makers:
        if path == MLFLOW:
            continue
        paired = [r[path] / r[MLFLOW] for r in result.per_round_rps if path in r and MLFLOW in r]
        result.vs_mlflow[path] = statistics.median(paired) if paired else None
        if paired:
            result.vs_mlflow_range[path] = [min(paired), max(paired)]
    return result


# ---------------------------------------------------------------------------- transform


@dataclass
class TransformResult:
    rows: int
    objects: int
    megabytes: float
    tiny_seconds: float | None = None
    job_seconds: float | None = None
    job_rows_per_s: float | None = None
    rows_per_s_after_startup: float | None = None
    output_lines: int | None = None
    inprocess_seconds: float | None = None
    inprocess_rows_per_s: float | None = None
    predict_only_seconds: float | None = None
    ratio: float | None = None
    problem: str | None = None


def transform_job(sagemaker: Any, name: str, prefix: str) -> float:
    """Seconds from CreateTransformJob until DescribeTransformJob says Completed."""
    started = time.perf_counter()
    sagemaker.create_transform_job(
        TransformJobName=name,
        ModelName="ll",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=6,
        TransformInput={
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/in/"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={
            "S3OutputPath": f"s3://{BUCKET}/{prefix}/out/",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )

    def status() -> str:
        return str(sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"])

    done = wait_for(status, ("InProgress", "Stopping"), JOB_TIMEOUT)
    seconds = time.perf_counter() - started
    if done != "Completed":
        reason = sagemaker.describe_transform_job(TransformJobName=name).get("FailureReason")
        raise RuntimeError(f"transform job {name} ended {done}: {reason}")
    return seconds


def output_lines(s3: Any, prefix: str) -> int:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/out/").get("Contents", [])
    total = 0
    for item in listed:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        total += sum(1 for line in body.splitlines() if line.strip())
    return total


def inprocess_transform(files: list[Path], model_dir: Path, repeats: int) -> tuple[float, float]:
    """Median seconds of (pyarrow reads the CSV files + predict), and of predict alone."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from fogbank.ml.algorithms import algorithm

    model = algorithm("linear-learner").load(model_dir)
    read = pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24)
    convert = pacsv.ConvertOptions(column_types={f"f{j}": pa.float32() for j in range(FEATURES)})

    def features(path: Path) -> np.ndarray:
        table = pacsv.read_csv(str(path), read_options=read, convert_options=convert)
        matrix = np.empty((table.num_rows, table.num_columns), np.float32)
        for j, column in enumerate(table.columns):
            matrix[:, j] = column.to_numpy()
        return matrix

    totals, predicts = [], []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        spent = 0.0
        for path in files:
            matrix = features(path)
            begun = time.perf_counter()
            model.predict(matrix)
            spent += time.perf_counter() - begun
        totals.append(time.perf_counter() - started)
        predicts.append(spent)
    return statistics.median(totals), statistics.median(predicts)


def run_transform(
    sagemaker: Any, s3: Any, model_dir: Path, scratch: Path, rows: int
) -> TransformResult:
    x, _ = linear_data(rows, seed=99)
    parts = np.array_split(x, TRANSFORM_OBJECTS)
    files = []
    size = 0
    for index, part in enumerate(parts):
        body = csv_bytes(part)
        size += len(body)
        path = scratch / f"transform-{index}.csv"
        path.write_bytes(body)
        files.append(path)
        s3.put_object(Bucket=BUCKET, Key=f"big/in/part-{index}.csv", Body=body)
    s3.put_object(Bucket=BUCKET, Key="tiny/in/part-0.csv", Body=csv_bytes(x[:10]))
    result = TransformResult(rows, TRANSFORM_OBJECTS, size / 1e6)
    try:
        # The 10-row job twice, before and after (the first job of a run pays for cold
        # caches): the fixed cost is the faster of the two.
        first = transform_job(sagemaker, "tiny-1", "tiny")
        result.job_seconds = transform_job(sagemaker, "big", "big")
        result.tiny_seconds = min(first, transform_job(sagemaker, "tiny-2", "tiny"))
        result.output_lines = output_lines(s3, "big")
        if result.output_lines != rows:
            raise RuntimeError(f"the job wrote {result.output_lines} lines for {rows} rows")
    except Exception as error:
        result.problem = f"{type(error).__name__}: {error}"
    result.inprocess_seconds, result.predict_only_seconds = inprocess_transform(files, model_dir, 3)
    result.inprocess_rows_per_s = rows / result.inprocess_seconds
    if result.job_seconds is not None and result.problem is None:
        result.job_rows_per_s = rows / result.job_seconds
        result.ratio = result.job_rows_per_s / result.inprocess_rows_per_s
        if result.tiny_seconds is not None and result.job_seconds > result.tiny_seconds:
            result.rows_per_s_after_startup = rows / (result.job_seconds - result.tiny_seconds)
    return result


# ---------------------------------------------------------------------------- reporting


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _met(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]MISSED[/red]"


def render_latency(
    results: list[LatencyResult], problems: dict[str, str], labels: dict[str, str], title: str
) -> Table:
    caption = [f"{labels.get(p, p)} not measured: {escape(why)}" for p, why in problems.items()]
    table = Table(title=title, caption="\n".join(caption) or None, caption_justify="left")
    for column in ("path", "rows/req", "p50 ms", "p99 ms", "req/s", "p50 over floor ms"):
        if column == "path":
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, justify="right")
    table.add_column("req/s vs mlflow", justify="right")
    table.add_column("goals", no_wrap=True)
    for result in results:
        for path in PATHS:
            overhead = result.overhead_ms.get(path)
            ratio = result.vs_mlflow.get(path)
            goals: list[str] = []
            if path in (DIRECT, ENDPOINT) and overhead is not None:
                goals.append(f"<= {OVERHEAD_GOAL_MS:.0f} ms {_met(overhead <= OVERHEAD_GOAL_MS)}")
            ratio_cell = "" if path in (FLOOR, MLFLOW) else "n/a"
            if ratio is not None:
                low, high = result.vs_mlflow_range[path]
                ratio_cell = f"{ratio:.2f} [dim]{low:.1f}-{high:.1f}[/dim]"
                if path == DIRECT:
                    goals.append(f">= {MLFLOW_GOAL:.0f}x {_met(ratio >= MLFLOW_GOAL)}")
            table.add_row(
                labels.get(path, path),
                str(result.rows),
                _ms(result.p50_ms.get(path)),
                _ms(result.p99_ms.get(path)),
                _rate(result.rps.get(path)),
                "" if path == FLOOR else _ms(overhead),
                ratio_cell,
                ", ".join(goals),
            )
        table.add_section()
    return table


def render_concurrent(result: ConcurrentResult, labels: dict[str, str], title: str) -> Table:
    table = Table(title=title)
    table.add_column("path", no_wrap=True)
    table.add_column("req/s", justify="right")
    table.add_column("req/s vs mlflow", justify="right")
    table.add_column("goals", no_wrap=True)
    for path, rate in result.rps.items():
        ratio = result.vs_mlflow.get(path)
        cell, goal = "", ""
        if ratio is not None:
            low, high = result.vs_mlflow_range[path]
            cell = f"{ratio:.2f} [dim]{low:.1f}-{high:.1f}[/dim]"
            if path == DIRECT:
                goal = f">= {MLFLOW_GOAL:.0f}x {_met(ratio >= MLFLOW_GOAL)}"
        table.add_row(labels.get(path, path), _rate(rate), cell, goal)
    return table


def render_transform(result: TransformResult, title: str) -> Table:
    table = Table(title=title, caption=result.problem and escape(result.problem))
    for column in ("side", "seconds", "rows/s", "note"):
        table.add_column(column, justify="left" if column in ("side", "note") else "right")
    table.add_row(
        "in process: pyarrow reads the CSV + predict",
        _seconds(result.inprocess_seconds),
        _rate(result.inprocess_rows_per_s),
        f"of which predict {_seconds(result.predict_only_seconds)} s",
    )
    table.add_row(
        "transform job, 10 rows (the fixed cost)",
        _seconds(result.tiny_seconds),
        "",
        "the faster of two, before and after",
    )
    ratio = result.ratio
    verdict = (
        ""
        if ratio is None
        else f"{ratio:.2f}x, >= {TRANSFORM_GOAL}x {_met(ratio >= TRANSFORM_GOAL)}"
    )
    table.add_row(
        f"transform job, {result.rows:,} rows",
        _seconds(result.job_seconds),
        _rate(result.job_rows_per_s),
        verdict,
    )
    after = result.rows_per_s_after_startup
    if after is not None and result.inprocess_rows_per_s:
        table.add_row(
            "  less the 10-row job's time",
            _seconds(
                None
                if result.job_seconds is None or result.tiny_seconds is None
                else result.job_seconds - result.tiny_seconds
            ),
            _rate(after),
            f"{after / result.inprocess_rows_per_s:.2f}x (information)",
        )
    return table


# ---------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    made = parser(
        "serving",
        "A linear-learner endpoint's latency and req/s vs in-process predict and mlflow; "
        "batch transform rows/s.",
        "rotated rounds of requests per case",
    )
    made.add_argument(
        "--peers-python",
        default=None,
        help=f"an interpreter with mlflow and scikit-learn installed (also ${PEERS_PYTHON_ENV})",
    )
    made.add_argument("--no-transform", action="store_true", help="leave batch transform out")
    made.add_argument(
        "--clients",
        type=int,
        default=4,
        help="concurrent clients for the requests/s table at 1 row (default 4; 0: leave out)",
    )
    return made


@contextlib.contextmanager
def stopping(servers: list[ServerProcess]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
    per_round = {1: 80, 100: 40} if args.quick else {1: 400, 100: 200}
    transform_rows = 20_000 if args.quick else 200_000
    console = wide_console(160)
    started = time.perf_counter()
    problems: dict[str, str] = {}
    latency: list[LatencyResult] = []
    transform: TransformResult | None = None
    concurrent: ConcurrentResult | None = None
    versions: dict[str, str] = {"fogbank": fogbank.__version__}
    floor_how = ""
    with tempfile.TemporaryDirectory(prefix="fogbank-bench-serving-", dir=args.dir) as tmp:
        scratch = Path(tmp)
        x, y = linear_data(TRAIN_ROWS // 4 if args.quick else TRAIN_ROWS, seed=7)
        train_body = csv_bytes(x, y)
        train_csv = scratch / "train.csv"
        train_csv.write_bytes(train_body)
        gateway = gateway_server(scratch)
        servers: list[ServerProcess] = [gateway]
        with stopping(servers):
            # mlflow's side (fit, save, start its server) runs beside fogbank's setup.
            with ThreadPoolExecutor(max_workers=1) as pool:
                peer_future = pool.submit(mlflow_server, scratch, train_csv, args.peers_python)
                status = "fogbank serve, a linear-learner training job, an endpoint; mlflow"
                with console.status(status):
                    gateway.start(scratch)
                    gateway.wait_ready()
                    if not gateway.ok:
                        raise RuntimeError(f"fogbank serve did not start: {gateway.problem}")
                    sagemaker = client(gateway.endpoint_url, "sagemaker")
                    runtime = client(gateway.endpoint_url, "sagemaker-runtime")
                    s3 = client(gateway.endpoint_url, "s3")
                    s3.create_bucket(Bucket=BUCKET)
                    model_dir, archive = train(sagemaker, s3, train_body, scratch)
                    worker = worker_server(model_dir)
                    servers.append(worker)
                    worker.start(scratch)
                    deploy(sagemaker)
                    peer = peer_future.result()
                    if peer.server is not None:
                        servers.append(peer.server)
                        peer.server.start(scratch)
                        peer.server.wait_ready()
                        if not peer.server.ok:
                            peer.problem = peer.server.problem
                    worker.wait_ready()
                    if not worker.ok:
                        raise RuntimeError(f"the serving app did not start: {worker.problem}")
            if peer.problem is not None:
                problems[MLFLOW] = peer.problem
            else:
                versions["mlflow"] = peer.version
            floor, floor_how = floor_call(model_dir)
            csv_headers = {"Content-Type": "text/csv", "Accept": "application/json"}
            calls: dict[str, Callable[[bytes], bytes]] = {
                FLOOR: floor,
                DIRECT: http_call(worker.port, csv_headers),
                ENDPOINT: endpoint_call(runtime),
                REPLAY: replay_call(
                    client(gateway.endpoint_url, "sagemaker-runtime"), gateway.port
                ),
            }
            if peer.server is not None and peer.problem is None:
                calls[MLFLOW] = http_call(peer.server.port, {"Content-Type": "application/json"})
            request_x, _ = linear_data(100, seed=3)
            with (
                console.status("the same model on an endpoint of a Fogbank in this process"),
                inprocess_endpoint(scratch, archive) as (inproc, why),
            ):
                if inproc is None:
                    problems[INPROC] = why or "did not start"
                else:
                    calls[INPROC] = inproc
                gc.collect()
                gc.freeze()  # clients, models, botocore's caches: out of the timed collections
                try:
                    for rows, requests in per_round.items():
                        chosen = request_x[:rows]
                        csv = csv_bytes(chosen)
                        bodies = dict.fromkeys(PATHS, csv)
                        bodies[MLFLOW] = mlflow_body(chosen)
                        label = f"{rows} row(s) a request: {rounds} rounds x {requests} per path"
                        with console.status(label):
                            latency.append(
                                run_latency(rows, calls, bodies, requests, rounds, problems)
                            )
                finally:
                    gc.unfreeze()
            if args.clients > 0:
                makers: dict[str, Callable[[], Callable[[bytes], bytes]]] = {
                    DIRECT: lambda: http_call(worker.port, csv_headers),
                    ENDPOINT: lambda: endpoint_call(
                        client(gateway.endpoint_url, "sagemaker-runtime")
                    ),
                }
                if MLFLOW in calls and MLFLOW not in problems:
                    port = peer.server.port if peer.server is not None else 0
                    makers[MLFLOW] = lambda: http_call(port, {"Content-Type": "application/json"})
                one_row = request_x[:1]
                bodies = dict.fromkeys(PATHS, csv_bytes(one_row))
                bodies[MLFLOW] = mlflow_body(one_row)
                each = 25 if args.quick else 100
                label = f"{args.clients} concurrent clients, {rounds} rounds x {each} each"
                with console.status(label):
                    concurrent = run_concurrent(
                        makers, bodies, args.clients, each, rounds, problems
                    )
            if not args.no_transform:
                with console.status(f"batch transform of {transform_rows:,} rows"):
                    transform = run_transform(sagemaker, s3, model_dir, scratch, transform_rows)

    elapsed = time.perf_counter() - started
    labels = {
        FLOOR: "floor: in process",
        DIRECT: "serving app: POST /invocations",
        INPROC: "fb.endpoints.invoke, in process",
        REPLAY: "InvokeEndpoint, no boto3 (replayed)",
        ENDPOINT: "InvokeEndpoint: boto3 -> fogbank serve",
        MLFLOW: f"mlflow {versions.get('mlflow', '')} models serve".replace("  ", " "),
    }
    title = (
        f"linear-learner ({FEATURES} features), fogbank {fogbank.__version__}: sequential "
        f"requests from one client, {rounds} rotated rounds "
        f"({'quick, ' if args.quick else ''}{elapsed:.0f} s, {os.cpu_count()} CPUs)"
    )
    console.print(render_latency(latency, problems, labels, title))
    console.print(
        f"floor: {floor_how}. p50/p99 over every timed request; req/s: median over rounds;\n"
        "req/s vs mlflow: median of per-round ratios (lowest-highest round); the 3x goal is "
        "judged on the serving app\n(a bare keep-alive HTTP client on both sides); "
        "InvokeEndpoint's ratio carries boto3's signing and parsing per request."
    )
    if concurrent is not None:
        console.print(
            render_concurrent(
                concurrent,
                labels,
                f"{concurrent.clients} concurrent clients (threads of this process, each with "
                f"its own connection or boto3 client), 1 row a request, "
                f"{concurrent.requests_per_client} requests each, {rounds} rotated rounds",
            )
        )
    if transform is not None:
        console.print(
            render_transform(
                transform,
                f"batch transform: {transform.rows:,} rows x {FEATURES} features, "
                f"{transform.objects} CSV objects ({transform.megabytes:.1f} MB), MultiRecord 6 MB",
            )
        )
    environment: dict[str, object] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "rounds": rounds,
        "quick": args.quick,
        "floor": floor_how,
        "problems": problems,
    }
    results: list[dict[str, Any]] = [{"latency": asdict(r)} for r in latency]
    if concurrent is not None:
        results.append({"concurrent": asdict(concurrent)})
    if transform is not None:
        results.append({"transform": asdict(transform)})
    write_results(args.json, "serving", environment, elapsed, results, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
