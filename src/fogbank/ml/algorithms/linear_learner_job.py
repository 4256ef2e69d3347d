"""Linear Learner inside a training job: channels in, log lines out, model written.

This module owns ``train(env)``'s process contract: it reads the ``train`` channel
(required) and the optional ``validation`` and ``test`` channels through
:mod:`fogbank.ml.formats` (recordIO-protobuf when the channel names no ContentType,
or text/csv with the label in column 0), trains with
:mod:`~fogbank.ml.algorithms.linear_learner_engine`, prints the container's metric
lines to stdout (flushed per line) and writes the model into ``env.model_dir``
(leader only). A problem with the data or the hyperparameters raises a FogbankError,
which the job runner reports as ``ClientError: <message>``.

File mode reads a channel once and trains every pass on the arrays in memory; Pipe
mode streams pass ``n`` from the FIFO ``<channel>_<n>`` and keeps only the scaler's
sample. Validation and test channels are read once, whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse

from fogbank.core.errors import ValidationException
from fogbank.ml.algorithms.linear_learner import CONTENT_TYPES, NAME
from fogbank.ml.algorithms.linear_learner_data import InMemory, Streamed, Table, TrainingData
from fogbank.ml.algorithms.linear_learner_engine import fit, report
from fogbank.ml.algorithms.linear_learner_metrics import Log
from fogbank.ml.algorithms.linear_learner_model import save
from fogbank.ml.algorithms.linear_learner_plan import resolve, seed_of

if TYPE_CHECKING:
    from fogbank.ml.formats import Batch, ContentType
    from fogbank.ml.training.environment import Channel, ContainerEnvironment

# Sparse rows denser than this train as dense rows (a dense GEMM beats CSR there):
# recordIO-protobuf is read as CSR, yet the SDK writes dense tensors.
DENSE_ENOUGH = 0.25
# Rows per read while a whole File-mode channel is loaded.
READ_ROWS = 65536


def run(env: ContainerEnvironment, values: dict[str, Any], *, tuning: bool) -> None:
    """Train on ``env``'s channels with typed hyperparameters ``values``."""
    log = Log(env.current_host)
    channel = env.channel("train")
    if channel is None:
        raise ValidationException(
            f"Channel 'train' is required by {NAME}; add it to InputDataConfig."
        )
    given_dim = values["feature_dim"] if isinstance(values["feature_dim"], int) else None
    data: TrainingData
    if channel.input_mode == "Pipe":
        ctype = _content_type(channel)

        def open_pass(epoch: int, size: int) -> Iterator[Table]:
            return _stream(channel, ctype, epoch, size, given_dim)

        data = Streamed(open_pass, given_dim)
        data.head(1)  # learns the width
    else:
        table = _read(channel, given_dim)
        if table is None:
            raise ValidationException("The train channel has no data: give it labelled rows.")
        data = InMemory(table)
    plan = resolve(values, seed=seed_of(env.hyperparameters), tuning=tuning, feature_dim=data.dim)
    validation = _optional(env, "validation", data.dim)
    test = _optional(env, "test", data.dim)
    fitted = fit(plan, data, validation, log)
    if validation is not None:
        report(fitted, "validation", validation, log)
    if test is not None:
        report(fitted, "test", test, log)
    else:
        log.info("Test data is not provided.")
    if env.is_leader:
        save(env.model_dir, fitted)


def _content_type(channel: Channel) -> ContentType:
    from fogbank.ml import formats

    raw = channel.content_type
    try:
        parsed = formats.parse_content_type(raw, default=CONTENT_TYPES[0])
    except formats.FormatError as error:
        raise ValidationException(f"Channel {channel.name!r}: {error}") from None
    if parsed.mime not in CONTENT_TYPES:
        raise ValidationException(
            f"Channel {channel.name!r} has ContentType {raw!r}; {NAME} reads "
            + " or ".join(CONTENT_TYPES)
            + "."
        )
    if parsed.label_size != 1:
        raise ValidationException(
            f"Channel {channel.name!r}: {NAME} trains on labelled rows (label_size=1), "
            f"not label_size={parsed.label_size}."
        )
    return parsed


def _table(batch: Batch, channel: Channel) -> Table:
    if batch.labels is None:
        raise ValidationException(
            f"Channel {channel.name!r} has no labels: {NAME} reads the label from the first "
            "CSV column or the recordIO-protobuf Record's label."
        )
    labels = np.asarray(batch.labels, dtype=np.float32).reshape(len(batch), -1)[:, 0]
    features = batch.features
    if scipy.sparse.issparse(features):
        csr = scipy.sparse.csr_matrix(features, dtype=np.float32)
        cells = max(1, csr.shape[0] * csr.shape[1])
        if csr.nnz / cells > DENSE_ENOUGH:
            features = np.asarray(csr.toarray(), dtype=np.float32)
        else:
            features = csr
    return Table(features, labels, None)


def _read(channel: Channel, feature_dim: int | None) -> Table | None:
    """The whole channel (File mode), or None when it has no rows."""
    from fogbank.ml import formats

    ctype = _content_type(channel)
    try:
        batch = formats.read_all(
            channel.epoch(0),
            ctype,
            feature_dim=feature_dim,
            sparse=ctype.mime == formats.RECORDIO_PROTOBUF,
            source=f"channel {channel.name}",
        )
    except formats.FormatError as error:
        raise ValidationException(f"Channel {channel.name!r}: {error}") from None
    if len(batch) == 0:
        return None
    return _table(batch, channel)


def _stream(
    channel: Channel, ctype: ContentType, epoch: int, size: int, feature_dim: int | None
) -> Iterator[Table]:
    from fogbank.ml import formats

    try:
        for batch in formats.read_batches(
            channel.epoch(epoch),
            ctype,
            batch_size=size,
            feature_dim=feature_dim,
            sparse=ctype.mime == formats.RECORDIO_PROTOBUF,
            source=f"channel {channel.name}",
        ):
            yield _table(batch, channel)
    except formats.FormatError as error:
        raise ValidationException(f"Channel {channel.name!r}: {error}") from None


def _optional(env: ContainerEnvironment, name: str, dim: int) -> Table | None:
    channel = env.channel(name)
    if channel is None:
        return None
    table = _read(channel, dim)
    if table is None:
        return None
    return table
