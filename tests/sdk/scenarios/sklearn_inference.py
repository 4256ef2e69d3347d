"""Scenario: the user's own inference code on the scikit-learn framework image.

The model.tar.gz (``model.joblib``, a scikit-learn estimator) is made and uploaded by the
test with fogbank's own scikit-learn, since fogbank's endpoint workers unpickle it; this
scenario writes the inference code (``inference.py`` with model_fn, input_fn, predict_fn
and output_fn, importing a sibling module) to a local ``source_dir`` and serves it twice:

1. ``SKLearnModel(model_data=..., entry_point="inference.py", source_dir=...,
   framework_version="1.2-1").deploy(...)``: the SDK uploads sourcedir.tar.gz and sets
   ``SAGEMAKER_SUBMIT_DIRECTORY`` to its S3 URL. The predictor scores rows as JSON and as
   CSV, then ``delete_endpoint()``.
2. The same with ``enable_network_isolation=True``: the SDK repacks the model.tar.gz with
   the code under ``code/`` and sets ``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``.
   Deployed with ``wait=False`` and waited for with a short poll (the SDK's deploy polls
   every 30 s).

Each model's PrimaryContainer (DescribeModel) is reported with the answers.

    python sklearn_inference.py ENDPOINT_URL MODEL_DATA_URL
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _common import REGION, ROLE, emit, job_name, session
from sagemaker import image_uris
from sagemaker.deserializers import CSVDeserializer, JSONDeserializer
from sagemaker.serializers import CSVSerializer, JSONSerializer
from sagemaker.sklearn.model import SKLearnModel

BUCKET = "fogbank-sdk-sklearn"

INFERENCE = '''\
"""Inference code as a user writes it for the scikit-learn container."""

import io
import json
import os

import joblib
import numpy as np

from scoring import positive_probability


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body, content_type):
    if content_type == "application/json":
        return np.asarray(json.loads(body)["instances"], dtype=float)
    if content_type == "text/csv":
        return np.atleast_2d(np.loadtxt(io.StringIO(body), delimiter=",", dtype=float))
    raise ValueError(f"inference.py reads application/json and text/csv, not {content_type}")


def predict_fn(data, model):
    return {
        "labels": [int(v) for v in model.predict(data)],
        "probabilities": positive_probability(model, data),
    }


def output_fn(prediction, accept):
    if accept == "text/csv":
        rows = zip(prediction["labels"], prediction["probabilities"])
        return "".join(f"{label},{p!r}\\n" for label, p in rows), "text/csv"
    return json.dumps(prediction), "application/json"
'''

SCORING = '''\
"""A sibling module of inference.py, imported by it."""


def positive_probability(model, data):
    return [float(p) for p in model.predict_proba(data)[:, 1]]
'''


def describe_model(sess: Any, name: str) -> dict[str, Any]:
    found = sess.sagemaker_client.describe_model(ModelName=name)
    return {
        "ModelName": found["ModelName"],
        "PrimaryContainer": found.get("PrimaryContainer"),
        "EnableNetworkIsolation": found.get("EnableNetworkIsolation"),
    }


def score(predictor: Any, rows: np.ndarray) -> dict[str, Any]:
    """The predictor's answers for ``rows``: JSON in and out, then CSV in and out."""
    predictor.serializer = JSONSerializer()
    predictor.deserializer = JSONDeserializer()
    as_json = predictor.predict({"instances": rows.tolist()})
    predictor.serializer = CSVSerializer()
    predictor.deserializer = CSVDeserializer()
    as_csv = predictor.predict(rows)
    return {"json": as_json, "csv": as_csv}


def main() -> None:
    model_data = sys.argv[2]
    sess = session(BUCKET)
    rows = np.random.default_rng(5).normal(size=(8, 4)).round(4)
    image = image_uris.retrieve("sklearn", REGION, version="1.2-1", instance_type="ml.m5.large")
    result: dict[str, Any] = {"image_uri": image, "rows": rows.tolist()}
    with tempfile.TemporaryDirectory() as scratch:
        source_dir = Path(scratch) / "code"
        source_dir.mkdir()
        (source_dir / "inference.py").write_text(INFERENCE)
        (source_dir / "scoring.py").write_text(SCORING)

        name = job_name("sdk-sklearn")
        model = SKLearnModel(
            model_data=model_data,
            role=ROLE,
            entry_point="inference.py",
            source_dir=str(source_dir),
            framework_version="1.2-1",
            sagemaker_session=sess,
            name=f"{name}-model",
        )
        predictor = model.deploy(
            initial_instance_count=1,
            instance_type="ml.m5.large",
            endpoint_name=f"{name}-endpoint",
        )
        result["sourcedir"] = {
            **describe_model(sess, model.name),
            **score(predictor, rows),
            "endpoint_status": sess.sagemaker_client.describe_endpoint(
                EndpointName=predictor.endpoint_name
            )["EndpointStatus"],
        }
        predictor.delete_endpoint()

        isolated = SKLearnModel(
            model_data=model_data,
            role=ROLE,
            entry_point="inference.py",
            source_dir=str(source_dir),
            framework_version="1.2-1",
            sagemaker_session=sess,
            name=f"{name}-isolated",
            enable_network_isolation=True,
        )
        predictor = isolated.deploy(
            initial_instance_count=1,
            instance_type="ml.m5.large",
            endpoint_name=f"{name}-isolated",
            wait=False,
        )
        sess.wait_for_endpoint(predictor.endpoint_name, poll=1)
        result["repacked"] = {
            **describe_model(sess, isolated.name),
            **score(predictor, rows),
        }
        predictor.delete_endpoint()
    emit(result)


if __name__ == "__main__":
    main()
