"""The SageMaker container layout, as a training program sees it.

A training job's process is started with its root folder (``/opt/ml`` on SageMaker,
``<home>/training/<job>/algo-N`` here) and reads everything from it, exactly as a
program in a bring-your-own-container image would:

- ``input/config/hyperparameters.json``: string -> string;
- ``input/config/inputdataconfig.json``: per channel ContentType, TrainingInputMode,
  S3DistributionType, RecordWrapperType;
- ``input/config/resourceconfig.json``: current_host, hosts;
- ``input/data/<channel>/`` (File mode) or the FIFOs ``input/data/<channel>_<epoch>``
  (Pipe mode: read ``_0`` to its end, then ``_1``...);
- ``model/`` (packed into model.tar.gz), ``output/data/``, ``output/failure``,
  ``checkpoints/``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class Channel:
    """One input channel: where its data is and how it is to be read."""

    name: str
    root: Path  # input/data
    content_type: str | None
    input_mode: str  # File | Pipe | FastFile
    distribution: str  # FullyReplicated | ShardedByS3Key
    record_wrapper: str  # None | RecordIO

    @property
    def path(self) -> Path:
        """The channel's folder in File mode."""
        return self.root / self.name

    def files(self) -> list[Path]:
        """The channel's files in File mode, in key order; hidden files skipped."""
        if not self.path.is_dir():
            return []
        found = [
            p
            for p in self.path.rglob("*")
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(self.path).parts)
        ]
        return sorted(found, key=lambda p: p.relative_to(self.path).as_posix())

    def epoch(self, number: int) -> Iterator[IO[bytes]]:
        """The channel's data for one pass, as binary streams read front to back.

        In File mode every pass reads the same files; in Pipe mode pass ``number``
        reads the FIFO ``<channel>_<number>``, which the platform fills once."""
        if self.input_mode == "Pipe":
            fifo = self.root / f"{self.name}_{number}"
            with fifo.open("rb", buffering=1 << 20) as stream:
                yield stream
            return
        for path in self.files():
            with path.open("rb") as stream:
                yield stream


@dataclass(frozen=True)
class ContainerEnvironment:
    """Everything a training program reads, from the layout under ``root``."""

    root: Path
    hyperparameters: dict[str, str]
    channels: dict[str, Channel]
    current_host: str
    hosts: tuple[str, ...]

    @classmethod
    def from_root(cls, root: Path) -> ContainerEnvironment:
        config = root / "input" / "config"
        hyperparameters = _read_json(config / "hyperparameters.json", {})
        data_config = _read_json(config / "inputdataconfig.json", {})
        resources = _read_json(config / "resourceconfig.json", {})
        data = root / "input" / "data"
        channels = {
            name: Channel(
                name=name,
                root=data,
                content_type=spec.get("ContentType"),
                input_mode=spec.get("TrainingInputMode", "File"),
                distribution=spec.get("S3DistributionType", "FullyReplicated"),
                record_wrapper=spec.get("RecordWrapperType", "None"),
            )
            for name, spec in data_config.items()
        }
        return cls(
            root=root,
            hyperparameters={str(k): str(v) for k, v in hyperparameters.items()},
            channels=channels,
            current_host=resources.get("current_host", "algo-1"),
            hosts=tuple(resources.get("hosts", ["algo-1"])),
        )

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure_path(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def host_rank(self) -> int:
        """This host's position among the hosts (algo-1 is 0)."""
        return self.hosts.index(self.current_host) if self.current_host in self.hosts else 0

    @property
    def is_leader(self) -> bool:
        """Whether this host writes the model (the first host, as the built-ins do)."""
        return self.host_rank == 0

    @property
    def num_gpus(self) -> int:
        """GPUs this job may use: ``SM_NUM_GPUS`` when set, else what CUDA reports."""
        given = os.environ.get("SM_NUM_GPUS")
        if given is not None and given.isdigit():
            return int(given)
        return 0

    def channel(self, name: str) -> Channel | None:
        return self.channels.get(name)


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))
