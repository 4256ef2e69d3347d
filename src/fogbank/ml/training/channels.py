"""Getting a training job's input channels from the lake into its container layout.

File mode (and FastFile) puts every object of the channel at
``input/data/<channel>/<key relative to the S3 prefix>`` before training starts;
here that is a hard link to the lake's immutable blob (a copy where links are not
possible), so a 10 GB channel costs no time. Pipe mode makes the FIFO
``input/data/<channel>_<epoch>`` for each pass the algorithm opens and streams the
objects into it (Gzip inflated, each object wrapped as a RecordIO record when
RecordWrapperType is RecordIO). ShardedByS3Key gives host ``i`` of ``n`` the objects
``i, i+n, ...`` in key order; FullyReplicated gives every host everything.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from fogbank.core.errors import FogbankError, ValidationException
from fogbank.lake.engine import Lake
from fogbank.lake.names import parse_location

SUPPORTED_DATA_TYPES = ("S3Prefix", "ManifestFile")


class DataDownloadFailed(FogbankError):
    """A channel's data could not be had: the job fails with this as a ClientError."""

    code = "ClientError"


@dataclass(frozen=True)
class ChannelObject:
    bucket: str
    key: str
    relative: str


@dataclass(frozen=True)
class ChannelInput:
    """One channel of InputDataConfig, as the job will read it."""

    name: str
    uri: str
    data_type: str
    distribution: str
    input_mode: str
    content_type: str | None
    compression: str
    record_wrapper: str

    @classmethod
    def from_request(cls, channel: dict[str, Any], default_mode: str) -> ChannelInput:
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if source is None:
            raise ValidationException(
                f"InputDataConfig channel {channel.get('ChannelName')!r}: fogbank reads "
                "channels from S3 (DataSource.S3DataSource); FileSystemDataSource is not served."
            )
        data_type = source.get("S3DataType", "S3Prefix")
        if data_type not in SUPPORTED_DATA_TYPES:
            raise ValidationException(
                f"InputDataConfig channel {channel['ChannelName']!r}: S3DataType {data_type} "
                f"is not served by fogbank yet; use {' or '.join(SUPPORTED_DATA_TYPES)}."
            )
        return cls(
            name=channel["ChannelName"],
            uri=source["S3Uri"],
            data_type=data_type,
            distribution=source.get("S3DataDistributionType", "FullyReplicated"),
            input_mode=channel.get("InputMode") or default_mode,
            content_type=channel.get("ContentType"),
            compression=channel.get("CompressionType", "None"),
            record_wrapper=channel.get("RecordWrapperType", "None"),
        )

    def data_config(self) -> dict[str, str]:
        """This channel's entry in ``inputdataconfig.json``."""
        entry = {
            "TrainingInputMode": self.input_mode,
            "S3DistributionType": self.distribution,
            "RecordWrapperType": self.record_wrapper,
        }
        if self.content_type is not None:
            entry["ContentType"] = self.content_type
        return entry


def list_channel(lake: Lake, channel: ChannelInput, role: str) -> list[ChannelObject]:
    """Every object a channel names, in key order; DataDownloadFailed if there are none."""
    try:
        if channel.data_type == "ManifestFile":
            found = _manifest(lake, channel.uri)
        else:
            bucket, prefix = parse_location(channel.uri)
            base = prefix[: prefix.rfind("/") + 1]
            found = [
                ChannelObject(bucket, info.key, info.key[len(base) :])
                for info in lake.iter_objects(bucket, prefix)
                if not info.key.endswith("/")
            ]
    except FogbankError as error:
        if isinstance(error, DataDownloadFailed):
            raise
        found = []
    if not found:
        bucket = parse_location(channel.uri)[0] if channel.uri.startswith("s3://") else ""
        raise DataDownloadFailed(
            f"No S3 objects found under S3 URL {channel.uri!r} given in input data source. "
            f"Please ensure that the bucket exists in the selected region, that objects exist "
            f"under that S3 prefix, and that the role {role!r} has s3:ListBucket permissions "
            f"on bucket {bucket!r}."
        )
    return found


def _manifest(lake: Lake, uri: str) -> list[ChannelObject]:
    """A ManifestFile: ``[{"prefix": "s3://b/p/"}, "relative/key", ...]``."""
    try:
        entries = json.loads(lake.read(uri))
    except ValueError as error:
        raise DataDownloadFailed(f"The manifest file {uri!r} is not valid JSON: {error}.") from None
    if not (isinstance(entries, list) and entries and isinstance(entries[0], dict)):
        raise DataDownloadFailed(
            f"The manifest file {uri!r} must be a JSON list starting with "
            '{"prefix": "s3://bucket/prefix/"} followed by keys relative to it.'
        )
    bucket, prefix = parse_location(str(entries[0].get("prefix", "")))
    return [ChannelObject(bucket, prefix + str(rel), str(rel)) for rel in entries[1:]]


def shard(
    objects: list[ChannelObject], distribution: str, rank: int, hosts: int
) -> list[ChannelObject]:
    """The objects host ``rank`` of ``hosts`` reads."""
    if distribution == "ShardedByS3Key" and hosts > 1:
        return objects[rank::hosts]
    return objects


def place_files(lake: Lake, objects: list[ChannelObject], folder: Path) -> int:
    """File mode: each object at ``folder/<relative>``; returns the bytes placed."""
    total = 0
    for obj in objects:
        source = lake.local_path(obj.bucket, obj.key)
        target = folder / obj.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        total += target.stat().st_size
    return total


class PipeFeeder:
    """Pipe mode for one channel of one host: a FIFO per pass, filled on demand."""

    def __init__(
        self,
        lake: Lake,
        channel: ChannelInput,
        objects: list[ChannelObject],
        data_dir: Path,
        alive: Callable[[], bool],
    ) -> None:
        self._lake = lake
        self._channel = channel
        self._objects = objects
        self._data_dir = data_dir
        self._alive = alive
        self._thread = threading.Thread(target=self._run, name=f"pipe-{channel.name}", daemon=True)

    def start(self) -> None:
        self._make_fifo(0)
        self._thread.start()

    def _make_fifo(self, epoch: int) -> Path:
        path = self._data_dir / f"{self._channel.name}_{epoch}"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.mkfifo(path)
        return path

    def _run(self) -> None:
        epoch = 0
        path = self._data_dir / f"{self._channel.name}_0"
        while self._alive():
            fd = self._open_when_read(path)
            if fd is None:
                return
            # The next pass's FIFO exists before this one ends, as on SageMaker, so a
            # reader that finishes pass N can open pass N+1 straight away.
            epoch += 1
            following = self._make_fifo(epoch)
            with (
                contextlib.suppress(BrokenPipeError),
                os.fdopen(fd, "wb", buffering=1 << 20) as out,
            ):
                for chunk in self._chunks():
                    out.write(chunk)
            path = following

    def _open_when_read(self, path: Path) -> int | None:
        while self._alive():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                    return None
                time.sleep(0.02)
                continue
            os.set_blocking(fd, True)
            return fd
        return None

    def _chunks(self) -> Iterator[bytes]:
        for obj in self._objects:
            with self._lake.local_path(obj.bucket, obj.key).open("rb") as raw:
                stream: IO[bytes] = raw
                if self._channel.compression == "Gzip":
                    stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
                if self._channel.record_wrapper == "RecordIO":
                    from fogbank.ml.formats import write_recordio

                    framed = io.BytesIO()
                    write_recordio(framed, stream.read())
                    yield framed.getvalue()
                    continue
                while chunk := stream.read(1 << 20):
                    yield chunk
