"""S3 naming rules: bucket names and keys against reference rules, and s3:// locations."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fogbank.core.errors import InvalidArgument, InvalidBucketName, KeyTooLongError
from fogbank.lake.names import parse_location, validate_bucket_name, validate_key

RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"]
RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
GENERAL_PURPOSE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
IP_FORM = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", re.ASCII)


def reference_is_valid(name: str) -> bool:
    """S3's general purpose bucket naming rules, as the S3 User Guide lists them."""
    return (
        GENERAL_PURPOSE.fullmatch(name) is not None
        and ".." not in name
        and IP_FORM.fullmatch(name) is None
        and not any(name.startswith(p) for p in RESERVED_PREFIXES)
        and not any(name.endswith(s) for s in RESERVED_SUFFIXES)
    )


def is_valid(name: str) -> bool:
    try:
        assert validate_bucket_name(name) == name
    except InvalidBucketName as exc:
        assert exc.code == "InvalidBucketName"
        assert exc.fields["BucketName"] == name
        assert "not valid" in exc.message
        return False
    return True


name_chars = st.sampled_from([*"abz019.-", "_", "A", " ", "\n", "é", "/"])
octet = st.integers(0, 999).map(str) | st.integers(0, 99).map(lambda n: f"0{n}")
ip_like = st.builds(lambda parts: ".".join(parts), st.lists(octet, min_size=3, max_size=5))
affixed = st.builds(
    lambda pre, core, suf: pre + core + suf,
    st.sampled_from(["", *RESERVED_PREFIXES, "xn-", "sthree", "-", "."]),
    st.text(alphabet=st.sampled_from(list("ab0.-")), min_size=0, max_size=8),
    st.sampled_from(["", *RESERVED_SUFFIXES, "-s3", "mrap", "-", "."]),
)
bucket_names = st.one_of(
    st.text(alphabet=name_chars, min_size=0, max_size=70),
    st.text(alphabet=st.sampled_from(list("ab09")), min_size=60, max_size=66),
    ip_like,
    affixed,
)


@settings(max_examples=800, deadline=None)
@given(name=bucket_names)
@example(name="bucket\n")
@example(name="10.0.0.01")
@example(name="999.999.999.999")
@example(name="192.168.5.4")
@example(name="a" * 63)
@example(name="a" * 64)
def test_validate_bucket_name_agrees_with_the_reference_rules(name: str) -> None:
    """CreateBucket: a name is valid exactly when S3's naming rules say so; an invalid one
    is InvalidBucketName with the name in BucketName."""
    assert is_valid(name) == reference_is_valid(name)


@settings(max_examples=300, deadline=None)
@given(key=st.text(min_size=0, max_size=300) | st.text(alphabet="é𝄞a", min_size=250, max_size=1100))
@example(key="\ud800")
@example(key="a" * 1024)
@example(key="a" * 1025)
def test_validate_key_accepts_1_to_1024_utf8_bytes(key: str) -> None:
    """PutObject Key: 1 to 1,024 bytes of UTF-8 (InvalidArgument if empty or not UTF-8,
    KeyTooLongError if longer)."""
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(InvalidArgument):
            validate_key(key)
        return
    if not raw:
        with pytest.raises(InvalidArgument):
            validate_key(key)
    elif len(raw) > 1024:
        with pytest.raises(KeyTooLongError):
            validate_key(key)
    else:
        assert validate_key(key) == raw


valid_buckets = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True).filter(
    reference_is_valid
)


@settings(max_examples=300, deadline=None)
@given(bucket=valid_buckets, key=st.text(max_size=60))
@example(bucket="data", key="logs/url=https://example.com/x")
@example(bucket="data", key="")
@example(bucket="data", key="/leading//slashes/")
def test_parse_location_round_trips_s3_urls(bucket: str, key: str) -> None:
    """s3://bucket/key (and s3a://, fogbank://, bare bucket/key) splits into bucket and key."""
    for scheme in ("s3://", "s3a://", "fogbank://", ""):
        assert parse_location(f"{scheme}{bucket}/{key}") == (bucket, key)


def test_parse_location_without_a_key_or_with_a_bad_scheme() -> None:
    """s3://bucket names a bucket; an unknown scheme or a missing bucket is InvalidArgument."""
    assert parse_location("s3://data") == ("data", "")
    assert parse_location("s3://data/") == ("data", "")
    for bad in ("http://data/key", "gs://data/key", "s3:///key", "", "/key"):
        with pytest.raises(InvalidArgument) as caught:
            parse_location(bad)
        assert caught.value.fields["ArgumentName"] == "location"
