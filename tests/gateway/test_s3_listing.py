"""S3 listing through boto3: ListObjectsV2 and ListObjects (prefix, delimiter, max-keys,
continuation, start-after, markers, EncodingType=url) and their paginators past 1,000 keys."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from fogbank import Fogbank

TREE = ["a/1", "a/2", "a/b/3", "a/b/4", "b/1", "c", "d"]

# Keys S3 can only list faithfully URL-encoded; boto3 asks for EncodingType=url itself.
ENCODED_KEYS = [
    "dir with space/a b.txt",
    "dir with space/c+d.txt",
    "dir with space/e%20f.txt",
    "ünï/日本語.txt",
    "ünï/ü+ %.txt",
    "tab\there",
    "bell\x07key",
]


def _put_all(s3: Any, bucket: str, keys: list[str]) -> None:
    s3.create_bucket(Bucket=bucket)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())


def _keys(page: dict[str, Any]) -> list[str]:
    return [o["Key"] for o in page.get("Contents", [])]


def _prefixes(page: dict[str, Any]) -> list[str]:
    return [p["Prefix"] for p in page.get("CommonPrefixes", [])]


# ------------------------------------------------------------------ ListObjectsV2


def test_list_objects_v2_groups_common_prefixes_under_a_delimiter(s3: Any) -> None:
    """ListObjectsV2 Prefix and Delimiter: keys and CommonPrefixes, KeyCount counts both."""
    _put_all(s3, "tree", TREE)
    everything = s3.list_objects_v2(Bucket="tree")
    assert _keys(everything) == TREE
    assert everything["KeyCount"] == len(TREE)
    assert everything["IsTruncated"] is False
    assert everything["MaxKeys"] == 1000
    first = everything["Contents"][0]
    assert first["Size"] == len(b"a/1")
    assert first["StorageClass"] == "STANDARD"
    assert first["ETag"].startswith('"')
    assert "Owner" not in first  # only with FetchOwner
    top = s3.list_objects_v2(Bucket="tree", Delimiter="/")
    assert (_keys(top), _prefixes(top), top["KeyCount"]) == (["c", "d"], ["a/", "b/"], 4)
    under_a = s3.list_objects_v2(Bucket="tree", Prefix="a/", Delimiter="/")
    assert (_keys(under_a), _prefixes(under_a)) == (["a/1", "a/2"], ["a/b/"])
    assert (under_a["Prefix"], under_a["Delimiter"]) == ("a/", "/")
    assert _keys(s3.list_objects_v2(Bucket="tree", Prefix="a/b")) == ["a/b/3", "a/b/4"]
    none = s3.list_objects_v2(Bucket="tree", Prefix="zzz")
    assert ("Contents" not in none, none["KeyCount"]) == (True, 0)
    owned = s3.list_objects_v2(Bucket="tree", FetchOwner=True)
    assert all(o["Owner"]["ID"] for o in owned["Contents"])


def test_list_objects_v2_pages_with_max_keys_and_continuation_tokens(
    s3: Any, s3_error: Any
) -> None:
    """ListObjectsV2 MaxKeys, NextContinuationToken / ContinuationToken, StartAfter; a
    forged token is InvalidArgument (400) naming the continuation token."""
    _put_all(s3, "pages", TREE)
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket="pages", MaxKeys=3, Delimiter="/", **extra)
        pages += 1
        assert page["MaxKeys"] == 3
        assert page["KeyCount"] <= 3
        assert page.get("ContinuationToken") == token
        seen += _keys(page) + _prefixes(page)
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
    assert (pages, sorted(seen)) == (2, ["a/", "b/", "c", "d"])
    after = s3.list_objects_v2(Bucket="pages", StartAfter="a/b/3")
    assert _keys(after) == ["a/b/4", "b/1", "c", "d"]
    assert after["StartAfter"] == "a/b/3"
    assert _keys(s3.list_objects_v2(Bucket="pages", StartAfter="zzz")) == []
    with s3_error("InvalidArgument", 400, "continuation token") as caught:
        s3.list_objects_v2(Bucket="pages", ContinuationToken="not-a-token")
    assert caught.value.response["Error"]["ArgumentName"] == "continuation-token"


def test_list_objects_url_encodes_keys_and_boto3_decodes_them(s3: Any) -> None:
    """ListObjectsV2 and ListObjects EncodingType=url: boto3 asks for it itself and decodes
    Key, Prefix, Delimiter, StartAfter, Marker, NextMarker and CommonPrefixes; paging by
    marker works through keys with spaces, ``+`` and unicode; asked for explicitly, the keys
    come back percent-encoded, as S3 sends them."""
    _put_all(s3, "encoded", ENCODED_KEYS)
    expected = sorted(ENCODED_KEYS, key=lambda k: k.encode())
    assert _keys(s3.list_objects_v2(Bucket="encoded")) == expected
    grouped = s3.list_objects_v2(Bucket="encoded", Delimiter="/")
    assert _prefixes(grouped) == ["dir with space/", "ünï/"]
    assert _keys(grouped) == ["bell\x07key", "tab\there"]
    spaced = s3.list_objects_v2(
        Bucket="encoded", Prefix="dir with space/", StartAfter="dir with space/a b.txt"
    )
    assert spaced["Prefix"] == "dir with space/"
    assert spaced["StartAfter"] == "dir with space/a b.txt"
    assert _keys(spaced) == ["dir with space/c+d.txt", "dir with space/e%20f.txt"]
    assert _keys(s3.list_objects_v2(Bucket="encoded", Prefix="ünï/ü+ ")) == ["ünï/ü+ %.txt"]
    raw = s3.list_objects_v2(Bucket="encoded", EncodingType="url")
    assert raw["EncodingType"] == "url"
    wire_keys = _keys(raw)
    assert all(" " not in k and "\t" not in k and k.isascii() for k in wire_keys)
    assert [unquote_plus(k) for k in wire_keys] == expected
    # ListObjects (v1): Key, Marker, NextMarker and CommonPrefixes likewise.
    pages = list(
        s3.get_paginator("list_objects").paginate(
            Bucket="encoded", PaginationConfig={"PageSize": 2}
        )
    )
    assert [k for p in pages for k in _keys(p)] == expected
    assert len(pages) == 4
    marked = s3.list_objects(Bucket="encoded", Delimiter="/", Marker="dir with space/")
    assert (_prefixes(marked), marked["Marker"]) == (["ünï/"], "dir with space/")
    raw = s3.list_objects(Bucket="encoded", EncodingType="url")
    assert [unquote_plus(k) for k in _keys(raw)] == expected


def test_list_objects_paginators_walk_past_1000_keys(server_s3: Any, fogbank: Fogbank) -> None:
    """ListObjectsV2 and ListObjects paginators over 1,001 keys (real server): pages of
    1,000 and 1, every key once, in UTF-8 byte order; with a Delimiter and PageSize, common
    prefixes once each."""
    s3 = server_s3()
    s3.create_bucket(Bucket="many")
    keys = [f"p{i % 3}/{i:04d}" for i in range(1001)]
    for key in keys:  # seeded through the engine: the listing is what is under test
        fogbank.lake.put_object("many", key, b"")
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket="many"))
    assert [p["KeyCount"] for p in pages] == [1000, 1]
    assert [k for p in pages for k in _keys(p)] == sorted(keys)
    grouped = list(
        paginator.paginate(Bucket="many", Delimiter="/", PaginationConfig={"PageSize": 2})
    )
    assert [_prefixes(p) for p in grouped] == [["p0/", "p1/"], ["p2/"]]

    v1 = list(s3.get_paginator("list_objects").paginate(Bucket="many"))
    assert [len(_keys(p)) for p in v1] == [1000, 1]
    assert [k for p in v1 for k in _keys(p)] == sorted(keys)
    assert v1[0]["IsTruncated"] is True
    assert "NextMarker" not in v1[0]  # without a Delimiter the last key is the marker


# ------------------------------------------------------------------ ListObjects (v1)


def test_list_objects_v1_resumes_from_marker_and_next_marker(s3: Any) -> None:
    """ListObjects Marker and NextMarker: NextMarker only with a Delimiter (S3), a common
    prefix as marker skips its group; every object carries its Owner."""
    _put_all(s3, "legacy", TREE)
    first = s3.list_objects(Bucket="legacy", MaxKeys=2)
    assert (_keys(first), first["IsTruncated"], first["Marker"]) == (["a/1", "a/2"], True, "")
    assert "NextMarker" not in first
    assert all(o["Owner"]["ID"] for o in first["Contents"])
    rest = s3.list_objects(Bucket="legacy", Marker="a/2")
    assert _keys(rest) == ["a/b/3", "a/b/4", "b/1", "c", "d"]
    assert rest["Marker"] == "a/2"
    grouped = s3.list_objects(Bucket="legacy", Delimiter="/", MaxKeys=1)
    assert (_prefixes(grouped), grouped["NextMarker"]) == (["a/"], "a/")
    after = s3.list_objects(Bucket="legacy", Delimiter="/", Marker="a/", MaxKeys=2)
    assert (_prefixes(after), _keys(after), after["NextMarker"]) == (["b/"], ["c"], "c")
    walked = s3.get_paginator("list_objects").paginate(
        Bucket="legacy", Delimiter="/", PaginationConfig={"PageSize": 1}
    )
    assert [_prefixes(p) + _keys(p) for p in walked] == [["a/"], ["b/"], ["c"], ["d"]]
