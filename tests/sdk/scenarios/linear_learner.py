"""Scenario (a): LinearLearner, a binary classifier, fit on record_sets built from numpy.

record_set() writes RecordIO-protobuf shards and a manifest to S3 (PutObject); fit()
trains on them through channels of S3DataType ManifestFile, waiting as fit() does by
default: following the job's log through CloudWatch Logs (DescribeLogStreams,
GetLogEvents) while DescribeTrainingJob says it runs.

    python linear_learner.py ENDPOINT_URL
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
from _common import ROLE, describe, emit, job_name, session
from sagemaker import LinearLearner

BUCKET = "fogbank-sdk-linear"


def main() -> None:
    sess = session(BUCKET)
    rng = np.random.default_rng(7)
    features = rng.normal(size=(600, 5)).astype("float32")
    labels = (features @ np.array([1.5, -2.0, 0.5, 0.0, 1.0]) > 0).astype("float32")
    estimator = LinearLearner(
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        predictor_type="binary_classifier",
        epochs=5,
        sagemaker_session=sess,
        output_path=f"s3://{BUCKET}/linear/output",
        data_location=f"s3://{BUCKET}/linear/data/",
        tags=[{"Key": "suite", "Value": "fogbank-sdk"}],
    )
    train = estimator.record_set(features[:400], labels=labels[:400])
    validation = estimator.record_set(features[400:500], labels[400:500], channel="validation")
    test = estimator.record_set(features[500:], labels[500:], channel="test")
    name = job_name("sdk-linear")
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        estimator.fit([train, validation, test], job_name=name)  # logs="All", the default
    printed = shown.getvalue()
    print(printed)

    result = describe(sess, name)
    result["model_data"] = estimator.model_data
    result["train_manifest"] = train.s3_data
    result["train_s3_data_type"] = train.s3_data_type
    result["fit_quality_lines"] = printed.count("#quality_metric: host=algo-1")
    result["Tags"] = sess.sagemaker_client.list_tags(ResourceArn=result["TrainingJobArn"])["Tags"]
    emit(result)


if __name__ == "__main__":
    main()
