"""Scenario (b): the generic Estimator on the built-in XGBoost image, CSV channels.

image_uris.retrieve("xgboost", region, "1.7-1") names the image; the CSV files (label
first, no header) go up with Session.upload_data; fit() gets TrainingInputs of
content_type text/csv (S3DataType S3Prefix) and waits with logs off; then deploy()
serves the model on an endpoint (CreateModel, CreateEndpointConfig, CreateEndpoint, the
SDK's own wait) and the Predictor scores rows through InvokeEndpoint before
delete_endpoint().

    python xgboost_csv.py ENDPOINT_URL
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from _common import REGION, ROLE, describe, emit, job_name, session
from sagemaker import image_uris
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.serializers import CSVSerializer

BUCKET = "fogbank-sdk-xgboost"


def write_csv(directory: Path, name: str, features: np.ndarray, labels: np.ndarray) -> Path:
    path = directory / name
    path.mkdir()
    np.savetxt(path / f"{name}.csv", np.column_stack([labels, features]), delimiter=",", fmt="%.6g")
    return path


def main() -> None:
    sess = session(BUCKET)
    rng = np.random.default_rng(11)
    features = rng.normal(size=(500, 4))
    labels = ((features[:, 0] > 0) ^ (features[:, 1] > 0)).astype(float)  # not linear
    with tempfile.TemporaryDirectory() as scratch:
        train_dir = write_csv(Path(scratch), "train", features[:400], labels[:400])
        validation_dir = write_csv(Path(scratch), "validation", features[400:], labels[400:])
        train_uri = sess.upload_data(str(train_dir), bucket=BUCKET, key_prefix="xgboost/train")
        validation_uri = sess.upload_data(
            str(validation_dir), bucket=BUCKET, key_prefix="xgboost/validation"
        )

    image = image_uris.retrieve("xgboost", REGION, "1.7-1")
    estimator = Estimator(
        image_uri=image,
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{BUCKET}/xgboost/output",
        sagemaker_session=sess,
        hyperparameters={
            "objective": "binary:logistic",
            "num_round": 30,
            "max_depth": 4,
            "eta": 0.3,
            "eval_metric": "error",
        },
    )
    name = job_name("sdk-xgboost")
    estimator.fit(
        {
            "train": TrainingInput(train_uri, content_type="text/csv"),
            "validation": TrainingInput(validation_uri, content_type="text/csv"),
        },
        wait=True,
        logs=False,
        job_name=name,
    )

    result = describe(sess, name)
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        serializer=CSVSerializer(),
        endpoint_name=f"{name}-endpoint",
    )
    answer = predictor.predict(features[400:410])
    scores = [float(v) for v in answer.decode().replace("\n", ",").split(",") if v]
    result["endpoint_accuracy"] = float(
        np.mean((np.asarray(scores) > 0.5) == (labels[400:410] > 0.5))
    )
    result["endpoint_status"] = sess.sagemaker_client.describe_endpoint(
        EndpointName=predictor.endpoint_name
    )["EndpointStatus"]
    predictor.delete_endpoint()
    result["image_uri"] = image
    result["model_data"] = estimator.model_data
    result["train_uri"] = train_uri
    emit(result)


if __name__ == "__main__":
    main()
