"""The injectable clock and the id helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fogbank.core.clock import ManualClock, SystemClock
from fogbank.core.ids import arn, new_hex_id, new_uuid, parse_arn


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 3, 1, tzinfo=UTC)
    clock.advance(90)
    assert clock.now() == datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=90)
    assert clock.monotonic() == 90


def test_manual_clock_refuses_to_go_back_and_naive_starts() -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        ManualClock().advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


def test_ids_are_unique_and_well_formed() -> None:
    assert len({new_uuid() for _ in range(100)}) == 100
    assert len(new_hex_id()) == 32 and int(new_hex_id(), 16) >= 0


def test_bucket_arns_leave_region_and_account_empty() -> None:
    assert arn("s3", "", "", "my-bucket") == "arn:aws:s3:::my-bucket"


@given(
    service=st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
    region=st.from_regex(r"[a-z]{2}-[a-z]+-[0-9]", fullmatch=True),
    account=st.from_regex(r"[0-9]{12}", fullmatch=True),
    resource=st.text(min_size=1, max_size=40),
)
def test_arn_round_trips(service: str, region: str, account: str, resource: str) -> None:
    parsed = parse_arn(arn(service, region, account, resource))
    assert parsed == {
        "partition": "aws",
        "service": service,
        "region": region,
        "account": account,
        "resource": resource,
    }


def test_parse_arn_names_the_expected_form() -> None:
    with pytest.raises(ValueError, match="arn:<partition>"):
        parse_arn("not-an-arn")
