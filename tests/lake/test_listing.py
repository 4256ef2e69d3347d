"""Listing: ListObjectsV2 and ListObjects (v1), paged, grouped and in UTF-8 byte order."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fogbank.core.errors import InvalidArgument
from fogbank.lake.engine import Lake
from fogbank.lake.model import ListPage


def put_keys(lake: Lake, bucket: str, keys: list[str]) -> None:
    for key in keys:
        lake.put_object(bucket, key, key.encode())


def entries(page: ListPage) -> list[str]:
    """A page's keys and common prefixes, merged in UTF-8 byte order."""
    return sorted([o.key for o in page.contents] + page.common_prefixes, key=str.encode)


def expected_listing(keys: set[str] | list[str], prefix: str, delimiter: str | None) -> list[str]:
    """What S3 lists, computed independently: keys under ``prefix`` in UTF-8 byte order, each
    key with ``delimiter`` after the prefix rolled up into one common prefix."""
    out: list[str] = []
    seen: set[str] = set()
    for key in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not key.startswith(prefix):
            continue
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                common = key[: at + len(delimiter)]
                if common not in seen:
                    seen.add(common)
                    out.append(common)
                continue
        out.append(key)
    return out


def pages_v2(
    lake: Lake, bucket: str, prefix: str, delimiter: str | None, max_keys: int
) -> list[ListPage]:
    pages = [lake.list_objects_v2(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys)]
    while pages[-1].is_truncated:
        assert len(pages) < 1000, "pagination does not end"
        token = pages[-1].next_continuation_token
        assert token is not None
        pages.append(
            lake.list_objects_v2(
                bucket,
                prefix=prefix,
                delimiter=delimiter,
                max_keys=max_keys,
                continuation_token=token,
            )
        )
    return pages


def pages_v1(
    lake: Lake, bucket: str, prefix: str, delimiter: str | None, max_keys: int
) -> list[ListPage]:
    pages = [lake.list_objects(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys)]
    while pages[-1].is_truncated:
        assert len(pages) < 1000, "pagination does not end"
        marker = pages[-1].next_marker
        assert marker is not None
        pages.append(
            lake.list_objects(
                bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys, marker=marker
            )
        )
    return pages


def check_pages(pages: list[ListPage], expected: list[str], max_keys: int) -> None:
    listed = [entry for page in pages for entry in entries(page)]
    assert listed == expected
    assert len(set(listed)) == len(listed), "an entry appears on two pages"
    for page in pages[:-1]:
        assert page.is_truncated
        assert page.key_count == max_keys
    assert not pages[-1].is_truncated
    for page in pages:
        assert page.key_count == len(page.contents) + len(page.common_prefixes) <= max_keys


# ------------------------------------------------------------------ examples

KEYS = [
    "photos/2025/jan/a.jpg",
    "photos/2025/jan/b.jpg",
    "photos/2025/feb/c.jpg",
    "photos/2026/d.jpg",
    "photos/index.html",
    "photos/",
    "readme.md",
    "videos/e.mp4",
]


def test_list_objects_v2_lists_every_key_in_order(lake: Lake, bucket: str) -> None:
    """ListObjectsV2 without options: every key, in UTF-8 byte order, with its metadata."""
    put_keys(lake, bucket, KEYS)
    page = lake.list_objects_v2(bucket)
    assert [o.key for o in page.contents] == sorted(KEYS)
    assert page.common_prefixes == []
    assert not page.is_truncated
    assert page.next_continuation_token is None
    assert page.key_count == len(KEYS)
    first = page.contents[0]
    assert (first.size, first.bucket) == (len(first.key), bucket)


def test_list_objects_v2_prefix_and_delimiter_group_common_prefixes(
    lake: Lake, bucket: str
) -> None:
    """ListObjectsV2 with Prefix and Delimiter: keys below the next delimiter roll up."""
    put_keys(lake, bucket, KEYS)
    top = lake.list_objects_v2(bucket, delimiter="/")
    assert top.common_prefixes == ["photos/", "videos/"]
    assert [o.key for o in top.contents] == ["readme.md"]
    photos = lake.list_objects_v2(bucket, prefix="photos/", delimiter="/")
    assert photos.common_prefixes == ["photos/2025/", "photos/2026/"]
    assert [o.key for o in photos.contents] == ["photos/", "photos/index.html"]
    deep = lake.list_objects_v2(bucket, prefix="photos/2025/", delimiter="/")
    assert deep.common_prefixes == ["photos/2025/feb/", "photos/2025/jan/"]
    assert deep.contents == []
    partial = lake.list_objects_v2(bucket, prefix="photos/2", delimiter="/")
    assert partial.common_prefixes == ["photos/2025/", "photos/2026/"]
    assert lake.list_objects_v2(bucket, prefix="nothing").contents == []


def test_list_objects_v2_with_a_multi_character_delimiter(lake: Lake, bucket: str) -> None:
    """ListObjectsV2: a delimiter of several characters (here "--" and "é/") groups keys."""
    put_keys(lake, bucket, ["a--b--c", "a--d", "a-e", "b--", "bé/x", "bé/y", "bé"])
    page = lake.list_objects_v2(bucket, delimiter="--")
    assert page.common_prefixes == ["a--", "b--"]
    assert [o.key for o in page.contents] == ["a-e", "bé", "bé/x", "bé/y"]
    page = lake.list_objects_v2(bucket, prefix="a--", delimiter="--")
    assert page.common_prefixes == ["a--b--"]
    assert [o.key for o in page.contents] == ["a--d"]
    page = lake.list_objects_v2(bucket, delimiter="é/")
    assert page.common_prefixes == ["bé/"]


def test_list_objects_v2_delimiter_right_after_the_prefix(lake: Lake, bucket: str) -> None:
    """ListObjectsV2: a delimiter at the very start of the rest of the key makes the common
    prefix prefix+delimiter (S3 keeps empty "folders")."""
    put_keys(lake, bucket, ["p//x", "p//y/z", "p/a", "p/b/c", "/root", "//double"])
    page = lake.list_objects_v2(bucket, prefix="p/", delimiter="/")
    assert page.common_prefixes == ["p//", "p/b/"]
    assert [o.key for o in page.contents] == ["p/a"]
    page = lake.list_objects_v2(bucket, delimiter="/")
    assert page.common_prefixes == ["/", "p/"]
    page = lake.list_objects_v2(bucket, prefix="/", delimiter="/")
    assert page.common_prefixes == ["//"]
    assert [o.key for o in page.contents] == ["/root"]


def test_list_objects_v2_common_prefixes_count_toward_max_keys(lake: Lake, bucket: str) -> None:
    """ListObjectsV2: MaxKeys bounds keys plus common prefixes together."""
    put_keys(lake, bucket, ["a/1", "a/2", "b/1", "c", "d/1", "e"])
    first = lake.list_objects_v2(bucket, delimiter="/", max_keys=2)
    assert first.common_prefixes == ["a/", "b/"]
    assert first.contents == []
    assert first.is_truncated
    assert first.key_count == 2
    second = lake.list_objects_v2(
        bucket, delimiter="/", max_keys=2, continuation_token=first.next_continuation_token
    )
    assert [o.key for o in second.contents] == ["c"]
    assert second.common_prefixes == ["d/"]
    assert second.is_truncated
    third = lake.list_objects_v2(
        bucket, delimiter="/", max_keys=2, continuation_token=second.next_continuation_token
    )
    assert [o.key for o in third.contents] == ["e"]
    assert not third.is_truncated


def test_list_objects_v2_start_after(lake: Lake, bucket: str) -> None:
    """ListObjectsV2 StartAfter: only keys after it (it need not exist); ignored once a
    continuation token is given."""
    put_keys(lake, bucket, ["a", "b", "c", "d"])
    assert [o.key for o in lake.list_objects_v2(bucket, start_after="b").contents] == ["c", "d"]
    assert [o.key for o in lake.list_objects_v2(bucket, start_after="bb").contents] == ["c", "d"]
    assert lake.list_objects_v2(bucket, start_after="z").contents == []
    page = lake.list_objects_v2(bucket, max_keys=1)
    resumed = lake.list_objects_v2(
        bucket, start_after="c", continuation_token=page.next_continuation_token
    )
    assert [o.key for o in resumed.contents] == ["b", "c", "d"]
    assert resumed.start_after == "c"
    assert resumed.continuation_token == page.next_continuation_token
    with_prefix = lake.list_objects_v2(bucket, prefix="c", start_after="a")
    assert [o.key for o in with_prefix.contents] == ["c"]


def test_list_objects_v2_continuation_token_survives_new_writes(lake: Lake, bucket: str) -> None:
    """ListObjectsV2: a continuation token resumes after the last key listed, even when keys
    are added or deleted in between."""
    put_keys(lake, bucket, ["a", "c", "e"])
    page = lake.list_objects_v2(bucket, max_keys=2)
    assert [o.key for o in page.contents] == ["a", "c"]
    put_keys(lake, bucket, ["b", "d"])
    lake.delete_object(bucket, "c")
    rest = lake.list_objects_v2(bucket, continuation_token=page.next_continuation_token)
    assert [o.key for o in rest.contents] == ["d", "e"]


@pytest.mark.parametrize(
    "token",
    ["garbage!!", "", "abc", base64.urlsafe_b64encode(b"v2:key").decode(), "é"],
)
def test_list_objects_v2_with_an_invalid_continuation_token_is_invalid_argument(
    lake: Lake, bucket: str, token: str
) -> None:
    """ListObjectsV2: a ContinuationToken it did not issue is InvalidArgument."""
    put_keys(lake, bucket, ["a"])
    with pytest.raises(InvalidArgument) as caught:
        lake.list_objects_v2(bucket, continuation_token=token)
    assert caught.value.fields["ArgumentName"] == "continuation-token"


def test_list_objects_v2_with_max_keys_0_lists_nothing(lake: Lake, bucket: str) -> None:
    """ListObjectsV2 MaxKeys=0: an empty page."""
    put_keys(lake, bucket, ["a", "b"])
    page = lake.list_objects_v2(bucket, max_keys=0)
    assert page.contents == []
    assert page.common_prefixes == []
    assert page.key_count == 0
    assert page.max_keys == 0


@pytest.mark.parametrize("max_keys", [-1, -1000, True, "10", 1.5])
def test_list_objects_v2_with_a_bad_max_keys_is_invalid_argument(
    lake: Lake, bucket: str, max_keys: object
) -> None:
    """ListObjectsV2: MaxKeys that is negative or not an integer is InvalidArgument."""
    with pytest.raises(InvalidArgument) as caught:
        lake.list_objects_v2(bucket, max_keys=max_keys)  # type: ignore[arg-type]
    assert caught.value.fields["ArgumentName"] == "max-keys"
    with pytest.raises(InvalidArgument):
        lake.list_objects(bucket, max_keys=max_keys)  # type: ignore[arg-type]


def test_list_objects_v2_clamps_max_keys_to_1000(lake: Lake, bucket: str) -> None:
    """ListObjectsV2: MaxKeys over 1,000 returns at most 1,000 entries a page."""
    keys = [f"k{i:05d}" for i in range(1005)]
    put_keys(lake, bucket, keys)
    first = lake.list_objects_v2(bucket, max_keys=5000)
    assert len(first.contents) == 1000
    assert first.is_truncated
    assert [o.key for o in first.contents] == keys[:1000]
    second = lake.list_objects_v2(
        bucket, max_keys=5000, continuation_token=first.next_continuation_token
    )
    assert [o.key for o in second.contents] == keys[1000:]
    assert not second.is_truncated
    assert [o.key for o in lake.iter_objects(bucket)] == keys
    v1 = lake.list_objects(bucket, max_keys=1001)
    assert len(v1.contents) == 1000
    assert v1.next_marker == keys[999]


def test_list_objects_v2_orders_keys_by_utf8_bytes(lake: Lake, bucket: str) -> None:
    """ListObjectsV2 returns keys in UTF-8 binary order. That is code point order (what
    Python's str order is), not UTF-16 order: U+FFFF (EF BF BF) comes before U+1D11E
    (F0 9D 84 9E), though UTF-16 puts the surrogate pair D834 DD1E first."""
    keys = ["a", "Z", "é", "\uffff", "𝄞", "a/b", "a-b", "\ue000", "中", "~"]
    put_keys(lake, bucket, list(reversed(keys)))
    listed = [o.key for o in lake.list_objects_v2(bucket).contents]
    assert listed == ["Z", "a", "a-b", "a/b", "~", "é", "中", "\ue000", "\uffff", "𝄞"]
    assert listed == sorted(keys, key=lambda k: k.encode("utf-8"))
    assert listed != sorted(keys, key=lambda k: k.encode("utf-16-be"))
    assert listed.index("\uffff") < listed.index("𝄞")
    page = lake.list_objects_v2(bucket, max_keys=8)
    rest = lake.list_objects_v2(bucket, continuation_token=page.next_continuation_token)
    assert [o.key for o in rest.contents] == ["\uffff", "𝄞"]


def test_list_objects_v1_marker_and_next_marker(lake: Lake, bucket: str) -> None:
    """ListObjects (v1): Marker lists keys after it; NextMarker is the last entry of a
    truncated page, a common prefix included."""
    put_keys(lake, bucket, ["a", "b/1", "b/2", "c", "d"])
    page = lake.list_objects(bucket, max_keys=2)
    assert [o.key for o in page.contents] == ["a", "b/1"]
    assert page.is_truncated
    assert page.next_marker == "b/1"
    page = lake.list_objects(bucket, max_keys=2, marker="b/1")
    assert [o.key for o in page.contents] == ["b/2", "c"]
    grouped = lake.list_objects(bucket, delimiter="/", max_keys=2)
    assert [o.key for o in grouped.contents] == ["a"]
    assert grouped.common_prefixes == ["b/"]
    assert grouped.next_marker == "b/"
    after = lake.list_objects(bucket, delimiter="/", max_keys=2, marker="b/")
    assert [o.key for o in after.contents] == ["c", "d"]
    assert after.common_prefixes == []
    assert not after.is_truncated
    assert after.next_marker is None
    assert lake.list_objects(bucket, marker="c").contents[0].key == "d"


def test_list_objects_v1_marker_that_is_a_key_ending_in_the_delimiter(
    lake: Lake, bucket: str
) -> None:
    """ListObjects (v1): a NextMarker that is a key ending in the delimiter (the "folder"
    object "dir/" listed under Prefix "dir/") must not skip the keys below it."""
    put_keys(lake, bucket, ["dir/", "dir/a", "dir/b", "dir/sub/c"])
    first = lake.list_objects(bucket, prefix="dir/", delimiter="/", max_keys=1)
    assert [o.key for o in first.contents] == ["dir/"]
    assert first.next_marker == "dir/"
    pages = pages_v1(lake, bucket, "dir/", "/", 1)
    assert [e for p in pages for e in entries(p)] == ["dir/", "dir/a", "dir/b", "dir/sub/"]


# ------------------------------------------------------------------ properties

ALPHABET = ["a", "b", "Z", "/", "-", ".", "é", "中", "\uffff", "𝄞"]
DELIMITERS = [None, "/", "-", ".", "é", "𝄞", "/-", "a/", "é/"]
key_text = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=40)
key_sets = st.sets(key_text, min_size=0, max_size=25)


@st.composite
def queries(draw: st.DrawFn, keys: set[str]) -> tuple[str, str | None, int]:
    """A listing query: a prefix (often a real key's prefix), a delimiter and a page size."""
    from_a_key = draw(st.booleans())
    if keys and from_a_key:
        key = draw(st.sampled_from(sorted(keys)))
        prefix = key[: draw(st.integers(0, len(key)))]
    else:
        prefix = draw(st.text(alphabet=st.sampled_from(ALPHABET), max_size=2))
    delimiter = draw(st.sampled_from(DELIMITERS))
    return prefix, delimiter, draw(st.integers(1, 20))


@pytest.fixture(scope="module")
def shared_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """One lake for the property tests; each example gets a bucket of its own."""
    lake = Lake(Path(tmp_path_factory.mktemp("listing")) / "lake")
    yield lake
    lake.close()


def fresh_bucket(lake: Lake, keys: set[str]) -> str:
    name = f"prop-{uuid.uuid4().hex}"
    lake.create_bucket(name)
    put_keys(lake, name, sorted(keys))
    return name


PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(keys=key_sets, data=st.data())
@example(keys={"dir/", "dir/a", "dir/sub/b"}, data=None)
def test_list_objects_v2_pages_concatenate_to_the_expected_listing(
    shared_lake: Lake, keys: set[str], data: st.DataObject | None
) -> None:
    """ListObjectsV2: following NextContinuationToken page by page lists exactly what S3
    would (UTF-8 order, common prefixes rolled up), with no duplicates, every page at most
    MaxKeys entries, IsTruncated false only on the last page."""
    bucket = fresh_bucket(shared_lake, keys)
    cases: list[tuple[str, str | None, int]]
    if data is None:
        cases = [("dir/", "/", 1), ("", "/", 1), ("d", "/", 2)]
    else:
        cases = [data.draw(queries(keys)) for _ in range(3)]
    for prefix, delimiter, max_keys in cases:
        pages = pages_v2(shared_lake, bucket, prefix, delimiter, max_keys)
        check_pages(pages, expected_listing(keys, prefix, delimiter), max_keys)


@PROPERTY_SETTINGS
@given(keys=key_sets, data=st.data())
@example(keys={"dir/", "dir/a", "dir/sub/b"}, data=None)
def test_list_objects_v1_pages_concatenate_to_the_expected_listing(
    shared_lake: Lake, keys: set[str], data: st.DataObject | None
) -> None:
    """ListObjects (v1): following NextMarker page by page lists exactly what S3 would,
    with no duplicates, every page at most MaxKeys entries, IsTruncated false only last."""
    bucket = fresh_bucket(shared_lake, keys)
    cases: list[tuple[str, str | None, int]]
    if data is None:
        cases = [("dir/", "/", 1), ("", "/", 1), ("d", "/", 2)]
    else:
        cases = [data.draw(queries(keys)) for _ in range(3)]
    for prefix, delimiter, max_keys in cases:
        pages = pages_v1(shared_lake, bucket, prefix, delimiter, max_keys)
        check_pages(pages, expected_listing(keys, prefix, delimiter), max_keys)
        for page in pages[:-1]:
            last = entries(page)[-1]
            assert page.next_marker == last


@pytest.mark.parametrize(
    ("argument", "kwargs"),
    [
        ("prefix", {"prefix": "a\ud800"}),
        ("delimiter", {"delimiter": "\udfff"}),
        ("start-after", {"start_after": "\ud800"}),
    ],
)
def test_list_objects_v2_with_a_non_utf8_argument_is_invalid_argument(
    lake: Lake, bucket: str, argument: str, kwargs: dict[str, str]
) -> None:
    """ListObjectsV2: a Prefix, Delimiter or StartAfter that is not UTF-8 (a lone surrogate)
    is InvalidArgument, not a crash."""
    put_keys(lake, bucket, ["a"])
    with pytest.raises(InvalidArgument) as caught:
        lake.list_objects_v2(bucket, **kwargs)  # type: ignore[arg-type]
    assert caught.value.fields["ArgumentName"] == argument


def test_list_objects_v1_with_a_non_utf8_marker_is_invalid_argument(
    lake: Lake, bucket: str
) -> None:
    """ListObjects (v1): a Marker that is not UTF-8 is InvalidArgument."""
    with pytest.raises(InvalidArgument) as caught:
        lake.list_objects(bucket, marker="\ud800")
    assert caught.value.fields["ArgumentName"] == "marker"
