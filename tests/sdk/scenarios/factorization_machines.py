"""Scenario (c): FactorizationMachines, a binary classifier, fit on record_sets.

One-hot user and item columns (the shape factorization machines are for);
RecordIO-protobuf shards and manifests through
record_set(), channels train and test, logs off.

    python factorization_machines.py ENDPOINT_URL
"""

from __future__ import annotations

import numpy as np
from _common import ROLE, describe, emit, job_name, session
from sagemaker import FactorizationMachines

BUCKET = "fogbank-sdk-fm"
USERS, ITEMS = 8, 6


def main() -> None:
    sess = session(BUCKET)
    rng = np.random.default_rng(5)
    users = rng.integers(0, USERS, size=600)
    items = rng.integers(0, ITEMS, size=600)
    features = np.zeros((600, USERS + ITEMS), dtype="float32")
    features[np.arange(600), users] = 1.0
    features[np.arange(600), USERS + items] = 1.0
    # A user who likes everything, or an item everyone likes: what FM's linear terms learn.
    labels = ((users < USERS // 2) | (items < ITEMS // 3)).astype("float32")
    estimator = FactorizationMachines(
        role=ROLE,
        instance_count=1,
        instance_type="ml.m5.large",
        num_factors=4,
        predictor_type="binary_classifier",
        epochs=30,
        linear_lr=0.05,  # the default, 0.001, hardly moves in 300 mini-batches
        sagemaker_session=sess,
        output_path=f"s3://{BUCKET}/fm/output",
        data_location=f"s3://{BUCKET}/fm/data/",
    )
    train = estimator.record_set(features[:500], labels=labels[:500])
    test = estimator.record_set(features[500:], labels=labels[500:], channel="test")
    name = job_name("sdk-fm")
    # mini_batch_size is fit()'s (the constructor would drop it): HyperParameters carry it.
    estimator.fit([train, test], mini_batch_size=50, wait=True, logs=False, job_name=name)

    result = describe(sess, name)
    result["model_data"] = estimator.model_data
    emit(result)


if __name__ == "__main__":
    main()
