"""The lake as an fsspec filesystem: fsspec's API, then pandas, pyarrow and polars on top."""

from __future__ import annotations

import errno
import gc
import io
import os
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from fogbank.lake.engine import Lake
from fogbank.lake.fs import LakeFile, LakeFileSystem

MiB = 1024 * 1024


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def fs(home: Path) -> Iterator[LakeFileSystem]:
    with LakeFileSystem(home=str(home)) as lake_fs:
        lake_fs.mkdir("data")
        yield lake_fs


@pytest.fixture
def tree(fs: LakeFileSystem) -> LakeFileSystem:
    """data/top.txt, data/a/one.csv, data/a/b/two.csv, data/a/b/c/three.csv"""
    fs.pipe_file("data/top.txt", b"top")
    fs.pipe_file("data/a/one.csv", b"x\n1\n")
    fs.pipe_file("data/a/b/two.csv", b"x\n2\n")
    fs.pipe_file("data/a/b/c/three.csv", b"x\n3\n")
    return fs


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect after each test, so a file left unclosed fails the test that leaked it."""
    yield
    gc.collect()


def payload(size: int) -> bytes:
    """Bytes that differ at every offset mod 251, so a misplaced range shows."""
    return bytes(range(251)) * (size // 251) + bytes(range(size % 251))


# ---------------------------------------------------------------- construction


def test_fsspec_filesystem_finds_the_fogbank_protocol_through_the_entry_point(home: Path) -> None:
    fs = fsspec.filesystem("fogbank", home=str(home))
    try:
        assert isinstance(fs, LakeFileSystem)
        assert fs.lake.root == home / "lake"
    finally:
        fs.close()


def test_instances_are_not_cached_so_two_homes_are_two_lakes(tmp_path: Path) -> None:
    first = fsspec.filesystem("fogbank", home=str(tmp_path / "one"))
    second = fsspec.filesystem("fogbank", home=str(tmp_path / "two"))
    again = fsspec.filesystem("fogbank", home=str(tmp_path / "one"))
    try:
        first.mkdir("only-in-one")
        assert first is not again
        assert again.exists("only-in-one")
        assert not second.exists("only-in-one")
    finally:
        for fs in (first, second, again):
            fs.close()


def test_a_lake_passed_in_stays_open_for_its_owner(home: Path) -> None:
    lake = Lake(home / "lake")
    try:
        with LakeFileSystem(lake) as fs:
            fs.mkdir("mine")
        assert [bucket.name for bucket in lake.list_buckets()] == ["mine"]
        lake.put_object("mine", "still-open", b"ok")
    finally:
        lake.close()
    with pytest.raises(TypeError, match="not both"):
        LakeFileSystem(lake, home=str(home))


def test_a_filesystem_pickles_to_one_on_the_same_home(fs: LakeFileSystem) -> None:
    fs.pipe_file("data/k", b"v")
    with pickle.loads(pickle.dumps(fs)) as copy:
        assert copy is not fs
        assert copy.cat_file("data/k") == b"v"
    with fs.open("data/k", "rb") as f, pickle.loads(pickle.dumps(f)) as reopened:
        assert reopened.read() == b"v"
        reopened.fs.close()


def test_paths_accept_fogbank_s3_and_s3a_schemes(fs: LakeFileSystem) -> None:
    fs.pipe_file("s3://data/k.txt", b"1")
    assert fs.cat_file("fogbank://data/k.txt") == b"1"
    assert fs.cat_file("s3a://data/k.txt") == b"1"
    assert fs.cat_file("/data/k.txt") == b"1"
    assert LakeFileSystem._strip_protocol("s3://data/dir/") == "data/dir"
    assert fs.split_path("fogbank://data/a/b.csv") == ("data", "a/b.csv")
    assert fs.unstrip_protocol("data/k.txt") == "fogbank://data/k.txt"


# ---------------------------------------------------------------- listing and info


def test_ls_lists_buckets_at_the_root_and_objects_and_prefixes_in_a_bucket(
    tree: LakeFileSystem,
) -> None:
    tree.mkdir("other")
    assert tree.ls("", detail=False) == ["data", "other"]
    assert sorted(tree.ls("data", detail=False)) == ["data/a", "data/top.txt"]
    assert sorted(tree.ls("s3://data/a/", detail=False)) == ["data/a/b", "data/a/one.csv"]
    entries = {entry["name"]: entry for entry in tree.ls("data/a")}
    assert entries["data/a/b"]["type"] == "directory"
    assert entries["data/a/one.csv"]["type"] == "file"
    assert entries["data/a/one.csv"]["size"] == 4
    assert tree.ls("data/top.txt", detail=False) == ["data/top.txt"]
    assert tree.ls("other") == []


def test_ls_follows_every_page_of_the_listing(fs: LakeFileSystem) -> None:
    for i in range(1001):
        fs.lake.put_object("data", f"flat/{i:04d}", b"")
        fs.lake.put_object("data", f"nested/{i:04d}/leaf", b"")
    assert len(fs.ls("data/flat")) == 1001
    nested = fs.ls("data/nested", detail=False)
    assert len(nested) == 1001
    assert nested[-1] == "data/nested/1000"
    assert len(fs.find("data/nested")) == 1001


def test_ls_of_a_missing_path_raises_file_not_found_with_the_aws_code(
    fs: LakeFileSystem,
) -> None:
    with pytest.raises(FileNotFoundError, match="NoSuchBucket"):
        fs.ls("nobucket")
    with pytest.raises(FileNotFoundError, match="NoSuchKey"):
        fs.ls("data/nothing/here")


def test_info_describes_files_directories_buckets_and_the_root(tree: LakeFileSystem) -> None:
    file_info = tree.info("data/a/one.csv")
    assert file_info["type"] == "file"
    assert file_info["size"] == 4
    assert file_info["ETag"] == '"' + tree.lake.head_object("data", "a/one.csv").etag + '"'
    assert isinstance(file_info["LastModified"], datetime)
    assert file_info["ContentType"] == "text/csv"
    assert tree.info("data/a/b") == {
        "name": "data/a/b",
        "type": "directory",
        "size": 0,
        "StorageClass": "DIRECTORY",
    }
    bucket = tree.info("fogbank://data")
    assert (bucket["type"], bucket["StorageClass"]) == ("directory", "BUCKET")
    assert tree.info("")["type"] == "directory"
    for missing in ("data/a/missing.csv", "data/a/on", "nobucket", "NOT_A_BUCKET/key"):
        with pytest.raises(FileNotFoundError):
            tree.info(missing)


def test_exists_isdir_isfile(tree: LakeFileSystem) -> None:
    assert tree.exists("data/a/one.csv")
    assert tree.isfile("data/a/one.csv")
    assert not tree.isdir("data/a/one.csv")
    assert tree.exists("data/a/b")
    assert tree.isdir("data/a/b")
    assert not tree.isfile("data/a/b")
    assert tree.isdir("data")
    assert not tree.exists("data/a/bb")
    assert not tree.exists("nobucket/x")
    assert not tree.isdir("nobucket")


def test_find_and_walk_cover_the_whole_tree(tree: LakeFileSystem) -> None:
    files = ["data/a/b/c/three.csv", "data/a/b/two.csv", "data/a/one.csv", "data/top.txt"]
    assert tree.find("data") == files
    assert tree.find("s3://data/a/b") == files[:2]
    assert tree.find("data", maxdepth=1) == ["data/top.txt"]
    assert tree.find("data/a/one.csv") == ["data/a/one.csv"]
    assert tree.find("data/none") == []
    with_dirs = tree.find("data/a", withdirs=True, detail=True)
    assert sorted(with_dirs) == [
        "data/a",
        "data/a/b",
        "data/a/b/c",
        "data/a/b/c/three.csv",
        "data/a/b/two.csv",
        "data/a/one.csv",
    ]
    assert with_dirs["data/a/b/c"]["type"] == "directory"
    walked = {root: (sorted(dirs), sorted(names)) for root, dirs, names in tree.walk("data")}
    assert walked == {
        "data": (["a"], ["top.txt"]),
        "data/a": (["b"], ["one.csv"]),
        "data/a/b": (["c"], ["two.csv"]),
        "data/a/b/c": ([], ["three.csv"]),
    }
    assert tree.glob("data/**/*.csv") == files[:3]


def test_folder_markers_are_directories_not_files(fs: LakeFileSystem) -> None:
    fs.lake.put_object("data", "empty/", b"")
    fs.lake.put_object("data", "full/", b"")
    fs.lake.put_object("data", "full/x", b"1")
    assert fs.isdir("data/empty")
    assert fs.ls("data/empty") == []
    assert fs.ls("data/full", detail=False) == ["data/full/x"]
    assert fs.find("data") == ["data/full/x"]


def test_created_and_modified_are_the_last_modified_time(fs: LakeFileSystem) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    fs.pipe_file("data/t.bin", b"1")
    modified = fs.modified("data/t.bin")
    assert modified.tzinfo is not None
    assert modified >= before
    assert fs.created("data/t.bin") == modified
    assert fs.created("data") == fs.lake.head_bucket("data").creation_date
    fs.pipe_file("data/dir/x", b"1")
    with pytest.raises(IsADirectoryError):
        fs.modified("data/dir")


# ---------------------------------------------------------------- reading


def test_cat_file_reads_ranges_like_a_slice(fs: LakeFileSystem) -> None:
    fs.pipe_file("data/digits", b"0123456789")
    assert fs.cat_file("data/digits") == b"0123456789"
    assert fs.cat_file("data/digits", start=2, end=5) == b"234"
    assert fs.cat_file("data/digits", start=7) == b"789"
    assert fs.cat_file("data/digits", end=3) == b"012"
    assert fs.cat_file("data/digits", start=-3) == b"789"
    assert fs.cat_file("data/digits", start=-4, end=-1) == b"678"
    assert fs.cat_file("data/digits", start=8, end=100) == b"89"
    assert fs.cat_file("data/digits", start=10) == b""
    assert fs.cat_file("data/digits", start=5, end=5) == b""
    assert fs.cat("data/digits") == b"0123456789"
    fs.pipe_file("data/empty", b"")
    assert fs.cat_file("data/empty") == b""
    with pytest.raises(FileNotFoundError, match="NoSuchKey"):
        fs.cat_file("data/missing")


def test_open_read_supports_seek_tell_and_partial_reads(fs: LakeFileSystem) -> None:
    fs.pipe_file("data/digits", b"0123456789")
    with fs.open("data/digits", "rb") as f:
        assert isinstance(f, LakeFile)
        assert f.size == 10
        f.seek(3)
        assert f.read(4) == b"3456"
        assert f.tell() == 7
        f.seek(-2, os.SEEK_END)
        assert f.read() == b"89"
        f.seek(1)
        assert f.readline() == b"123456789"
    with fs.open("data/digits", "r", encoding="ascii") as text:
        assert text.read() == "0123456789"


def test_opening_a_missing_object_or_a_directory_for_reading_fails(tree: LakeFileSystem) -> None:
    with pytest.raises(FileNotFoundError, match="NoSuchKey"):
        tree.open("data/missing.csv")
    with pytest.raises(IsADirectoryError):
        tree.open("data/a")
    with pytest.raises(IsADirectoryError):
        tree.open("data")


def test_a_reader_fails_rather_than_mix_two_versions(fs: LakeFileSystem) -> None:
    fs.pipe_file("data/v", b"a" * 100)
    with fs.open("data/v", "rb", block_size=10, cache_type="none") as f:
        assert f.read(10) == b"a" * 10
        fs.pipe_file("data/v", b"b" * 100)
        with pytest.raises(OSError, match="changed while it was open") as raised:
            f.read(10)
        assert raised.value.errno == errno.ESTALE


# ---------------------------------------------------------------- writing


def test_pipe_file_stores_and_create_mode_refuses_to_overwrite(fs: LakeFileSystem) -> None:
    fs.pipe_file("data/p.json", b"{}")
    assert fs.info("data/p.json")["ContentType"] == "application/json"
    fs.pipe("data/p.json", b"[]")
    assert fs.cat("data/p.json") == b"[]"
    with pytest.raises(FileExistsError, match="PreconditionFailed"):
        fs.pipe_file("data/p.json", b"new", mode="create")
    assert fs.cat("data/p.json") == b"[]"
    with pytest.raises(FileNotFoundError, match="NoSuchBucket"):
        fs.pipe_file("nobucket/x", b"1")


def test_open_for_write_takes_content_type_and_metadata(fs: LakeFileSystem) -> None:
    with fs.open("data/m.bin", "wb", content_type="text/plain", metadata={"Owner": "me"}) as f:
        f.write(b"1")
    info = fs.info("data/m.bin")
    assert (info["ContentType"], info["Metadata"]) == ("text/plain", {"owner": "me"})
    with fs.open("data/guess.csv", "wb") as f:
        f.write(b"a\n")
    assert fs.info("data/guess.csv")["ContentType"] == "text/csv"


def test_put_and_get_move_local_files_in_and_out(fs: LakeFileSystem, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "one.txt").write_bytes(b"1")
    (local / "sub" / "two.txt").write_bytes(b"2")
    fs.put(str(local) + "/", "data/up/", recursive=True)
    assert fs.find("data/up") == ["data/up/one.txt", "data/up/sub/two.txt"]
    fs.get("data/up/", str(tmp_path / "down") + "/", recursive=True)
    assert (tmp_path / "down" / "sub" / "two.txt").read_bytes() == b"2"


def test_a_written_object_is_invisible_until_close(fs: LakeFileSystem) -> None:
    f = fs.open("data/w.bin", "wb", block_size=5 * MiB)
    try:
        f.write(b"x" * (6 * MiB))  # past the block size: spooled, still not stored
        assert not fs.exists("data/w.bin")
        assert fs.find("data") == []
    finally:
        f.close()
    assert fs.info("data/w.bin")["size"] == 6 * MiB


def test_a_writer_that_raises_leaves_nothing_behind(fs: LakeFileSystem) -> None:
    fs.pipe_file("data/keep.bin", b"old")
    with pytest.raises(RuntimeError), fs.open("data/new.bin", "wb") as f:
        f.write(b"partial" * MiB)
        raise RuntimeError("writer failed")
    with pytest.raises(RuntimeError), fs.open("data/keep.bin", "wb") as f:
        f.write(b"new")
        raise RuntimeError("writer failed")
    with pytest.raises(RuntimeError), fs.open("data/text.txt", "w", encoding="utf-8") as text:
        text.write("partial")
        raise RuntimeError("writer failed")
    assert not fs.exists("data/new.bin")
    assert not fs.exists("data/text.txt")
    assert fs.cat("data/keep.bin") == b"old"
    assert list((fs.lake.root / "tmp").iterdir()) == []


def test_writes_in_a_transaction_appear_when_it_ends(fs: LakeFileSystem) -> None:
    with fs.transaction:
        with fs.open("data/t1", "wb") as f:
            f.write(b"1")
        fs.pipe_file("data/t2", b"2")
        assert not fs.exists("data/t1")
        assert not fs.exists("data/t2")
    assert fs.cat("data/t1") == b"1"
    assert fs.cat("data/t2") == b"2"


def test_exclusive_mode_refuses_an_existing_object(fs: LakeFileSystem) -> None:
    with fs.open("data/x", "xb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError):
        fs.open("data/x", "xb")
    racer = fs.open("data/y", "xb")
    fs.pipe_file("data/y", b"winner")
    racer.write(b"loser")
    with pytest.raises(FileExistsError, match="PreconditionFailed"):
        racer.close()
    assert fs.cat("data/y") == b"winner"


def test_append_mode_rewrites_the_object_with_the_new_bytes_after_the_old(
    fs: LakeFileSystem,
) -> None:
    with fs.open("data/log", "ab") as f:
        f.write(b"one\n")
    with fs.open("data/log", "ab") as f:
        assert f.tell() == 4
        f.write(b"two\n")
    assert fs.cat("data/log") == b"one\ntwo\n"
    appender = fs.open("data/log", "ab")
    appender.write(b"three\n")
    fs.pipe_file("data/log", b"replaced\n")
    with pytest.raises(OSError, match="changed while it was open"):
        appender.close()
    assert fs.cat("data/log") == b"replaced\n"


def test_opening_for_write_fails_early_on_a_missing_bucket_or_a_bucket_path(
    fs: LakeFileSystem,
) -> None:
    with pytest.raises(FileNotFoundError, match="NoSuchBucket"):
        fs.open("nobucket/x.csv", "wb")
    with pytest.raises(IsADirectoryError):
        fs.open("data", "wb")
    with pytest.raises(OSError, match="KeyTooLongError") as raised:
        fs.open("data/" + "k" * 1025, "wb")
    assert raised.value.errno == errno.ENAMETOOLONG


def test_a_12_mb_object_round_trips_byte_exact_and_reads_a_middle_range(
    fs: LakeFileSystem,
) -> None:
    data = payload(12_000_000)
    with fs.open("data/big.bin", "wb") as f:
        for start in range(0, len(data), 1_000_003):
            f.write(data[start : start + 1_000_003])
    info = fs.info("data/big.bin")
    assert info["size"] == len(data)
    assert "-" not in info["ETag"]  # one PutObject
    with fs.open("data/big.bin", "rb") as f:
        assert f.read() == data
        f.seek(6_000_000)
        assert f.read(1_000_000) == data[6_000_000:7_000_000]
    assert fs.cat_file("data/big.bin", 5_999_999, 6_000_123) == data[5_999_999:6_000_123]


def test_writes_past_the_threshold_go_up_as_a_multipart_upload(fs: LakeFileSystem) -> None:
    fs.multipart_threshold = 6 * MiB
    fs.part_size = 5 * MiB
    data = payload(12_000_000)
    with fs.open("data/parts.bin", "wb") as f:
        f.write(data)
    assert fs.info("data/parts.bin")["ETag"].endswith('-3"')
    assert fs.cat("data/parts.bin") == data
    assert fs.lake.list_multipart_uploads("data").uploads == []


# ---------------------------------------------------------------- changing


def test_cp_copies_an_object_and_a_tree(tree: LakeFileSystem) -> None:
    tree.cp("data/a/one.csv", "data/copy.csv")
    assert tree.cat("data/copy.csv") == b"x\n1\n"
    assert tree.info("data/copy.csv")["ContentType"] == "text/csv"
    tree.mkdir("backup")
    tree.cp("s3://data/a", "backup/a", recursive=True)
    assert tree.find("backup") == [
        "backup/a/b/c/three.csv",
        "backup/a/b/two.csv",
        "backup/a/one.csv",
    ]
    with pytest.raises(FileNotFoundError, match="NoSuchKey"):
        tree.cp_file("data/missing", "data/elsewhere")
    tree.mv("data/copy.csv", "data/moved.csv")
    assert not tree.exists("data/copy.csv")
    assert tree.cat("data/moved.csv") == b"x\n1\n"


def test_rm_deletes_objects_trees_and_buckets(tree: LakeFileSystem) -> None:
    tree.rm("data/top.txt")
    assert not tree.exists("data/top.txt")
    tree.rm_file("data/never-there")  # DeleteObject of a missing key succeeds, as in S3
    tree.rm("data/a/b", recursive=True)
    assert tree.find("data") == ["data/a/one.csv"]
    with pytest.raises(OSError, match="BucketNotEmpty") as raised:
        tree.rm("data")
    assert raised.value.errno == errno.ENOTEMPTY
    tree.rm("data", recursive=True)
    assert not tree.exists("data")


def test_rm_recursive_deletes_more_than_one_delete_objects_call_holds(
    fs: LakeFileSystem,
) -> None:
    for i in range(1200):
        fs.lake.put_object("data", f"many/{i}", b"")
    fs.rm("data/many", recursive=True)
    assert fs.ls("data") == []


def test_mkdir_makedirs_and_rmdir_map_to_buckets(fs: LakeFileSystem) -> None:
    with pytest.raises(FileExistsError):
        fs.mkdir("data")
    fs.makedirs("data", exist_ok=True)
    fs.mkdir("data/some/prefix")  # prefixes need no creating
    assert not fs.exists("data/some")
    fs.mkdir("made/with/parent")
    assert fs.isdir("made")
    with pytest.raises(FileNotFoundError):
        fs.mkdir("absent/prefix", create_parents=False)
    fs.makedirs("deep/a/b")
    assert fs.isdir("deep")
    with pytest.raises(ValueError, match="InvalidBucketName"):
        fs.mkdir("Not_A_Bucket")
    fs.pipe_file("made/p/x", b"1")
    with pytest.raises(OSError, match="BucketNotEmpty"):
        fs.rmdir("made")
    with pytest.raises(OSError) as raised:
        fs.rmdir("made/p")
    assert raised.value.errno == errno.ENOTEMPTY
    fs.rmdir("made/no-keys-here")  # a prefix without keys does not exist to refuse
    fs.rm("made/p/x")
    fs.rmdir("made")
    assert not fs.exists("made")
    with pytest.raises(FileNotFoundError, match="NoSuchBucket"):
        fs.rmdir("made")


# ---------------------------------------------------------------- pandas, pyarrow, polars


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"user": ["ana", "bo", "cy"], "clicks": [3, 0, 7], "ctr": [0.25, 0.0, 0.5]})


def test_pandas_round_trips_csv_json_lines_and_parquet_through_fogbank_urls(
    fs: LakeFileSystem, home: Path, frame: pd.DataFrame
) -> None:
    options = {"home": str(home)}
    frame.to_csv("fogbank://data/pandas/x.csv", index=False, storage_options=options)
    pd.testing.assert_frame_equal(
        pd.read_csv("fogbank://data/pandas/x.csv", storage_options=options), frame
    )
    frame.to_json(
        "fogbank://data/pandas/x.jsonl", orient="records", lines=True, storage_options=options
    )
    pd.testing.assert_frame_equal(
        pd.read_json("fogbank://data/pandas/x.jsonl", lines=True, storage_options=options), frame
    )
    frame.to_parquet("fogbank://data/pandas/x.parquet", storage_options=options)
    pd.testing.assert_frame_equal(
        pd.read_parquet("fogbank://data/pandas/x.parquet", storage_options=options), frame
    )
    assert fs.info("data/pandas/x.csv")["ContentType"] == "text/csv"
    assert sorted(fs.ls("data/pandas", detail=False)) == [
        "data/pandas/x.csv",
        "data/pandas/x.jsonl",
        "data/pandas/x.parquet",
    ]


def test_pyarrow_writes_parquet_and_reads_a_hive_partitioned_dataset(fs: LakeFileSystem) -> None:
    arrow_fs = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    for month, values in (("01", [1, 2]), ("02", [3])):
        pq.write_table(
            pa.table({"value": values}),
            f"data/events/year=2026/month={month}/part-0.parquet",
            filesystem=arrow_fs,
        )
    pq.write_table(pa.table({"value": [9]}), "s3://data/single.parquet", filesystem=arrow_fs)
    assert pq.read_table("data/single.parquet", filesystem=arrow_fs)["value"].to_pylist() == [9]
    partitioning = pads.partitioning(
        pa.schema([("year", pa.int32()), ("month", pa.string())]), flavor="hive"
    )
    dataset = pads.dataset(
        "data/events/", filesystem=arrow_fs, format="parquet", partitioning=partitioning
    )
    table = dataset.to_table().sort_by("value")
    assert table.to_pydict() == {
        "value": [1, 2, 3],
        "year": [2026, 2026, 2026],
        "month": ["01", "01", "02"],
    }
    only_february = dataset.to_table(filter=pads.field("month") == "02")
    assert only_february["value"].to_pylist() == [3]


def test_polars_reads_and_writes_through_open_files(
    fs: LakeFileSystem, frame: pd.DataFrame
) -> None:
    expected = pl.from_pandas(frame)
    with fs.open("data/polars/x.parquet", "wb") as f:
        expected.write_parquet(f)
    with fs.open("data/polars/x.parquet", "rb") as f:
        assert pl.read_parquet(f).equals(expected)
    fs.pipe_file("data/polars/x.csv", expected.write_csv().encode())
    with fs.open("data/polars/x.csv", "rb") as f:
        assert pl.read_csv(f).equals(expected)
    buffer = io.BytesIO()
    expected.write_ndjson(buffer)
    fs.pipe_file("data/polars/x.jsonl", buffer.getvalue())
    with fs.open("data/polars/x.jsonl", "rb") as f:
        assert pl.read_ndjson(f).equals(expected)
