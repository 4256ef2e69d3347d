"""The tools users point at fogbank, end to end against a real server on a socket.

The aws CLI (as a subprocess), s3fs, and pandas / pyarrow through s3fs: each drives
fogbank exactly as it would drive AWS, with nothing but ``--endpoint-url`` /
``endpoint_url`` changed. One server serves the whole module (the CLI is slow to
start, so the number of its invocations is kept modest); each test uses its own
buckets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fogbank import Fogbank, FogbankConfig
from fogbank.gateway.server import BackgroundServer

from .conftest import boto3_client

s3fs = pytest.importorskip("s3fs")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pads = pytest.importorskip("pyarrow.dataset")
pafs = pytest.importorskip("pyarrow.fs")

AWS = Path(sys.executable).with_name("aws")
MiB = 2**20


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """One fogbank on a socket for the whole module, in a home of its own."""
    home = tempfile.mkdtemp(prefix="fogbank-clients-")
    try:
        with (
            Fogbank(FogbankConfig.load(home=home, environ={})) as fb,
            BackgroundServer(fb) as running,
        ):
            yield running.endpoint_url
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def aws_env() -> Iterator[dict[str, str]]:
    """An environment in which the aws CLI sees nothing of this machine's AWS setup."""
    folder = Path(tempfile.mkdtemp(prefix="fogbank-awscli-"))
    try:
        config = folder / "config"
        credentials = folder / "credentials"
        config.write_text("")
        credentials.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=str(config),
            AWS_SHARED_CREDENTIALS_FILE=str(credentials),
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Cli:
    """``aws`` as a subprocess against the module's server."""

    def __init__(self, endpoint_url: str, env: dict[str, str]) -> None:
        self.endpoint_url = endpoint_url
        self.env = env

    def run(
        self, *args: str, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, str(AWS), "--endpoint-url", self.endpoint_url, *args],
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"aws {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--output", "json").stdout)


@pytest.fixture(scope="module")
def aws(endpoint: str, aws_env: dict[str, str]) -> Cli:
    if not AWS.is_file():
        pytest.skip(f"the aws CLI (awscli) is not installed next to {sys.executable}")
    return Cli(endpoint, aws_env)


@pytest.fixture(scope="module")
def s3(endpoint: str) -> Iterator[Any]:
    """boto3, to make the buckets s3fs and pandas then work in (see the mkdir test)."""
    made = boto3_client("s3", endpoint)
    yield made
    made.close()


def _close(fs: Any) -> None:
    """Close an S3FileSystem's aiobotocore client on its own loop, now, not at gc time."""
    creator = getattr(fs, "_s3creator", None)
    if creator is not None and fs.loop is not None and fs.loop.is_running():
        from fsspec.asyn import sync

        sync(fs.loop, creator.__aexit__, None, None, None)
    fs._s3 = None
    fs._s3creator = None


def _storage_options(endpoint_url: str) -> dict[str, Any]:
    return {
        "key": "test",
        "secret": "test",
        "client_kwargs": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
    }


@pytest.fixture(scope="module")
def fs(endpoint: str) -> Iterator[Any]:
    made = s3fs.S3FileSystem(
        **_storage_options(endpoint),
        skip_instance_cache=True,
        use_listings_cache=False,
        default_block_size=5 * MiB,
    )
    yield made
    _close(made)


@pytest.fixture
def storage_options(endpoint: str) -> Iterator[dict[str, Any]]:
    """What pandas passes to fsspec; the filesystems it caches are closed afterwards."""
    yield _storage_options(endpoint)
    for instance in list(s3fs.S3FileSystem._cache.values()):
        _close(instance)
    s3fs.S3FileSystem.clear_instance_cache()


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _payload(size: int, seed: int = 0) -> bytes:
    """Bytes that differ from part to part (so a misplaced part shows), cheaply."""
    block = bytes((i * 31 + seed) % 251 for i in range(4099))
    return (block * (size // len(block) + 1))[:size]


# ------------------------------------------------------------------ aws CLI


def test_cli_buckets_copy_list_remove(aws: Cli, tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello fogbank\n")
    big = tmp_path / "big.bin"
    big_bytes = _payload(20 * MiB, seed=7)
    big.write_bytes(big_bytes)

    made = aws.run("s3", "mb", "s3://cli-bucket")
    assert "make_bucket: cli-bucket" in made.stdout

    aws.run("s3", "cp", str(small), "s3://cli-bucket/docs/small.txt")
    # 20 MiB is over the CLI's 8 MiB multipart threshold: three parts, sent in parallel.
    aws.run("s3", "cp", str(big), "s3://cli-bucket/data/big.bin")

    head = aws.json("s3api", "head-object", "--bucket", "cli-bucket", "--key", "data/big.bin")
    assert head["ContentLength"] == len(big_bytes)
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]
    small_head = aws.json(
        "s3api", "head-object", "--bucket", "cli-bucket", "--key", "docs/small.txt"
    )
    assert small_head["ContentLength"] == small.stat().st_size
    assert small_head["ContentType"] == "text/plain"

    buckets = aws.run("s3", "ls").stdout
    assert any(line.split()[-1] == "cli-bucket" for line in buckets.splitlines()), buckets

    top = aws.run("s3", "ls", "s3://cli-bucket/").stdout.splitlines()
    assert sorted(line.split()[-1] for line in top) == ["data/", "docs/"]
    assert all(line.split()[0] == "PRE" for line in top), top

    under = aws.run("s3", "ls", "s3://cli-bucket/docs/").stdout.splitlines()
    assert len(under) == 1
    assert under[0].split()[-2:] == [str(small.stat().st_size), "small.txt"]

    recursive = aws.run("s3", "ls", "--recursive", "s3://cli-bucket").stdout.splitlines()
    assert sorted((line.split()[-1], line.split()[-2]) for line in recursive) == [
        ("data/big.bin", str(len(big_bytes))),
        ("docs/small.txt", str(small.stat().st_size)),
    ]

    listed = aws.json(
        "s3api", "list-objects-v2", "--bucket", "cli-bucket", "--prefix", "d", "--no-paginate"
    )
    assert [o["Key"] for o in listed["Contents"]] == ["data/big.bin", "docs/small.txt"]
    assert listed["KeyCount"] == 2
    assert [o["Size"] for o in listed["Contents"]] == [len(big_bytes), small.stat().st_size]

    # The big object back down (ranged GETs in parallel), byte for byte.
    back = tmp_path / "back.bin"
    aws.run("s3", "cp", "s3://cli-bucket/data/big.bin", str(back))
    assert back.read_bytes() == big_bytes

    removed = aws.run("s3", "rm", "--recursive", "s3://cli-bucket/").stdout
    assert sorted(line.split()[-1] for line in removed.splitlines()) == [
        "s3://cli-bucket/data/big.bin",
        "s3://cli-bucket/docs/small.txt",
    ]
    gone = aws.json("s3api", "list-objects-v2", "--bucket", "cli-bucket", "--no-paginate")
    assert gone.get("KeyCount", 0) == 0 and "Contents" not in gone

    aws.run("s3", "rb", "s3://cli-bucket")
    assert "cli-bucket" not in aws.run("s3", "ls").stdout


def _uploaded(output: str) -> list[str]:
    """The destinations of the ``upload: <file> to <s3 url>`` lines the CLI prints."""
    return [
        line.rsplit(" to ", 1)[1] for line in output.splitlines() if line.startswith("upload: ")
    ]


def test_cli_sync_up_change_and_down(aws: Cli, tmp_path: Path) -> None:
    source = tmp_path / "source"
    files = {
        "top.txt": b"top\n",
        "a/one.csv": b"x,y\n1,2\n",
        "a/b/two.json": b'{"k": 2}\n',
        "a/b/c/three.bin": _payload(300_000, seed=3),
        "z/four.txt": b"four\n",
        # Keys that need percent-encoding on the wire and in url-encoded listings.
        "odd names/a b+c=d&é~!.txt": b"odd\n",
    }
    for name, data in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    # Local files an hour old, so that sync compares against whole-second LastModified safely.
    an_hour_ago = time.time() - 3600
    for name in files:
        os.utime(source / name, (an_hour_ago, an_hour_ago))

    aws.run("s3", "mb", "s3://sync-bucket")
    first = aws.run("s3", "sync", str(source), "s3://sync-bucket/tree").stdout
    uploaded = sorted(_uploaded(first))
    assert uploaded == sorted(f"s3://sync-bucket/tree/{name}" for name in files)

    # Change one file (a different size), sync again: only it goes up.
    files["a/b/two.json"] = b'{"k": 2, "changed": true}\n'
    (source / "a/b/two.json").write_bytes(files["a/b/two.json"])
    second = aws.run("s3", "sync", str(source), "s3://sync-bucket/tree").stdout
    assert _uploaded(second) == ["s3://sync-bucket/tree/a/b/two.json"], second

    # Down into an empty folder: the same tree, byte for byte.
    target = tmp_path / "target"
    target.mkdir()
    aws.run("s3", "sync", "s3://sync-bucket/tree", str(target))
    assert _tree(target) == files

    aws.run("s3", "rb", "--force", "s3://sync-bucket")


def test_cli_missing_bucket_fails_with_404(aws: Cli, tmp_path: Path) -> None:
    # `s3 cp` asks HeadObject first: a 404 without a body, so only the status shows.
    done = aws.run("s3", "cp", "s3://missing-bucket/x", ".", check=False, cwd=tmp_path)
    assert done.returncode != 0
    assert "404" in done.stderr, done.stderr
    assert not (tmp_path / "x").exists()
    # GetObject carries the error document: NoSuchBucket by name.
    got = aws.run(
        "s3api",
        "get-object",
        "--bucket",
        "missing-bucket",
        "--key",
        "x",
        str(tmp_path / "x"),
        check=False,
    )
    assert got.returncode != 0
    assert "NoSuchBucket" in got.stderr, got.stderr
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------ s3fs


def test_s3fs_mkdir_in_us_east_1_fails_as_on_aws(fs: Any) -> None:
    """s3fs.mkdir sends CreateBucketConfiguration/LocationConstraint = the client's region;
    for us-east-1 S3 refuses that (the region is named by leaving the constraint out)."""
    with pytest.raises(OSError) as caught:
        fs.mkdir("fs-east-bucket")
    cause = caught.value.__cause__
    assert cause is not None
    assert cause.response["Error"]["Code"] == "InvalidLocationConstraint"  # type: ignore[attr-defined]
    assert cause.response["ResponseMetadata"]["HTTPStatusCode"] == 400  # type: ignore[attr-defined]


def test_s3fs_files(fs: Any, s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="fs-bucket")
    assert fs.exists("fs-bucket")
    assert not fs.exists("fs-no-such-bucket")

    fs.pipe_file("fs-bucket/dir/hello.txt", b"hello, fogbank")
    assert fs.exists("fs-bucket/dir/hello.txt")
    assert not fs.exists("fs-bucket/dir/nope.txt")
    assert fs.isdir("fs-bucket/dir")
    assert fs.isfile("fs-bucket/dir/hello.txt")

    info = fs.info("fs-bucket/dir/hello.txt")
    assert info["size"] == 14 and info["type"] == "file"
    assert info["ETag"].strip('"')
    assert fs.info("fs-bucket/dir")["type"] == "directory"
    with pytest.raises(FileNotFoundError):
        fs.info("fs-bucket/dir/nope.txt")

    # put / get a local tree.
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_bytes(b"aaa")
    (local / "sub" / "b.txt").write_bytes(b"bbbb")
    fs.put(str(local) + "/", "fs-bucket/tree/", recursive=True)
    assert sorted(fs.ls("fs-bucket/tree", detail=False)) == [
        "fs-bucket/tree/a.txt",
        "fs-bucket/tree/sub",
    ]
    detailed = {e["name"]: e for e in fs.ls("fs-bucket/tree", detail=True)}
    assert detailed["fs-bucket/tree/a.txt"]["size"] == 3
    assert detailed["fs-bucket/tree/sub"]["type"] == "directory"
    down = tmp_path / "down"
    fs.get("fs-bucket/tree/", str(down) + "/", recursive=True)
    assert _tree(down) == {"a.txt": b"aaa", "sub/b.txt": b"bbbb"}

    # cat, whole and by ranges.
    assert fs.cat("fs-bucket/dir/hello.txt") == b"hello, fogbank"
    assert fs.cat_file("fs-bucket/dir/hello.txt", start=7) == b"fogbank"
    assert fs.cat_file("fs-bucket/dir/hello.txt", start=0, end=5) == b"hello"
    assert fs.cat_file("fs-bucket/dir/hello.txt", start=-4) == b"bank"
    assert fs.cat_ranges(
        ["fs-bucket/dir/hello.txt", "fs-bucket/tree/sub/b.txt"], [7, 1], [11, 3]
    ) == [b"fogb", b"bb"]

    # Open for reading, with seeks.
    with fs.open("fs-bucket/dir/hello.txt", "rb", block_size=4) as f:
        f.seek(7)
        assert f.read(3) == b"fog"
        f.seek(-4, 2)
        assert f.read() == b"bank"
        f.seek(0)
        assert f.read(5) == b"hello"

    # Open for writing: small (one PutObject) and multi-MB (multipart, 5 MiB parts).
    with fs.open("fs-bucket/w/small.bin", "wb") as f:
        f.write(b"tiny")
    assert fs.cat("fs-bucket/w/small.bin") == b"tiny"
    big = _payload(12 * MiB + 123, seed=11)
    with fs.open("fs-bucket/w/big.bin", "wb") as f:
        for start in range(0, len(big), MiB):
            f.write(big[start : start + MiB])
    big_info = fs.info("fs-bucket/w/big.bin")
    assert big_info["size"] == len(big)
    assert big_info["ETag"].strip('"').endswith("-3"), big_info["ETag"]
    assert fs.cat("fs-bucket/w/big.bin") == big
    with fs.open("fs-bucket/w/big.bin", "rb") as f:
        f.seek(6 * MiB + 5)
        assert f.read(1000) == big[6 * MiB + 5 : 6 * MiB + 1005]

    # find and glob.
    assert fs.find("fs-bucket/tree") == ["fs-bucket/tree/a.txt", "fs-bucket/tree/sub/b.txt"]
    assert sorted(fs.find("fs-bucket", withdirs=False)) == [
        "fs-bucket/dir/hello.txt",
        "fs-bucket/tree/a.txt",
        "fs-bucket/tree/sub/b.txt",
        "fs-bucket/w/big.bin",
        "fs-bucket/w/small.bin",
    ]
    assert sorted(fs.glob("fs-bucket/**/*.txt")) == [
        "fs-bucket/dir/hello.txt",
        "fs-bucket/tree/a.txt",
        "fs-bucket/tree/sub/b.txt",
    ]
    assert fs.glob("fs-bucket/w/*.bin") == ["fs-bucket/w/big.bin", "fs-bucket/w/small.bin"]
    assert fs.du("fs-bucket/tree") == 7

    # copy and move on the server.
    fs.copy("fs-bucket/dir/hello.txt", "fs-bucket/dir/copy.txt")
    assert fs.cat("fs-bucket/dir/copy.txt") == b"hello, fogbank"
    fs.mv("fs-bucket/dir/copy.txt", "fs-bucket/dir/moved.txt")
    assert not fs.exists("fs-bucket/dir/copy.txt")
    assert fs.cat("fs-bucket/dir/moved.txt") == b"hello, fogbank"

    # rm: one file, a folder recursively, a list of files, then the empty bucket.
    fs.rm("fs-bucket/w/small.bin")
    assert not fs.exists("fs-bucket/w/small.bin")
    fs.rm("fs-bucket/tree", recursive=True)
    assert not fs.exists("fs-bucket/tree/a.txt")
    assert fs.find("fs-bucket/tree") == []
    fs.rm(fs.find("fs-bucket"))
    assert fs.find("fs-bucket") == []
    fs.rmdir("fs-bucket")
    assert not fs.exists("fs-bucket")


def test_s3fs_rm_whole_bucket_recursive(fs: Any, s3: Any) -> None:
    s3.create_bucket(Bucket="fs-rm-bucket")
    fs.pipe({"fs-rm-bucket/a/1.txt": b"1", "fs-rm-bucket/a/b/2.txt": b"2", "fs-rm-bucket/3": b"3"})
    try:
        fs.rm("fs-rm-bucket", recursive=True)
        assert not fs.exists("fs-rm-bucket")
    finally:
        if fs.exists("fs-rm-bucket"):
            fs.rm(fs.find("fs-rm-bucket"))
            fs.rmdir("fs-rm-bucket")


# ------------------------------------------------------------------ pandas, pyarrow


def _frame() -> Any:
    return pd.DataFrame(
        {
            "id": list(range(1, 201)),
            "name": [f"row-{i}" for i in range(1, 201)],
            "score": [i / 7 for i in range(1, 201)],
            "flag": [i % 3 == 0 for i in range(1, 201)],
        }
    )


def test_pandas_parquet_csv_json(fs: Any, s3: Any, storage_options: dict[str, Any]) -> None:
    s3.create_bucket(Bucket="pandas-bucket")
    frame = _frame()

    frame.to_parquet("s3://pandas-bucket/t.parquet", storage_options=storage_options)
    back = pd.read_parquet("s3://pandas-bucket/t.parquet", storage_options=storage_options)
    pd.testing.assert_frame_equal(back, frame)

    frame.to_csv("s3://pandas-bucket/t.csv", index=False, storage_options=storage_options)
    back = pd.read_csv("s3://pandas-bucket/t.csv", storage_options=storage_options)
    pd.testing.assert_frame_equal(back, frame)

    frame.to_json(
        "s3://pandas-bucket/t.jsonl", orient="records", lines=True, storage_options=storage_options
    )
    back = pd.read_json("s3://pandas-bucket/t.jsonl", lines=True, storage_options=storage_options)
    pd.testing.assert_frame_equal(back, frame)

    assert sorted(fs.ls("pandas-bucket", detail=False)) == [
        "pandas-bucket/t.csv",
        "pandas-bucket/t.jsonl",
        "pandas-bucket/t.parquet",
    ]
    fs.rm(fs.find("pandas-bucket"))
    fs.rmdir("pandas-bucket")


def test_pyarrow_hive_dataset(fs: Any, s3: Any) -> None:
    s3.create_bucket(Bucket="arrow-bucket")
    filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    table = pa.table(
        {
            "year": [2023, 2023, 2024, 2024, 2024, 2025],
            "region": ["eu", "us", "eu", "us", "us", "eu"],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    pq.write_to_dataset(
        table,
        root_path="arrow-bucket/dir",
        partition_cols=["year", "region"],
        filesystem=filesystem,
    )
    written = sorted(fs.find("arrow-bucket/dir"))
    assert written and all(p.endswith(".parquet") for p in written)
    assert {p.split("/")[2] for p in written} == {"year=2023", "year=2024", "year=2025"}

    dataset = pads.dataset("arrow-bucket/dir/", filesystem=filesystem, partitioning="hive")
    got = dataset.to_table().to_pandas().sort_values("value", ignore_index=True)
    assert got["value"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert got["year"].astype(int).tolist() == [2023, 2023, 2024, 2024, 2024, 2025]
    assert got["region"].astype(str).tolist() == ["eu", "us", "eu", "us", "us", "eu"]

    # A filter on a partition column reads only the matching folders.
    filtered = dataset.to_table(filter=pads.field("year") == 2024)
    assert sorted(filtered.column("value").to_pylist()) == [3.0, 4.0, 5.0]

    fs.rm("arrow-bucket/dir", recursive=True)
    fs.rmdir("arrow-bucket")
